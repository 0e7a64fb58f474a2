//! `WasmRunDoc`: a [`RunDoc`] for JavaScript.

use wasm_bindgen::prelude::*;

use crate::wasm::now_ms;
use crate::{FlagValue, Identity, RunDoc, RunId, StepSpec};

/// One replica of a run.
#[wasm_bindgen]
#[derive(Debug)]
pub struct WasmRunDoc {
    pub(super) inner: RunDoc,
}

#[wasm_bindgen]
impl WasmRunDoc {
    /// Creates a run. `steps_json` is a JSON array of step ids or `{id, name?, agent?}`;
    /// `run_id` is a UUID, or empty for a new random one.
    pub fn create(
        run_id: &str,
        title: &str,
        steps_json: &str,
        region: &str,
        user: &str,
    ) -> Result<WasmRunDoc, JsError> {
        let run_id = parse_run_id_or_random(run_id)?;
        let steps = parse_steps(steps_json)?;
        let identity = Identity::random(region, user)?;
        let inner = RunDoc::create(run_id, identity, title, &steps, now_ms())?;
        Ok(Self { inner })
    }

    /// Opens a run from bytes. `run_id` may be empty when the bytes name their run; when
    /// given, bytes that name another run are refused.
    pub fn load(
        bytes: &[u8],
        run_id: &str,
        region: &str,
        user: &str,
    ) -> Result<WasmRunDoc, JsError> {
        let identity = Identity::random(region, user)?;
        let inner = if run_id.is_empty() {
            RunDoc::open(identity, bytes)?
        } else {
            RunDoc::load_as(run_id.parse()?, identity, bytes)?
        };
        Ok(Self { inner })
    }

    /// A replica of a run that holds nothing yet (to be filled by sync or merge).
    pub fn empty(run_id: &str, region: &str, user: &str) -> Result<WasmRunDoc, JsError> {
        let run_id: RunId = run_id.parse()?;
        let identity = Identity::random(region, user)?;
        Ok(Self {
            inner: RunDoc::genesis(run_id, identity),
        })
    }

    /// The run's UUID.
    #[wasm_bindgen(js_name = runId)]
    pub fn run_id(&self) -> String {
        self.inner.run_id().to_string()
    }

    /// The run's automerge-repo document id (bs58check).
    #[wasm_bindgen(js_name = documentId)]
    pub fn document_id(&self) -> String {
        self.inner.run_id().document_id().to_string()
    }

    /// Grafts `agent_name` after `after`; returns the graft's id.
    pub fn graft(&mut self, after: &str, agent_name: &str) -> Result<String, JsError> {
        Ok(self.inner.graft(after, agent_name, now_ms())?.to_string())
    }

    /// Marks a node pruned; false if it already was.
    pub fn prune(&mut self, node: &str) -> Result<bool, JsError> {
        Ok(self.inner.prune(node, now_ms())?)
    }

    /// Removes the prune marks this replica has seen; false if there were none.
    pub fn restore(&mut self, node: &str) -> Result<bool, JsError> {
        Ok(self.inner.restore(node, now_ms())?)
    }

    /// Sets a flag to a JSON scalar, given as JSON text.
    #[wasm_bindgen(js_name = setFlag)]
    pub fn set_flag(&mut self, key: &str, value_json: &str) -> Result<(), JsError> {
        let value: serde_json::Value = serde_json::from_str(value_json)
            .map_err(|e| JsError::new(&format!("flag {key:?}: value is not JSON: {e}")))?;
        let value = FlagValue::from_json(key, &value)?;
        Ok(self.inner.set_flag(key, value, now_ms())?)
    }

    /// Removes a flag; false if it was not set.
    #[wasm_bindgen(js_name = clearFlag)]
    pub fn clear_flag(&mut self, key: &str) -> Result<bool, JsError> {
        Ok(self.inner.clear_flag(key, now_ms())?)
    }

    /// The materialised run as JSON text.
    #[wasm_bindgen(js_name = stateJson)]
    pub fn state_json(&self) -> String {
        self.inner.state().to_json()
    }

    /// The run's history as JSON text.
    #[wasm_bindgen(js_name = historyJson)]
    pub fn history_json(&mut self) -> String {
        serde_json::to_string(&self.inner.history()).expect("history is plain data")
    }

    /// The run as it was at `heads` (hex change hashes), as JSON text.
    #[wasm_bindgen(js_name = stateAtJson)]
    pub fn state_at_json(&mut self, heads: Vec<String>) -> Result<String, JsError> {
        let heads = parse_heads("at", &heads)?;
        Ok(self.inner.state_at(&heads)?.to_json())
    }

