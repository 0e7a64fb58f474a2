//! [`RelayMesh`]: a relay's side of the mesh, whole: its live links to relays in other
//! regions ([`MeshPeers`]) and the reconciliation of its stored runs over them
//! ([`Reconciliation`]), with the rules that join the two:
//! - a link that comes up is kept or refused by the tie-break; a link it replaces is
//!   closed, and that link's catch-up goes with it;
//! - the relay that dialled the kept link starts reconciling: it sends the first digest
//!   frame ([`Joined::Up`]), the other side answers;
//! - a link that goes down takes its catch-up with it.
//!
//! The relay's mesh performs it behind one lock (`relay/src/runs/reconciler.rs`); so do
//! the simulation's relays.

use crate::digest::DigestMessage;
use crate::hub::SessionId;
use crate::node::{LinkUp, MeshPeer, MeshPeers, NewLink, Reconciliation};
use crate::sync::PeerId;

/// What a new link did.
#[derive(Debug)]
pub enum Joined<L> {
    /// A link to that relay is kept instead: close the new one (a dialler stands by
    /// while the peer's link to it lives).
    Refused,
    /// It is the live link to that relay now.
    Up {
        /// The older link it replaced, to close.
        replaced: Option<MeshPeer<L>>,
        /// The first digest frame to send on it, if this relay dialled it.
        first_digest: Option<DigestMessage>,
    },
}

/// A relay's mesh links and the reconciliation over them (see the module's
/// documentation). `L` is a link as the shell holds it.
#[derive(Debug)]
pub struct RelayMesh<L> {
    peers: MeshPeers<L>,
    reconciliation: Reconciliation,
}

impl<L> RelayMesh<L> {
    /// No links and an empty index, at the relay `me`.
    pub fn new(me: PeerId) -> Self {
        let reconciliation = Reconciliation::new(me.as_str());
        Self::with(MeshPeers::new(me), reconciliation)
    }

    /// From its two parts (the simulation breaks one on purpose).
    pub fn with(peers: MeshPeers<L>, reconciliation: Reconciliation) -> Self {
        Self {
            peers,
            reconciliation,
        }
    }

    /// A link came up: kept or refused, and whether to start reconciling on it.
    pub fn link_up(&mut self, new: NewLink<L>) -> Joined<L> {
        let peer = new.peer.clone();
        let replaced = match self.peers.link_up(new) {
            LinkUp::Refused => return Joined::Refused,
            LinkUp::Replaced(old) => {
                self.reconciliation.link_down(&peer, old.session);
                Some(old)
            }
            LinkUp::Added => None,
        };
        let first_digest = self
            .peers
            .reconciles(&peer)
            .then(|| self.reconciliation.start());
        Joined::Up {
            replaced,
            first_digest,
        }
    }

    /// The link to `peer` on `session` went down: its catch-up goes with it. `false` if
    /// it was not the live link (a newer one replaced it).
    pub fn link_down(&mut self, peer: &PeerId, session: SessionId) -> bool {
        self.reconciliation.link_down(peer, session);
        self.peers.link_down(peer, session)
    }

    /// The live links.
    pub fn peers(&self) -> &MeshPeers<L> {
        &self.peers
    }

    /// The digest index and the links' catch-ups.
    pub fn reconciliation(&mut self) -> &mut Reconciliation {
        &mut self.reconciliation
    }

    /// The same, to read.
    pub fn reconciliation_ref(&self) -> &Reconciliation {
        &self.reconciliation
    }
}
