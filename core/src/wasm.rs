//! The wasm-bindgen API (feature `wasm`): what the npm package `runmesh` exposes.

use wasm_bindgen::prelude::*;

use crate::{Identity, RunDoc, RunId};

/// The materialised view of a saved run, as JSON text: the same bytes native code gives.
#[wasm_bindgen(js_name = stateJson)]
pub fn state_json(run_id: &str, bytes: &[u8]) -> Result<String, JsError> {
    let run_id: RunId = run_id.parse()?;
    let identity = Identity::random("local", "reader")?;
    let run = RunDoc::load(run_id, identity, bytes)?;
    Ok(run.state().to_json())
}
