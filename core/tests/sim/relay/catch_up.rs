//! The simulated relay's catch-ups: each mesh link's runs to offer after reconciling, in
//! the shipped [`CatchUp`] (a few at a time, each until it is in step with the peer or
//! its time runs out), performed as the relay's worker performs them.

use runmesh_core::DocumentId;
use runmesh_core::hub::Link;
use runmesh_core::node::CatchUp;
use runmesh_core::node::Command;

use super::{Out, SimRelay};

impl SimRelay {
    /// Queues `runs` to offer the mesh peer on `link`, and offers what is due.
    pub(super) fn catch_up(
        &mut self,
        now: u64,
        link: &Link,
        runs: impl IntoIterator<Item = DocumentId>,
        out: &mut Vec<Out>,
    ) {
        let skip = self.skip_offers;
        let (_, catch_up) = self.catch_ups.entry(link.session.0).or_insert_with(|| {
            let catch_up = CatchUp::default();
            let catch_up = match skip {
                Some(n) => catch_up.skipping_every(n),
                None => catch_up,
            };
            (link.clone(), catch_up)
        });
        catch_up.enqueue(runs, false);
        self.offer_due(now, out);
    }

    /// Offers every link the runs its catch-up lets go now (after counting those in
    /// step), and asks to be woken when an offer runs out of time.
    pub fn offer_due(&mut self, now: u64, out: &mut Vec<Out>) {
        self.pumping = true;
        loop {
            self.settle_offers();
            let mut due = Vec::new();
            for (conn, (link, catch_up)) in &mut self.catch_ups {
                due.extend(
                    // The simulation does not weigh memory: no bound on the room.
                    catch_up
                        .due(now, None)
                        .into_iter()
                        .map(|(doc, fresh)| (*conn, link.clone(), doc, fresh)),
                );
            }
            if due.is_empty() {
                break;
            }
            self.settle_pending = false;
            for (conn, link, doc, fresh) in due {
                let offer = Command::Offer {
                    to: link,
                    fresh,
                    settled: Some(conn),
                };
                self.feed(now, doc, vec![offer], None, out);
            }
        }
        self.pumping = false;
        if let Some(at) = self
            .catch_ups
            .values()
            .filter_map(|(_, c)| c.next_wake())
            .min()
        {
            out.push(Out::CatchUpWake { at });
        }
    }

    /// Counts the offers whose run is in step with the peer now, as the runs' shards
    /// reported them; an offered run no longer in memory never will be.
    fn settle_offers(&mut self) {
        for (conn, doc) in std::mem::take(&mut self.in_step) {
            if let Some((_, catch_up)) = self.catch_ups.get_mut(&conn) {
                catch_up.settled(doc, true);
            }
        }
        for (_, catch_up) in self.catch_ups.values_mut() {
            let offered: Vec<DocumentId> = catch_up.offered().copied().collect();
            for doc in offered {
                if !self.shards.contains_key(&doc) {
                    catch_up.settled(doc, false);
                }
            }
        }
    }

    /// The mesh link on `conn` closed: its catch-up goes with it.
    pub(super) fn forget_catch_up(&mut self, conn: u64) {
        self.catch_ups.remove(&conn);
    }

    /// `doc`'s shard says it is in step with the mesh peer on `conn`.
    pub(super) fn note_in_step(&mut self, doc: DocumentId, conn: u64) {
        self.in_step.push((conn, doc));
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
