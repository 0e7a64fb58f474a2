//! The records a run document stores, and how each is encoded in Automerge.
//!
//! A graft never changes once made, so it is stored as *one* string value (compact JSON)
//! under its id in the `grafts` map: one Automerge op per graft instead of one per field,
//! which keeps grafting and loading fast. Prune marks are stored the same way. Flags are
//! plain Automerge scalars so that concurrent values surface as Automerge conflicts.

use serde::{Deserialize, Serialize};

/// The root keys of a run document.
pub(crate) mod keys {
    pub const STEPS: &str = "steps";
    pub const GRAFTS: &str = "grafts";
    pub const PRUNED: &str = "pruned";
    pub const FLAGS: &str = "flags";
    pub const TITLE: &str = "title";
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
