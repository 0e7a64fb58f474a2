//! The records a run document stores, and how each is encoded in Automerge.
//!
//! A graft never changes once made, so it is stored as *one* string value (compact JSON)
//! under its id in one of the bucket maps inside `grafts`: one Automerge op per graft instead of one per field,
//! which keeps grafting and loading fast. Prune marks are stored the same way. Flags are
//! plain Automerge scalars so that concurrent values surface as Automerge conflicts.

use serde::{Deserialize, Serialize};

/// Grafts are spread over this many maps inside `grafts`, all made by the genesis change.
///
/// Automerge applies a remote change by walking every op of each object it touches, so
/// one map holding every graft makes each remote graft cost O(grafts) (2 ms at 10,000).
/// With 64 buckets a remote graft walks only its bucket (each empty bucket costs
/// about 150 bytes of memory per loaded run, so not more). A bucket holds consecutive
/// lamport ranges, so a replica's recent grafts stay together.
pub(crate) const GRAFT_BUCKETS: usize = 64;
const LAMPORTS_PER_BUCKET: u64 = 128;

/// The bucket a graft with this lamport timestamp is written to.
pub(crate) fn graft_bucket(lamport: u64) -> usize {
    ((lamport / LAMPORTS_PER_BUCKET) % GRAFT_BUCKETS as u64) as usize
}

/// The key of a bucket inside the `grafts` map: two hex digits.
pub(crate) fn bucket_key(bucket: usize) -> String {
    format!("{bucket:02x}")
}

/// The root keys of a run document.
pub(crate) mod keys {
    pub const STEPS: &str = "steps";
    pub const GRAFTS: &str = "grafts";
    pub const PRUNED: &str = "pruned";
    pub const FLAGS: &str = "flags";
    pub const TITLE: &str = "title";
    /// The run's UUID, written by the creating change so saved bytes name their run.
    pub const RUN_ID: &str = "runId";
    pub const STEP_ID: &str = "id";
    pub const STEP_NAME: &str = "name";
    pub const STEP_AGENT: &str = "agent";
}

/// A graft as stored: everything but its id, which is the map key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GraftRecord {
    pub after: String,
    pub agent_name: String,
    pub by: String,
    pub region: String,
    pub lamport: u64,
    /// Milliseconds since the Unix epoch, as the writer's clock said.
    pub at: u64,
}

/// A prune mark as stored under the pruned node's id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PruneRecord {
    pub by: String,
    pub region: String,
    pub lamport: u64,
    pub at: u64,
}

pub(crate) fn encode<T: Serialize>(record: &T) -> String {
    serde_json::to_string(record).expect("records are plain structs of strings and numbers")
}
