//! [`MeshPeers`]: the live links to relays in other regions, one per relay.
//!
//! Two relays that dial each other end up with two links; syncing on both would carry
//! every change twice. Both sides keep the link dialled by the relay with the smaller
//! peer id (and, between two links the same side dialled, the newer one), so they agree
//! without talking ([`replaces`]). A dialler whose link lost stands by while the peer's
//! link to it lives ([`MeshPeers::has_peer`]).

use std::collections::BTreeMap;

use crate::hub::{Millis, SessionId};
use crate::sync::PeerId;

/// One live link to a relay.
#[derive(Debug, Clone)]
pub struct MeshPeer<L> {
    /// The connection, as the shell holds it.
    pub link: L,
    /// Its session.
    pub session: SessionId,
    /// The relay that dialled it.
    pub dialer: PeerId,
    /// The peer's region.
    pub region: String,
    /// The URL we dialled, if we did.
    pub url: Option<String>,
    /// When it came up (the shell's clock).
    pub since: Millis,
}

/// A link to a relay that just came up, as the shell saw it.
#[derive(Debug, Clone)]
pub struct NewLink<L> {
    /// The relay at the other end.
    pub peer: PeerId,
    /// Its session.
    pub session: SessionId,
    /// The URL we dialled, if we did (`None`: the peer dialled us).
    pub url: Option<String>,
    /// The peer's region.
    pub region: String,
    /// When it came up (the shell's clock).
    pub since: Millis,
    /// The connection, as the shell holds it.
    pub link: L,
}

/// What a new link did.
#[derive(Debug)]
pub enum LinkUp<L> {
    /// It is the only link to that relay.
    Added,
    /// It replaced this older link, which the shell must close.
    Replaced(MeshPeer<L>),
    /// A link to that relay is kept instead: the shell closes the new one.
    Refused,
}

/// Whether a link dialled by `new_dialer` replaces one dialled by `old_dialer`, between
/// relays `me` and `peer` (the same answer on both sides).
pub fn replaces(me: &PeerId, peer: &PeerId, old_dialer: &PeerId, new_dialer: &PeerId) -> bool {
    let preferred = if me < peer { me } else { peer };
    new_dialer == old_dialer || new_dialer == preferred
}

/// The live links of the relay `me`, by peer.
#[derive(Debug)]
pub struct MeshPeers<L> {
    me: PeerId,
    links: BTreeMap<PeerId, MeshPeer<L>>,
    /// Test-only mutation: keep every new link without closing the old one.
    keep_duplicates: bool,
}

impl<L> MeshPeers<L> {
    /// No links yet, at the relay `me`.
    pub fn new(me: PeerId) -> Self {
        Self {
            me,
            links: BTreeMap::new(),
            keep_duplicates: false,
        }
    }

    /// A deliberately broken tie-break that keeps both links of a pair open, for the
    /// simulation to show that it is caught.
    #[doc(hidden)]
    pub fn keeping_duplicates(mut self) -> Self {
        self.keep_duplicates = true;
        self
    }

    /// A link came up. Says whether it is kept, and which link to close.
    pub fn link_up(&mut self, new: NewLink<L>) -> LinkUp<L> {
        let NewLink {
            peer,
            session,
            url,
            region,
            since,
            link,
        } = new;
        let dialer = if url.is_some() {
            self.me.clone()
        } else {
            peer.clone()
        };
        let mut replaced = None;
        if let Some(existing) = self.links.get(&peer)
            && !self.keep_duplicates
        {
            if !replaces(&self.me, &peer, &existing.dialer, &dialer) {
                return LinkUp::Refused;
            }
            replaced = self.links.remove(&peer);
        }
        let entry = MeshPeer {
            link,
            session,
            dialer,
            region,
            url,
            since,
        };
        self.links.insert(peer, entry);
        match replaced {
            Some(old) => LinkUp::Replaced(old),
            None => LinkUp::Added,
        }
    }

    /// The link to `peer` on `session` went down; `false` if that is not the live link
    /// (a newer one replaced it).
    pub fn link_down(&mut self, peer: &PeerId, session: SessionId) -> bool {
        if self.links.get(peer).is_some_and(|l| l.session == session) {
            self.links.remove(peer);
            return true;
        }
        false
    }

    /// Whether a live link to `peer` exists (a dialler whose link lost stands by while
    /// it does).
    pub fn has_peer(&self, peer: &PeerId) -> bool {
        self.links.contains_key(peer)
    }

    /// Whether this relay starts reconciling on its live link to `peer`: it does if it
    /// dialled the link (the other side answers; both then offer what the other lacks).
    pub fn reconciles(&self, peer: &PeerId) -> bool {
        self.links.get(peer).is_some_and(|l| l.dialer == self.me)
    }

    /// The live link to `peer`.
    pub fn get(&self, peer: &PeerId) -> Option<&MeshPeer<L>> {
        self.links.get(peer)
    }

    /// Every live link, by peer.
    pub fn iter(&self) -> impl Iterator<Item = (&PeerId, &MeshPeer<L>)> {
        self.links.iter()
    }

    /// How many relays this one has a live link to.
    pub fn len(&self) -> usize {
        self.links.len()
    }

    /// Whether it has none.
    pub fn is_empty(&self) -> bool {
        self.links.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_keep_the_link_the_smaller_peer_id_dialled() {
        let (a, b) = (PeerId::from("a"), PeerId::from("b"));
        // At a: a link b dialled, then one a dialled (a is smaller): a's wins.
        assert!(replaces(&a, &b, &b, &a));
        // At b: a link b dialled, then one a dialled: the same, a's wins.
        assert!(replaces(&b, &a, &b, &a));
        // The other order: a's link stays, b's loses, on both sides.
        assert!(!replaces(&a, &b, &a, &b));
        assert!(!replaces(&b, &a, &a, &b));
        // A redial by the same side replaces its old link.
        assert!(replaces(&a, &b, &b, &b));
    }

    #[test]
    fn a_duplicate_link_is_refused_or_replaces_the_old_one() {
        let (a, b) = (PeerId::from("a"), PeerId::from("b"));
        let mut at_b = MeshPeers::new(b.clone());
        // b dialled a first; then a's link to b arrives and wins (a is smaller).
        let new = |session: u64, url: Option<&str>| NewLink {
            peer: a.clone(),
            session: SessionId(session),
            url: url.map(String::from),
            region: "eu".into(),
            since: session * 5,
            link: session,
        };
        let first = at_b.link_up(new(1, Some("ws://a")));
        assert!(matches!(first, LinkUp::Added));
        assert!(
            at_b.reconciles(&a),
            "b dialled the live link: b starts reconciling"
        );
        let second = at_b.link_up(new(2, None));
        assert!(matches!(second, LinkUp::Replaced(old) if old.session == SessionId(1)));
        assert!(!at_b.reconciles(&a), "a dialled the live link: a starts");
        // b dials again: refused, a's link stays.
        let third = at_b.link_up(new(3, Some("ws://a")));
        assert!(matches!(third, LinkUp::Refused));
        assert!(
            !at_b.link_down(&a, SessionId(1)),
            "an old link going down is ignored"
        );
        assert!(at_b.link_down(&a, SessionId(2)));
        assert!(at_b.is_empty());
    }
}
