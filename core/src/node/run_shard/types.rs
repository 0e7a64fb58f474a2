//! What goes into a [`RunShard`](super::RunShard) and what comes out.

use automerge::{ChangeHash, sync};

use crate::hub::{
    HubEvent, Link, OpError, OpReply, PeerKind, Persist, PersistId, Presence, RunOp, Stored,
};
use crate::sync::{PeerId, WireMessage};

/// A connection handle as a shard keeps it: the relay's holds the socket's queue, the
/// simulation's is the bare [`Link`].
pub trait Conn: Clone {
    /// The peer, its connection and kind, as the hub knows them.
    fn link(&self) -> &Link;
}

impl Conn for Link {
    fn link(&self) -> &Link {
        self
    }
}

/// One command to a shard: what a peer or a caller asks, or the outcome of an effect.
#[derive(Debug)]
pub enum Command<R, W, C> {
    /// A `sync` (or, with `request`, a `request`) from a peer.
    Sync {
        /// The peer's connection.
        from: C,
        /// The Automerge sync message.
        message: sync::Message,
        /// Answer `doc-unavailable` if the run is unknown.
        request: bool,
    },
    /// Presence to pass on to the run's other peers.
    Ephemeral {
        /// The connection it came on.
        from: C,
        /// What it says.
        presence: Presence,
    },
    /// A mesh peer we asked does not have the run.
    Unavailable {
        /// The mesh peer's connection.
        from: C,
    },
    /// The peer's connection left the run (it closed, or the peer left it).
    Detach(Link),
    /// Offer the run to a mesh peer; `settled` hears when it is in step with it.
    Offer {
        /// The mesh peer's connection.
        to: C,
        /// Start the sync session over.
        fresh: bool,
        /// Who waits for the run to be in step with the peer (dropped if it never is).
        settled: Option<W>,
    },
    /// A local operation (the REST API), for `user`, at wall-clock `at_ms`.
    Op {
        /// What to do.
        op: RunOp,
        /// On whose behalf.
        user: String,
        /// Wall-clock time for the records it writes.
        at_ms: u64,
        /// Where the answer goes.
        reply: R,
    },
    /// A read of the run (it counts as a use here; the caller reads the hub).
    Read,
    /// The mesh links live now.
    Mesh(Vec<C>),
    /// What other relays sharing the store stored since it was last read, or `None`
    /// if it could not be read (the run's digest is then "not known" until it is).
    StoredElsewhere(Option<Vec<u8>>),
    /// The store's answer to [`Effect::Load`].
    Loaded(Result<Option<Stored>, String>),
    /// A persist is durable.
    Stored(PersistId),
    /// A persist failed.
    StoreFailed(PersistId, String),
    /// The peer's queue could not take a frame (it is cut off), or its connection is
    /// gone: it is no longer sent to.
    Gone(Link),
    /// Time passed.
    Tick,
}

impl<R, W, C: Conn> Command<R, W, C> {
    /// Whether this command counts as a use of the run, and as a use here (a client's,
    /// an operation's or a read's, not only other relays'). Time, the mesh's links and a
    /// store's outcomes are not uses.
    pub(super) fn counts_as_use(&self) -> (bool, bool) {
        match self {
            Command::Sync { from, .. } | Command::Ephemeral { from, .. } => {
                (true, from.link().kind == PeerKind::Client)
            }
            Command::Op { .. } | Command::Read => (true, true),
            Command::Unavailable { .. }
            | Command::Detach(_)
            | Command::Offer { .. }
            | Command::StoredElsewhere(_) => (true, false),
            Command::Mesh(_)
            | Command::Gone(_)
            | Command::Loaded(_)
            | Command::Stored(_)
            | Command::StoreFailed(..)
            | Command::Tick => (false, false),
        }
    }
}

/// One effect for the caller to perform, in order.
#[derive(Debug)]
pub enum Effect<R, W, C> {
    /// Load the run and answer with [`Command::Loaded`].
    Load,
    /// Make changes durable and answer with [`Command::Stored`] or
    /// [`Command::StoreFailed`].
    Persist(Persist),
    /// Queue `message` for the peer on `to`. If its queue cannot take it (see
    /// [`overflow`](crate::node::overflow)), drop presence; otherwise cut the peer off
    /// and answer [`Command::Gone`].
    Send {
        /// The connection.
        to: C,
        /// The message.
        message: WireMessage,
    },
    /// Answer a local operation.
    Reply {
        /// The reply slot.
        to: R,
        /// The answer.
        result: Result<OpReply, OpError>,
    },
    /// Whether the mesh peer's heads for this run differ from ours (when it changes).
    Divergence {
        /// The mesh peer.
        peer: PeerId,
        /// Heads differ.
        differs: bool,
    },
    /// The run is in step with the mesh peer this waiter waited for.
    Settled(W),
    /// The run's title, told once it has one (for the run list).
    Titled(String),
    /// The run's stored heads, for the digest index (only if `known`: what other relays
    /// stored could be read) and for whoever follows the run: told when they change, and
    /// again after what other relays stored was read (the index forgot the run then).
    StoredHeads {
        /// The heads of what is stored.
        heads: Vec<ChangeHash>,
        /// They say what the store holds.
        known: bool,
    },
    /// Something for metrics and logs.
    Event(HubEvent),
}
