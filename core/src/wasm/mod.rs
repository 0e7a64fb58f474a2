//! The wasm-bindgen API (feature `wasm`): the low-level layer under the npm package
//! `runmesh`. Values cross as strings, numbers, bytes and JSON text; the package's own
//! JavaScript (`npm/src/`) turns them into the documented objects and events.

mod client;
mod run_doc;

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

/// Milliseconds since the Unix epoch, by the JavaScript clock.
fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}