    /// What changed from `from` to `to` (empty: now), as JSON text.
    #[wasm_bindgen(js_name = diffJson)]
    pub fn diff_json(&mut self, from: Vec<String>, to: Vec<String>) -> Result<String, JsError> {
        let from = parse_heads("from", &from)?;
        let to = if to.is_empty() {
            self.inner.heads()
        } else {
            parse_heads("to", &to)?
        };
        let diff = self.inner.diff(&from, &to)?;
        Ok(serde_json::to_string(&diff).expect("a diff is plain data"))
    }

    /// Reverses the change `change` (hex hash) with a new change; returns its hash.
    pub fn undo(&mut self, change: &str) -> Result<String, JsError> {
        let [hash] = parse_heads("change", &[change.to_owned()])?[..] else {
            unreachable!("one hash in, one out")
        };
        Ok(self.inner.undo(&hash, now_ms())?.to_string())
    }

    /// A new run `new_id` (empty: random) sharing this run's history up to `at` (empty:
    /// now), written by this replica's region and user.
    pub fn fork(&mut self, new_id: &str, at: Vec<String>) -> Result<WasmRunDoc, JsError> {
        let new_id = parse_run_id_or_random(new_id)?;
        let at = if at.is_empty() {
            None
        } else {
            Some(parse_heads("at", &at)?)
        };
        let inner = self.inner.fork(new_id, at.as_deref(), now_ms())?;
        Ok(Self { inner })
    }

    /// Where this run was forked from, as JSON text (`null` if it is no fork).
    #[wasm_bindgen(js_name = forkOfJson)]
    pub fn fork_of_json(&self) -> String {
        serde_json::to_string(&self.inner.fork_of()).expect("plain data")
    }

    /// Takes every change of `other`, a fork of this run or the run it was forked from;
    /// true if anything came in.
    #[wasm_bindgen(js_name = mergeFrom)]
    pub fn merge_from(&mut self, other: &mut WasmRunDoc) -> Result<bool, JsError> {
        Ok(self.inner.merge_from(&mut other.inner, now_ms())?)
    }

    /// The whole document, compacted.
    pub fn save(&mut self) -> Vec<u8> {
        self.inner.save()
    }

    /// The changes since the last save or incremental save.
    #[wasm_bindgen(js_name = saveIncremental)]
    pub fn save_incremental(&mut self) -> Vec<u8> {
        self.inner.save_incremental()
    }

    /// Adds changes from bytes; true if the run changed.
    #[wasm_bindgen(js_name = applyChanges)]
    pub fn apply_changes(&mut self, bytes: &[u8]) -> Result<bool, JsError> {
        Ok(self.inner.apply_bytes(bytes)?)
    }

    /// Takes every change `other` has; true if the run changed.
    pub fn merge(&mut self, other: &mut WasmRunDoc) -> Result<bool, JsError> {
        if other.inner.run_id() != self.inner.run_id() {
            return Err(JsError::new(&format!(
                "cannot merge run {} into run {}",
                other.inner.run_id(),
                self.inner.run_id()
            )));
        }
        let before = self.inner.heads();
        self.inner.merge(&mut other.inner)?;
        Ok(self.inner.heads() != before)
    }

    /// The document's heads (hex change hashes).
    pub fn heads(&mut self) -> Vec<String> {
        self.inner.heads().iter().map(|h| h.to_string()).collect()
    }

    /// The run's lamport clock.
    pub fn lamport(&self) -> f64 {
        self.inner.lamport() as f64
    }

    /// How many grafts the run has.
    #[wasm_bindgen(js_name = graftCount)]
    pub fn graft_count(&self) -> usize {
        self.inner.graft_count()
    }
}

fn parse_heads(what: &str, heads: &[String]) -> Result<Vec<crate::ChangeHash>, JsError> {
    heads
        .iter()
        .map(|h| {
            h.parse().map_err(|_| {
                JsError::new(&format!(
                    "{what}: {h:?} is not a change hash (64 hex digits)"
                ))
            })
        })
        .collect()
}

fn parse_run_id_or_random(run_id: &str) -> Result<RunId, JsError> {
    if run_id.is_empty() {
        Ok(RunId::random())
    } else {
        Ok(run_id.parse()?)
    }
}

/// Steps as JSON: each a step id, or `{id, name?, agent?}`.
fn parse_steps(steps_json: &str) -> Result<Vec<StepSpec>, JsError> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Step {
        Id(String),
        Spec(StepSpec),
    }
    let steps: Vec<Step> = serde_json::from_str(steps_json).map_err(|e| {
        JsError::new(&format!(
            "steps must be an array of step ids or {{id, name?, agent?}} objects: {e}"
        ))
    })?;
    steps
        .into_iter()
        .map(|s| match s {
            Step::Id(id) => Ok(StepSpec::new(&id)?),
            Step::Spec(spec) => Ok(spec),
        })
        .collect()
}
