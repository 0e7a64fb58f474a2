//! What the REST API answers, as types: one place to read every JSON shape the relay
//! sends (the state and the diff are the core's own types). Field names are camelCase
//! on the wire; `null` fields are sent as `null` unless a type says it leaves them out.

use runmesh_core::sync::PeerId;
use runmesh_core::{ChangeHash, GraftId, HistoryEntry, RunId};
use serde::Serialize;

/// Heads as the API shows them: hex hashes.
pub fn hex(heads: &[ChangeHash]) -> Vec<String> {
    heads.iter().map(ToString::to_string).collect()
}

/// Every error: a short code and what was wrong.
#[derive(Debug, Serialize)]
pub struct Failure<'a> {
    /// A stable code (`bad_request`, `not_found`, `too_large`…).
    pub error: &'a str,
    /// What was wrong, naming the value or the limit.
    pub message: String,
}

/// `GET …/heads`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Heads {
    pub run_id: RunId,
    pub heads: Vec<String>,
}

/// `GET …/history`: one page.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryPage<'a> {
    pub run_id: RunId,
    pub history: &'a [HistoryEntry],
    /// Changes in the whole history.
    pub total: usize,
    /// The `after` of the next page; `null` on the last.
    pub next: Option<String>,
}

/// One run of the run list.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListedRun {
    pub run_id: RunId,
    pub document_id: String,
    /// `null` for a stored document that is not a run.
    pub title: Option<String>,
}

/// `GET /api/crdt/runs`: one page.
#[derive(Debug, Serialize)]
pub struct RunsPage {
    pub runs: Vec<ListedRun>,
    /// Runs the caller may read in all.
    pub total: usize,
    /// The `after` of the next page; `null` on the last.
    pub next: Option<String>,
}

/// `POST …/sync`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Synced<'a> {
    pub run_id: RunId,
    /// Whether the bytes changed the run.
    pub applied: bool,
    pub source_region: &'a str,
    /// The run's lamport clock afterwards.
    pub lamport_timestamp: u64,
    /// The sender's, as it gave it.
    pub sender_lamport_timestamp: Option<u64>,
    /// This relay's region.
    pub region: &'a str,
}

/// A run made: create (201) and fork.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Created {
    pub run_id: RunId,
    pub document_id: String,
    /// The automerge-repo URL of its document.
    pub url: String,
    /// For a fork: the run it came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fork_of: Option<ForkOf>,
    pub heads: Vec<String>,
}

impl Created {
    /// `run`, made with `heads`.
    pub fn new(run: RunId, heads: &[ChangeHash]) -> Self {
        Self {
            run_id: run,
            document_id: run.document_id().to_string(),
            url: run.document_id().url(),
            fork_of: None,
            heads: hex(heads),
        }
    }
}

/// Where a fork came from.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ForkOf {
    pub run_id: RunId,
}

/// `POST /app/runs/{runId}/graft` (201).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Grafted {
    pub graft_id: Option<GraftId>,
    pub run_id: RunId,
    pub heads: Vec<String>,
}

/// A prune, a restore (`nodeId`) or a flag set or cleared (`key`): what it touched and
/// whether that changed anything (a prune of a pruned node does not).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Touched<'a> {
    pub run_id: RunId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<&'a str>,
    pub changed: bool,
    pub heads: Vec<String>,
}

/// `POST …/undo`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Undone {
    pub run_id: RunId,
    /// The change undone.
    pub undone: String,
    /// The change that undid it.
    pub change: Option<String>,
    pub heads: Vec<String>,
}

/// `POST …/merge`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Merged {
    pub run_id: RunId,
    pub from: RunId,
    /// Whether `from` brought anything new.
    pub merged: bool,
    pub heads: Vec<String>,
}

/// `GET /health/live`, and `GET /health/ready` with the store and region.
#[derive(Debug, Serialize)]
pub struct Health<'a> {
    pub status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<&'a str>,
}

/// `POST …/register-peer` (202).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Resynced<'a> {
    pub run_id: RunId,
    pub peer_region: &'a str,
    pub status: &'a str,
    /// The links to that region's relays, each told to resync.
    pub peers: Vec<ResyncedPeer>,
}

/// One link a resync went to.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResyncedPeer {
    pub peer_id: PeerId,
    pub url: Option<String>,
}

/// The last event of a change feed: why it ends.
#[derive(Debug, Serialize)]
pub struct FeedEnd<'a> {
    pub code: &'a str,
    pub reason: String,
}
