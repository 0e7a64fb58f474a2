//! [`DocCmd`]: what connections, the mesh and HTTP handlers ask of a run's task.

use automerge::sync::Message;
use runmesh_core::hub::{Link, OpError, OpReply, Presence, RunOp};
use runmesh_core::{ChangeEvent, ChangeHash, HistoryEntry, RunDiff, RunId, RunState};
use tokio::sync::{oneshot, watch};

use crate::runs::link::PeerLink;

/// Where an operation's answer goes.
pub type OpAnswer = oneshot::Sender<Result<OpReply, OpError>>;

/// The stored heads and the stored changes after what a follower saw.
pub type Followed = (Vec<ChangeHash>, Vec<ChangeEvent>);

/// Something to read from a run.
#[derive(Debug)]
pub enum Read {
    /// The materialised run.
    State(oneshot::Sender<Result<RunState, OpError>>),
    /// The run's title.
    Title(oneshot::Sender<Result<String, OpError>>),
    /// The whole document, saved.
    Changes(oneshot::Sender<Result<runmesh_core::hub::SavedRun, OpError>>),
    /// The history of changes.
    History(oneshot::Sender<Result<Vec<HistoryEntry>, OpError>>),
    /// The run as it was at these heads.
    StateAt(Vec<ChangeHash>, oneshot::Sender<Result<RunState, OpError>>),
    /// The stored changes after the heads given (none: none, just the heads to follow
    /// from), at most this many, and the stored heads.
    Since(
        Option<Vec<ChangeHash>>,
        usize,
        oneshot::Sender<Result<Followed, OpError>>,
    ),
    /// Which regions' stores hold these changes (none: the heads stored here).
    Durability(
        Option<Vec<ChangeHash>>,
        oneshot::Sender<Result<Durability, OpError>>,
    ),
    /// A receiver of the run's stored heads, told each time they change.
    Watch(oneshot::Sender<watch::Receiver<Vec<ChangeHash>>>),
    /// What changed from the first heads to the second (none: now).
    Diff(
        Vec<ChangeHash>,
        Option<Vec<ChangeHash>>,
        oneshot::Sender<Result<RunDiff, OpError>>,
    ),
    /// Current heads (none if the run is not here).
    Heads(oneshot::Sender<Vec<ChangeHash>>),
    /// A fork of the run: the new run's whole document (the run itself is not changed).
    Fork {
        /// The new run.
        new: RunId,
        /// Where in the run's past it starts (none: now).
        at: Option<Vec<ChangeHash>>,
        /// Who forks it.
        user: String,
        /// The new run's document, saved.
        reply: oneshot::Sender<Result<Vec<u8>, OpError>>,
    },
}

impl Read {
    /// Whether whoever asked has gone (a closed connection): the answer would be thrown
    /// away, so the work is not done.
    pub fn abandoned(&self) -> bool {
        match self {
            Read::State(r) | Read::StateAt(_, r) => r.is_closed(),
            Read::Title(r) => r.is_closed(),
            Read::Changes(r) => r.is_closed(),
            Read::History(r) => r.is_closed(),
            Read::Since(_, _, r) => r.is_closed(),
            Read::Watch(r) => r.is_closed(),
            Read::Diff(_, _, r) => r.is_closed(),
            Read::Durability(_, r) => r.is_closed(),
            Read::Heads(r) => r.is_closed(),
            Read::Fork { reply, .. } => reply.is_closed(),
        }
    }
}

/// A message to a run's task.
#[derive(Debug)]
pub enum DocCmd {
    /// A `sync` or `request` from a peer, its Automerge message decoded at the socket.
    Sync {
        /// The sender's connection.
        from: PeerLink,
        /// The Automerge sync message.
        message: Message,
        /// `request`: answer `doc-unavailable` if the run is unknown.
        request: bool,
    },
    /// An ephemeral message to pass on to the run's other peers.
    Ephemeral {
        /// The connection it came on.
        from: PeerLink,
        /// What it says, and who first said it.
        presence: Presence,
    },
    /// A peer's connection ended (a newer connection of the same peer is left alone).
    Detach(Link),
    /// A mesh peer we asked does not have the run.
    Unavailable {
        /// The mesh peer's connection.
        from: PeerLink,
    },
    /// Offer the run to a mesh peer (a catch-up after reconciling, or a forced resync).
    Offer {
        /// The mesh peer's connection.
        to: PeerLink,
        /// Start the sync session over (a forced resync).
        fresh: bool,
        /// Told once the run is in step with the peer.
        settled: Option<oneshot::Sender<()>>,
    },
    /// A REST operation, on behalf of `user`.
    Op {
        /// The operation.
        op: RunOp,
        /// Who asked.
        user: String,
        /// Where the answer goes.
        reply: OpAnswer,
    },
    /// A REST read.
    Read(Read),
    /// The relay's memory is full: leave it now if nobody holds the run open and
    /// everything it took in is stored.
    Shed,
    /// The runs in memory only for other relays weigh more than their bound: leave it
    /// now if nobody holds the run open and everything it took in is stored.
    Leave,
    /// Another relay sharing the store appended these events to the run (none: it may
    /// have appended anything; read the run).
    StoredElsewhere {
        /// The events' numbers in the store.
        events: Vec<i64>,
    },
}

/// Which regions' stores hold some of a run's changes, as this relay knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Durability {
    /// The changes asked about.
    pub heads: Vec<ChangeHash>,
    /// The regions whose stores hold every one of them, sorted.
    pub regions: Vec<String>,
}
