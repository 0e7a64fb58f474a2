//! What a client's local store holds of its run, and the one write in flight.
//!
//! One store runs at a time and holds the whole run as it was when it started, so writes
//! made while it runs are grouped into the next one (group commit). Until the store
//! holds everything the replica has, nothing goes to the relay: a relay could otherwise
//! acknowledge a change the device loses in a crash, and the person who made it would
//! believe it safe.

use automerge::ChangeHash;

/// One write to the local store, named so its answer can be matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StoreId(pub u64);

/// A write the shell performs: the whole run's bytes and the heads the relay last
/// acknowledged (so the count of unsent changes survives a restart).
#[derive(Debug)]
pub struct StoreRequest {
    /// Answer [`crate::client::ClientInput::Stored`] with it once durable.
    pub id: StoreId,
    /// The run, saved.
    pub bytes: Vec<u8>,
    /// The heads the relay last acknowledged.
    pub acknowledged: Vec<ChangeHash>,
}

/// The store's side of a client run.
#[derive(Debug, Default)]
pub(super) struct LocalStore {
    /// Heads of what the store holds.
    held: Vec<ChangeHash>,
    in_flight: Option<(StoreId, Vec<ChangeHash>)>,
    next: u64,
    /// The last store failed, and nothing has been stored since.
    failed: Option<String>,
    /// There is no store: everything counts as held.
    absent: bool,
}

impl LocalStore {
    /// A store that holds the run at `heads` (what it was loaded from).
    pub(super) fn holding(heads: Vec<ChangeHash>) -> Self {
        Self {
            held: heads,
            ..Self::default()
        }
    }

    /// No store: a client that keeps nothing on its device (frames go out at once).
    pub(super) fn absent() -> Self {
        Self {
            absent: true,
            ..Self::default()
        }
    }

    /// Whether the store holds a replica at `heads`, with nothing in flight.
    pub(super) fn holds(&self, heads: &[ChangeHash]) -> bool {
        self.absent || (self.in_flight.is_none() && self.held == heads)
    }

    pub(super) fn busy(&self) -> bool {
        self.in_flight.is_some()
    }

    /// A write of the replica at `heads` starts.
    pub(super) fn start(&mut self, heads: Vec<ChangeHash>) -> StoreId {
        self.next += 1;
        let id = StoreId(self.next);
        self.in_flight = Some((id, heads));
        id
    }

    /// Write `id` is durable; false for an answer to a write not in flight.
    pub(super) fn stored(&mut self, id: StoreId) -> bool {
        match self.in_flight.take_if(|(f, _)| *f == id) {
            Some((_, heads)) => {
                self.held = heads;
                self.failed = None;
                true
            }
            None => false,
        }
    }

    /// Write `id` failed; false for an answer to a write not in flight.
    pub(super) fn failed(&mut self, id: StoreId, why: &str) -> bool {
        let ours = self.in_flight.take_if(|(f, _)| *f == id).is_some();
        if ours {
            self.failed = Some(why.to_owned());
        }
        ours
    }

    /// Why the last write failed, while nothing has been stored since.
    pub(super) fn failure(&self) -> Option<&str> {
        self.failed.as_deref()
    }
}
