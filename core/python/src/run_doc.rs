//! `RawRunDoc`: a [`RunDoc`] for Python. `runmesh.RunDoc` wraps it.

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use runmesh_core::{ChangeHash, FlagValue, Identity, RunDoc, RunId, StepSpec};

use crate::error::refused;

/// One replica of a run.
#[pyclass(module = "runmesh._core")]
#[derive(Debug)]
pub struct RawRunDoc {
    pub(crate) inner: RunDoc,
}

#[pymethods]
impl RawRunDoc {
    /// Creates a run. `steps_json` is a JSON array of step ids or `{id, name?, agent?}`;
    /// `run_id` is a UUID, or empty for a new random one.
    #[staticmethod]
    fn create(
        run_id: &str,
        title: &str,
        steps_json: &str,
        region: &str,
        user: &str,
    ) -> PyResult<Self> {
        let run_id = parse_run_id_or_random(run_id)?;
        let steps = parse_steps(steps_json)?;
        let identity = Identity::random(region, user).map_err(refused)?;
        let inner = RunDoc::create(run_id, identity, title, &steps, now_ms()).map_err(refused)?;
        Ok(Self { inner })
    }

    /// Opens a run from bytes. `run_id` may be empty when the bytes name their run; when
    /// given, bytes that name another run are refused: loaded under `run_id` they would
    /// be synced into it, joining two unrelated histories.
    #[staticmethod]
    fn load(bytes: &[u8], run_id: &str, region: &str, user: &str) -> PyResult<Self> {
        let identity = Identity::random(region, user).map_err(refused)?;
        if run_id.is_empty() {
            let inner = RunDoc::open(identity, bytes).map_err(refused)?;
            return Ok(Self { inner });
        }
        let run_id = parse_run_id(run_id)?;
        let inner = RunDoc::load_as(run_id, identity, bytes).map_err(refused)?;
        Ok(Self { inner })
    }

    /// A replica of a run that holds nothing yet (to be filled by sync or merge).
    #[staticmethod]
    fn empty(run_id: &str, region: &str, user: &str) -> PyResult<Self> {
        let run_id = parse_run_id(run_id)?;
        let identity = Identity::random(region, user).map_err(refused)?;
        Ok(Self {
            inner: RunDoc::genesis(run_id, identity),
        })
    }

    /// The run's UUID.
    fn run_id(&self) -> String {
        self.inner.run_id().to_string()
    }

    /// The run's automerge-repo document id (bs58check).
    fn document_id(&self) -> String {
        self.inner.run_id().document_id().to_string()
    }

    /// Grafts `agent_name` after `after`; returns the graft's id.
    fn graft(&mut self, after: &str, agent_name: &str) -> PyResult<String> {
        let id = self.inner.graft(after, agent_name, now_ms());
        Ok(id.map_err(refused)?.to_string())
    }

    /// Marks a node pruned; false if it already was.
    fn prune(&mut self, node: &str) -> PyResult<bool> {
        self.inner.prune(node, now_ms()).map_err(refused)
    }

    /// Removes the prune marks this replica has seen; false if there were none.
    fn restore(&mut self, node: &str) -> PyResult<bool> {
        self.inner.restore(node, now_ms()).map_err(refused)
    }

    /// Sets a flag to a JSON scalar, given as JSON text.
    fn set_flag(&mut self, key: &str, value_json: &str) -> PyResult<()> {
        let value: serde_json::Value = serde_json::from_str(value_json)
            .map_err(|e| refused(format!("flag {key:?}: value is not JSON: {e}")))?;
        let value = FlagValue::from_json(key, &value).map_err(refused)?;
        self.inner.set_flag(key, value, now_ms()).map_err(refused)
    }

    /// Removes a flag; false if it was not set.
    fn clear_flag(&mut self, key: &str) -> PyResult<bool> {
        self.inner.clear_flag(key, now_ms()).map_err(refused)
    }

