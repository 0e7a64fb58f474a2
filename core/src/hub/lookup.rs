//! [`Lookup`]: a client asked for a run this relay lacks, and the relay asks its mesh
//! peers before it answers `doc-unavailable`.
//!
//! Only a client's request starts a lookup; a mesh peer's request is answered from what
//! is here. So a lookup never travels further than one hop, and two relays can never ask
//! each other in a loop.

use std::collections::BTreeSet;

use crate::hub::interface::Millis;
use crate::sync::PeerId;

/// One lookup in progress (or none).
#[derive(Debug, Default)]
pub(crate) struct Lookup {
    /// Mesh peers asked and not yet answered.
    asked: BTreeSet<PeerId>,
    /// Clients waiting for the outcome.
    waiting: BTreeSet<PeerId>,
    /// When the lookup gives up.
    deadline: Option<Millis>,
}

impl Lookup {
    /// Whether a lookup is in progress.
    pub(crate) fn active(&self) -> bool {
        self.deadline.is_some()
    }

    /// When the hub must wake to give up, if a lookup is in progress.
    pub(crate) fn deadline(&self) -> Option<Millis> {
        self.deadline
    }

    /// `client` waits for the outcome. Returns whether this starts the lookup (then ask
    /// the mesh peers and [`Lookup::asking`] each).
    pub(crate) fn wait(&mut self, client: PeerId, deadline: Millis) -> bool {
        self.waiting.insert(client);
        if self.deadline.is_some() {
            return false;
        }
        self.deadline = Some(deadline);
        true
    }

    /// `peer` was asked.
    pub(crate) fn asking(&mut self, peer: PeerId) {
        self.asked.insert(peer);
    }

    /// `peer` does not have the run, or is gone. Returns the clients to tell
    /// `doc-unavailable` if it was the last one asked.
    pub(crate) fn lacks(&mut self, peer: &PeerId) -> Vec<PeerId> {
        if self.asked.remove(peer) && self.asked.is_empty() {
            return self.give_up();
        }
        Vec::new()
    }

    /// A waiting client left.
    pub(crate) fn forget(&mut self, client: &PeerId) {
        self.waiting.remove(client);
    }

    /// Returns the clients to tell `doc-unavailable` if the deadline passed by `now`.
    pub(crate) fn expire(&mut self, now: Millis) -> Vec<PeerId> {
        match self.deadline {
            Some(deadline) if now >= deadline => self.give_up(),
            _ => Vec::new(),
        }
    }

    /// The run exists now: the waiting clients become its peers like any other.
    pub(crate) fn found(&mut self) {
        *self = Self::default();
    }

    fn give_up(&mut self) -> Vec<PeerId> {
        let waiting = std::mem::take(&mut self.waiting).into_iter().collect();
        *self = Self::default();
        waiting
    }
}
