//! The simulated relay's catch-ups, in the shipped [`Reconciliation`]: each mesh link's
//! runs to offer after reconciling, a few at a time, each until it is in step with the
//! peer or its time runs out, performed as the relay's worker performs them.
//!
//! [`Reconciliation`]: runmesh_core::node::Reconciliation

use runmesh_core::DocumentId;
use runmesh_core::hub::{Link, PeerKind};
use runmesh_core::node::Command;

use super::{Out, SimRelay};

impl SimRelay {
    /// Offers every link the runs its catch-up lets go now (after counting those in
    /// step), and asks to be woken when an offer runs out of time.
    pub fn offer_due(&mut self, now: u64, out: &mut Vec<Out>) {
        self.pumping = true;
        loop {
            self.settle_offers(now);
            let mut due = Vec::new();
            for link in self.mesh_links() {
                // The simulation does not weigh memory: no bound on the room.
                if let Some(d) = self.mesh.reconciliation().due(&link, now, None) {
                    due.extend(
                        d.offers
                            .into_iter()
                            .map(|(doc, fresh)| (link.clone(), doc, fresh)),
                    );
                }
            }
            if due.is_empty() {
                break;
            }
            self.settle_pending = false;
            for (link, doc, fresh) in due {
                let offer = Command::Offer {
                    to: link.clone(),
                    fresh,
                    settled: Some(link),
                };
                self.feed(now, doc, vec![offer], None, out);
            }
        }
        self.pumping = false;
        if let Some(at) = self.mesh.reconciliation_ref().next_wake() {
            out.push(Out::CatchUpWake { at });
        }
    }

    /// Counts the offers whose run is in step with the peer now, as the runs' shards
    /// reported them; an offered run no longer in memory never will be.
    fn settle_offers(&mut self, now: u64) {
        for (link, doc) in std::mem::take(&mut self.in_step) {
            self.mesh
                .reconciliation()
                .finished(now, &link, doc, true, 0);
        }
        for (peer, session, runs) in self.mesh.reconciliation_ref().offered_by_link() {
            let link = Link {
                peer,
                session,
                kind: PeerKind::Mesh,
            };
            for doc in runs {
                if !self.shards.contains_key(&doc) {
                    self.mesh
                        .reconciliation()
                        .finished(now, &link, doc, false, 0);
                }
            }
        }
    }

    /// `doc`'s shard says it is in step with the mesh peer on `link`.
    pub(super) fn note_in_step(&mut self, doc: DocumentId, link: Link) {
        self.in_step.push((link, doc));
        self.settle_pending = true;
    }

    /// After a batch: offers the next runs if one in flight may have got in step (the
    /// relay's run task tells the worker, which offers the next).
    pub(super) fn after_batch(&mut self, now: u64, out: &mut Vec<Out>) {
        if !self.pumping && std::mem::take(&mut self.settle_pending) {
            self.offer_due(now, out);
        }
    }
}