    /// The materialised run.
    fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        plain(py, &self.inner.state())
    }

    /// The run's history.
    fn history<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        plain(py, &self.inner.history())
    }

    /// The run as it was at `heads` (hex change hashes).
    fn state_at<'py>(
        &mut self,
        py: Python<'py>,
        heads: Vec<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let heads = parse_heads("heads", &heads)?;
        plain(py, &self.inner.state_at(&heads).map_err(refused)?)
    }

    /// What changed from `from` to `to` (empty: now).
    fn diff<'py>(
        &mut self,
        py: Python<'py>,
        from: Vec<String>,
        to: Vec<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let from = parse_heads("from", &from)?;
        let to = if to.is_empty() {
            self.inner.heads()
        } else {
            parse_heads("to", &to)?
        };
        plain(py, &self.inner.diff(&from, &to).map_err(refused)?)
    }

    /// Reverses the change `change` (hex hash) with a new change; returns its hash.
    fn undo(&mut self, change: &str) -> PyResult<String> {
        let hash = parse_hash("change", change)?;
        Ok(self
            .inner
            .undo(&hash, now_ms())
            .map_err(refused)?
            .to_string())
    }

    /// A new run `new_id` (empty: random) sharing this run's history up to `at` (empty:
    /// now), written by this replica's region and user.
    fn fork(&mut self, new_id: &str, at: Vec<String>) -> PyResult<Self> {
        let new_id = parse_run_id_or_random(new_id)?;
        let at = if at.is_empty() {
            None
        } else {
            Some(parse_heads("at", &at)?)
        };
        let inner = self.inner.fork(new_id, at.as_deref(), now_ms());
        Ok(Self {
            inner: inner.map_err(refused)?,
        })
    }

    /// Where this run was forked from (None if it is no fork).
    fn fork_of<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        plain(py, &self.inner.fork_of())
    }

    /// Takes every change of `other`, a fork of this run or the run it was forked from;
    /// true if anything came in.
    fn merge_from(&mut self, mut other: PyRefMut<'_, Self>) -> PyResult<bool> {
        self.inner
            .merge_from(&mut other.inner, now_ms())
            .map_err(refused)
    }

    /// Takes every change `other` has; true if the run changed.
    fn merge(&mut self, mut other: PyRefMut<'_, Self>) -> PyResult<bool> {
        if other.inner.run_id() != self.inner.run_id() {
            return Err(refused(format!(
                "cannot merge run {} into run {}",
                other.inner.run_id(),
                self.inner.run_id()
            )));
        }
        let before = self.inner.heads();
        self.inner.merge(&mut other.inner).map_err(refused)?;
        Ok(self.inner.heads() != before)
    }

    /// The whole document, compacted.
    fn save<'py>(&mut self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.save())
    }

    /// The changes since the last save or incremental save.
    fn save_incremental<'py>(&mut self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.save_incremental())
    }

    /// Adds changes from bytes; true if the run changed.
    fn apply_changes(&mut self, bytes: &[u8]) -> PyResult<bool> {
        self.inner.apply_bytes(bytes).map_err(refused)
    }

    /// The document's heads (hex change hashes).
    fn heads(&mut self) -> Vec<String> {
        self.inner.heads().iter().map(|h| h.to_string()).collect()
    }

    /// The run's lamport clock.
    fn lamport(&self) -> u64 {
        self.inner.lamport()
    }

    /// How many grafts the run has.
    fn graft_count(&self) -> usize {
        self.inner.graft_count()
    }
}

/// `value` as Python dicts, lists, strs, ints, floats, bools and None: the shape its JSON
/// has (the npm package's and the REST API's), built directly rather than through JSON
/// text and `json.loads`, which took 17 of a 10,000-graft state's 25 ms (2026-12-07;
/// this way the read takes about a third less).
fn plain<'py>(py: Python<'py>, value: &impl serde::Serialize) -> PyResult<Bound<'py, PyAny>> {
    pythonize::pythonize(py, value).map_err(PyErr::from)
}

/// Milliseconds since the Unix epoch, by this machine's clock.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub(crate) fn parse_hash(what: &str, hash: &str) -> PyResult<ChangeHash> {
    hash.parse().map_err(|_| {
        refused(format!(
            "{what}: {hash:?} is not a change hash (64 hex digits)"
        ))
    })
}

pub(crate) fn parse_heads(what: &str, heads: &[String]) -> PyResult<Vec<ChangeHash>> {
    heads.iter().map(|h| parse_hash(what, h)).collect()
}

fn parse_run_id(run_id: &str) -> PyResult<RunId> {
    run_id.parse().map_err(refused)
}

fn parse_run_id_or_random(run_id: &str) -> PyResult<RunId> {
    if run_id.is_empty() {
        Ok(RunId::random())
    } else {
        parse_run_id(run_id)
    }
}

/// Steps as JSON: each a step id, or `{id, name?, agent?}`.
fn parse_steps(steps_json: &str) -> PyResult<Vec<StepSpec>> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Step {
        Id(String),
        Spec(StepSpec),
    }
    let steps: Vec<Step> = serde_json::from_str(steps_json).map_err(|e| {
        refused(format!(
            "steps must be a list of step ids or {{id, name?, agent?}} dicts: {e}"
        ))
    })?;
    steps
        .into_iter()
        .map(|s| match s {
            Step::Id(id) => StepSpec::new(&id).map_err(refused),
            Step::Spec(spec) => Ok(spec),
        })
        .collect()
}
