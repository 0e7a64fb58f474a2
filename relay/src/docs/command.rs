//! What connections and HTTP handlers ask of a document's task.

use runmesh_core::sync::{PeerId, WireMessage};
use runmesh_core::{FlagValue, GraftId, HistoryEntry, RunError, RunState, StepSpec};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// A connection's outbound side, as a document task sees it.
#[derive(Debug, Clone)]
pub struct PeerLink {
    /// The peer at the other end.
    pub peer: PeerId,
    /// Encoded frames to send it. Bounded: a peer that does not keep up is cut off.
    pub tx: mpsc::Sender<Vec<u8>>,
    /// Cancelled to close the connection (slow consumer, shutdown).
    pub close: CancellationToken,
    /// Whether the peer is another relay (mesh) rather than a client.
    pub is_mesh: bool,
    /// Unique per connection: a peer that reconnects with the same peer id gets a new
    /// session, and late messages about its old connection are recognised as such.
    pub session: u64,
}

/// A change to a run made through the REST API.
#[derive(Debug)]
pub enum RunOp {
    /// Create the run with a title and base steps.
    Create {
        /// Title.
        title: String,
        /// Base steps.
        steps: Vec<StepSpec>,
    },
    /// Graft an agent after a node.
    Graft {
        /// The anchor.
        after: String,
        /// The agent.
        agent_name: String,
    },
    /// Mark a node pruned.
    Prune {
        /// The node.
        node: String,
    },
    /// Remove a prune mark.
    Restore {
        /// The node.
        node: String,
    },
    /// Set a flag.
    SetFlag {
        /// The key.
        key: String,
        /// The value.
        value: FlagValue,
    },
    /// Remove a flag.
    ClearFlag {
        /// The key.
        key: String,
    },
    /// Merge Automerge bytes (a save or changes) from another relay or a backup.
    ApplyBytes {
        /// The bytes.
        bytes: Vec<u8>,
        /// The region they came from.
        source_region: String,
    },
}

/// What an operation did.
#[derive(Debug)]
pub struct OpReply {
    /// The run afterwards.
    pub state: RunState,
    /// The graft made, for `Graft`.
    pub graft: Option<GraftId>,
    /// Whether the document changed.
    pub changed: bool,
}

/// Something to read from a run.
#[derive(Debug)]
pub enum Read {
    /// The materialised run.
    State(oneshot::Sender<Result<RunState, OpError>>),
    /// The whole document, saved.
    Changes(oneshot::Sender<Result<Vec<u8>, OpError>>),
    /// The history of changes.
    History(oneshot::Sender<Result<Vec<HistoryEntry>, OpError>>),
    /// Current heads, hex.
    Heads(oneshot::Sender<Vec<String>>),
}

/// Why an operation or read failed.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// No such run here.
    #[error("run not found")]
    NotFound,
    /// The run already exists (create).
    #[error("run already exists")]
    Exists,
    /// The document exists but is not a run.
    #[error("document is not a run: {0}")]
    NotARun(String),
    /// The run refused the operation.
    #[error(transparent)]
    Run(#[from] RunError),
    /// The change could not be made durable, so it was not acknowledged.
    #[error("storage failed: {0}")]
    Storage(String),
    /// The stored document could not be loaded.
    #[error("stored document is unreadable: {0}")]
    Broken(String),
    /// The change would make the document larger than `--max-document-bytes`.
    #[error("{0}")]
    TooLarge(String),
}

/// A message to a document's task.
#[derive(Debug)]
pub enum DocCmd {
    /// A `sync` or `request` from a peer (the link is attached on first contact).
    Sync {
        /// The sender's link.
        from: PeerLink,
        /// The Automerge sync message.
        data: Vec<u8>,
        /// `request`: answer `doc-unavailable` if the document is unknown here.
        request: bool,
    },
    /// An ephemeral message to relay to the document's other peers.
    Ephemeral {
        /// The sender.
        from: PeerId,
        /// The message.
        message: WireMessage,
    },
    /// A peer went away.
    Detach {
        /// The peer.
        peer: PeerId,
        /// Its connection; a newer connection of the same peer is left alone.
        session: u64,
    },
    /// A mesh peer we asked does not have the document.
    Unavailable {
        /// The mesh peer.
        from: PeerId,
    },
    /// Offer the document to a mesh peer (full sync on connect).
    Offer {
        /// The mesh peer's link.
        to: PeerLink,
    },
    /// A REST operation, on behalf of `user`.
    Op {
        /// The operation.
        op: RunOp,
        /// Who asked.
        user: String,
        /// Where the answer goes.
        reply: oneshot::Sender<Result<OpReply, OpError>>,
    },
    /// A REST read.
    Read(Read),
}
