//! [`Peers`]: the connections a hub's run is synced over, and the mesh links it knows.

use std::collections::BTreeMap;

use crate::hub::interface::{Link, PeerKind};
use crate::sync::PeerId;

/// A run's peers: one current connection each.
#[derive(Debug, Default)]
pub(crate) struct Peers {
    links: BTreeMap<PeerId, Link>,
    /// Live mesh links (attached to the run once it exists here).
    mesh: Vec<Link>,
    /// Per mesh peer, whether its heads differed from ours when last reported.
    reported: BTreeMap<PeerId, bool>,
}

impl Peers {
    /// Records `link` as its peer's connection. Returns whether it replaced another
    /// connection of the same peer (whose sync session belongs to a socket that is gone).
    pub(crate) fn attach(&mut self, link: Link) -> bool {
        let replaced = self
            .links
            .get(&link.peer)
            .is_some_and(|old| old.session != link.session);
        if replaced || !self.links.contains_key(&link.peer) {
            self.reported.remove(&link.peer);
        }
        self.links.insert(link.peer.clone(), link);
        replaced
    }

    /// Whether `link` is its peer's current connection.
    pub(crate) fn is_current(&self, link: &Link) -> bool {
        self.links.get(&link.peer) == Some(link)
    }

    /// The current connection of `peer`.
    pub(crate) fn get(&self, peer: &PeerId) -> Option<&Link> {
        self.links.get(peer)
    }

    /// Forgets `peer` if `session` is its current connection. Returns whether it did.
    pub(crate) fn detach(
        &mut self,
        peer: &PeerId,
        session: crate::hub::interface::SessionId,
    ) -> bool {
        if self.links.get(peer).is_some_and(|l| l.session == session) {
            self.links.remove(peer);
            self.reported.remove(peer);
            return true;
        }
        false
    }

    /// Every connection but `except`'s.
    pub(crate) fn others<'a>(&'a self, except: &'a PeerId) -> impl Iterator<Item = &'a Link> {
        self.links.values().filter(move |l| &l.peer != except)
    }

    /// Every connection.
    pub(crate) fn all(&self) -> impl Iterator<Item = &Link> {
        self.links.values()
    }

    /// Whether no client is connected (mesh links alone do not keep a run in memory).
    pub(crate) fn only_mesh(&self) -> bool {
        self.links.values().all(|l| l.kind == PeerKind::Mesh)
    }

    /// The live mesh links.
    pub(crate) fn mesh(&self) -> &[Link] {
        &self.mesh
    }

    /// Replaces the live mesh links. Returns the attached mesh connections that are no
    /// longer live (forgotten here; the caller ends their sync sessions).
    pub(crate) fn set_mesh(&mut self, live: Vec<Link>) -> Vec<Link> {
        let gone: Vec<Link> = self
            .links
            .values()
            .filter(|l| l.kind == PeerKind::Mesh && !live.contains(l))
            .cloned()
            .collect();
        for link in &gone {
            self.links.remove(&link.peer);
            self.reported.remove(&link.peer);
        }
        self.mesh = live;
        gone
    }

    /// Notes whether mesh peer `peer` differs from us; returns the news if it changed.
    pub(crate) fn report(&mut self, peer: &PeerId, differs: bool) -> Option<bool> {
        let before = self.reported.insert(peer.clone(), differs);
        (before != Some(differs)).then_some(differs)
    }
}
