//! The simulated relay's knowledge of where runs are stored, in the shipped
//! [`ReachTable`]: its store's heads claimed as each persist lands, claims passed on over
//! the live mesh links, as the relay's `runs/reach.rs` does (without its 50 ms pause).
//! What a relay hears goes to the world's check ([`Out::Claims`]).

use runmesh_core::ChangeHash;
use runmesh_core::DocumentId;
use runmesh_core::reach::{Claim, ReachTable, StoreEpoch};
use runmesh_core::sync::{PeerId, WireMessage};

use super::{Out, SimRelay, region};

/// The simulation's stores are never made again: one epoch for all.
pub const EPOCH: StoreEpoch = StoreEpoch {
    created_ms: 1,
    nonce: 1,
};

impl SimRelay {
    /// What this relay knows as it starts: nothing.
    pub(super) fn fresh_reach(&self) -> ReachTable {
        ReachTable::new(self.config.me.clone(), region(self.index), EPOCH)
    }

    /// The store holds `heads` of `doc`: claimed, and told to every link.
    pub(super) fn stored_here(
        &mut self,
        now: u64,
        doc: DocumentId,
        heads: Vec<ChangeHash>,
        out: &mut Vec<Out>,
    ) {
        self.reach.stored_here(now, doc, heads);
        self.send_reach(out);
    }

    /// Claims from the mesh peer `from`: checked by the world, kept, passed on.
    pub(super) fn heard_claims(&mut self, from: &PeerId, claims: Vec<Claim>, out: &mut Vec<Out>) {
        out.push(Out::Claims(claims.clone()));
        self.reach.heard(from, claims);
        self.send_reach(out);
    }

    /// Sends every live link the claims it has not been told.
    pub(super) fn send_reach(&mut self, out: &mut Vec<Out>) {
        let links: Vec<(PeerId, u64)> = self
            .mesh
            .peers()
            .iter()
            .map(|(peer, link)| (peer.clone(), link.session.0))
            .collect();
        for (peer, conn) in links {
            while let Some(message) = self.reach.due(&peer) {
                let frame = WireMessage::Reach {
                    sender_id: self.config.me.clone(),
                    target_id: peer.clone(),
                    data: message.encode(),
                };
                out.push(Out::Frame {
                    conn,
                    frame: frame.encode(),
                });
            }
        }
    }
}
