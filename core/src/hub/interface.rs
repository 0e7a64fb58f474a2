//! What goes into a [`RunHub`](super::RunHub) and what comes out: [`Input`]s from the
//! shell, [`Effect`]s for the shell to perform.

use automerge::{ChangeHash, sync};

use crate::hub::operations::{OpError, OpReply, RunOp};
use crate::sync::{PeerId, WireMessage};

/// Milliseconds on the shell's monotonic clock (any origin; only differences matter).
pub type Millis = u64;

/// One connection of a peer. A peer that reconnects under the same peer id gets a new
/// session, so late news about its old connection is recognised as such.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionId(pub u64);

/// Who is at the other end of a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PeerKind {
    /// A browser, an npm client, any automerge-repo peer.
    Client,
    /// Another relay of the mesh.
    Mesh,
}

/// A peer's current connection, as the hub knows it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Link {
    /// The peer.
    pub peer: PeerId,
    /// Its connection.
    pub session: SessionId,
    /// Client or relay.
    pub kind: PeerKind,
}

/// Numbers a persist, so its outcome is matched to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PersistId(pub u64);

/// What the store holds for the run, as loaded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stored {
    /// The newest snapshot and the chunks after it, concatenated.
    pub bytes: Vec<u8>,
    /// How many chunks follow the snapshot (when the next snapshot is due).
    pub chunks: u32,
}

/// One input to the hub.
#[derive(Debug)]
pub enum Input<R> {
    /// The store's answer to [`Effect::Load`] (and the first input of every hub):
    /// what it holds, nothing, or why it cannot be read.
    Loaded(Result<Option<Stored>, String>),
    /// A `sync` (or, with `request`, a `request`) from a peer, decoded at the edge.
    Sync {
        /// The peer's connection.
        from: Link,
        /// The Automerge sync message.
        message: sync::Message,
        /// `request`: answer `doc-unavailable` if the run is unknown (after asking the
        /// mesh, for a client).
        request: bool,
    },
    /// An `ephemeral` message to pass on to the run's other peers.
    Ephemeral {
        /// The connection it came on.
        from: Link,
        /// What it says, and who first said it.
        presence: Presence,
    },
    /// A mesh peer we asked does not have the run.
    Unavailable {
        /// The mesh peer.
        from: Link,
    },
    /// A peer's connection ended (ignored if the peer has a newer one).
    Left {
        /// The peer.
        peer: PeerId,
        /// The connection that ended.
        session: SessionId,
    },
    /// The mesh links live now (replaces what the hub knew).
    Mesh(Vec<Link>),
    /// Offer the run to a mesh peer: sync it (only what differs travels).
    Offer {
        /// The mesh peer.
        to: Link,
        /// Start the session with it over (a forced full resync); otherwise a live
        /// session is kept, and only a run not yet syncing with it starts one.
        fresh: bool,
    },
    /// A local operation (the REST API), for `user`, at wall-clock `at_ms`; its answer
    /// goes to `reply`.
    Op {
        /// What to do.
        op: RunOp,
        /// On whose behalf.
        user: String,
        /// Wall-clock time for the records it writes.
        at_ms: u64,
        /// Where the answer goes (the shell's handle; the hub only passes it back).
        reply: R,
    },
    /// Changes another relay sharing this relay's store has made durable there (event
    /// chunks or a full save): applied, counted as stored, and passed on to the peers.
    StoredElsewhere(Vec<u8>),
    /// A persist is durable.
    Stored(PersistId),
    /// A persist failed; nothing of it may be relied on.
    StoreFailed(PersistId, String),
    /// Time passed (a wake-up the hub asked for).
    Tick,
}

/// Ephemeral data (presence) for a run's peers, as one peer first said it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presence {
    /// The peer that first sent it (it may have crossed other relays).
    pub sender: PeerId,
    /// The sender's ephemeral session.
    pub session_id: String,
    /// Sequence number within that session, for dropping repeats.
    pub count: u64,
    /// The application's bytes.
    pub data: Vec<u8>,
}

/// Changes to make durable: append `chunk`, then, if given, store `snapshot` as the run's
/// new snapshot. Answer with [`Input::Stored`] or [`Input::StoreFailed`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Persist {
    /// Which persist this is.
    pub id: PersistId,
    /// The changes since the last persist (Automerge's incremental save).
    pub chunk: Vec<u8>,
    /// A full save, when a snapshot is due.
    pub snapshot: Option<Vec<u8>>,
    /// The region the changes came from.
    pub source_region: String,
    /// The run's lamport clock after them.
    pub lamport: u64,
    /// The run's heads once this persist is stored (what a digest fingerprints).
    pub heads: Vec<ChangeHash>,
    /// The heads of what the store held, as far as this hub knows, before this persist:
    /// a store several relays share keeps its fingerprint only if nobody else wrote
    /// in between.
    pub base: Vec<ChangeHash>,
}

/// Something that happened, for metrics and logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HubEvent {
    /// A sync message arrived.
    SyncReceived,
    /// A sync message could not be applied.
    SyncRefused(String),
    /// A snapshot of this many bytes was stored.
    SnapshotStored(usize),
    /// The run's lamport clock after a local operation.
    Lamport(u64),
    /// The stored run cannot be read.
    Unreadable(String),
    /// Storing failed: the unstored changes were dropped and the run is reloaded.
    StoreFailed(String),
    /// Changes another relay stored could not be applied (they stay in the store; the
    /// run takes them in when it is next loaded).
    ElsewhereRefused(String),
    /// The relay's runs in memory are at their limit (`--max-loaded-bytes`): a change
    /// or this run's load was refused. Runs nobody holds open may leave memory now.
    MemoryFull,
}

/// One effect for the shell to perform, in order.
#[derive(Debug)]
pub enum Effect<R> {
    /// Load the run from the store and answer with [`Input::Loaded`].
    Load,
    /// Make changes durable and answer with the outcome.
    Persist(Persist),
    /// Send `message` to the peer on `to` (dropped if that connection is gone). The hub
    /// only ever emits messages about changes that are already durable.
    Send {
        /// The connection.
        to: Link,
        /// The message.
        message: WireMessage,
    },
    /// Answer a local operation.
    Reply {
        /// The handle the operation came with.
        to: R,
        /// The answer.
        result: Result<OpReply, OpError>,
    },
    /// Whether the mesh peer's heads for this run differ from ours (sent when it changes).
    Divergence {
        /// The mesh peer.
        peer: PeerId,
        /// Heads differ.
        differs: bool,
    },
    /// Something for metrics and logs.
    Event(HubEvent),
}
