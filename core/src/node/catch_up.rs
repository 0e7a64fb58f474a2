//! [`CatchUp`]: one mesh link's queue of the runs a reconciliation found this relay must
//! offer the peer, offered a few at a time. An offered run counts once it is in step with
//! the peer, or once [`SETTLE_MS`] has passed without that; then the next one goes. So
//! copying a whole region's runs keeps [`IN_FLIGHT`] runs in memory at a time, not all;
//! fewer when the runs are heavy: it offers only as many as the room left under the
//! catch-up's memory bound holds at what runs offered so far weighed
//! ([`super::MeshResidents`]).

use std::collections::{BTreeMap, HashSet, VecDeque};

use crate::hub::Millis;
use crate::id::DocumentId;

/// Runs offered to one peer at once.
pub const IN_FLIGHT: usize = 32;

/// How long an offered run may take to get in step before the next one goes anyway.
pub const SETTLE_MS: Millis = 10_000;

/// How far one link's catch-up has come.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CatchUpProgress {
    /// Runs queued so far.
    pub queued: u64,
    /// Runs offered and found in step.
    pub synced: u64,
    /// Runs offered that were not in step in time.
    pub unsettled: u64,
}

impl CatchUpProgress {
    /// Runs queued and not finished.
    pub fn pending(&self) -> u64 {
        self.queued - self.synced - self.unsettled
    }
}

/// One mesh link's catch-up (see the module's documentation).
#[derive(Debug)]
pub struct CatchUp {
    /// Runs to offer, in order, and whether to start their sessions over.
    waiting: VecDeque<(DocumentId, bool)>,
    queued: HashSet<DocumentId>,
    /// Runs offered, by when they must be in step.
    offered: BTreeMap<DocumentId, Millis>,
    progress: CatchUpProgress,
    in_flight: usize,
    settle: Millis,
    /// What an offered run weighs in memory, on average, once loaded; unknown until the
    /// first is weighed, and until then one run goes at a time.
    typical: Option<usize>,
    /// Test-only mutation: drop every n-th run queued instead of offering it.
    skip_every: Option<u64>,
}

impl Default for CatchUp {
    fn default() -> Self {
        Self::new(IN_FLIGHT, SETTLE_MS)
    }
}

impl CatchUp {
    /// A catch-up offering at most `in_flight` runs at once, each given `settle` ms.
    pub fn new(in_flight: usize, settle: Millis) -> Self {
        Self {
            waiting: VecDeque::new(),
            queued: HashSet::new(),
            offered: BTreeMap::new(),
            progress: CatchUpProgress::default(),
            in_flight: in_flight.max(1),
            settle,
            typical: None,
            skip_every: None,
        }
    }

    /// A deliberately broken catch-up that loses every `n`-th run queued, for the
    /// simulation to show that it is caught.
    #[doc(hidden)]
    pub fn skipping_every(mut self, n: u64) -> Self {
        self.skip_every = Some(n.max(1));
        self
    }

    /// Queues `runs` (`fresh`: start their sync sessions over). A run already waiting
    /// is not queued twice; one already offered is (it may have changed since).
    pub fn enqueue(&mut self, runs: impl IntoIterator<Item = DocumentId>, fresh: bool) {
        for run in runs {
            if !self.queued.insert(run) {
                if fresh && let Some(entry) = self.waiting.iter_mut().find(|(r, _)| *r == run) {
                    entry.1 = true;
                }
                continue;
            }
            self.progress.queued += 1;
            if self
                .skip_every
                .is_some_and(|n| self.progress.queued.is_multiple_of(n))
            {
                self.queued.remove(&run);
                self.progress.synced += 1; // counted as done: the bug hides itself
                continue;
            }
            self.waiting.push_back((run, fresh));
        }
    }

    /// The runs to offer now, given `free` bytes of room under the memory bound (`None`:
    /// no bound). Offers
    /// past their time count as not in step and make room; each run returned is in
    /// flight until [`CatchUp::settled`] or its time. Runs in flight count against the
    /// room at the typical weight (whether or not they are loaded and weighed in `free`
    /// yet), and one run always goes when none is in flight, so a run heavier than the
    /// bound still travels.
    pub fn due(&mut self, now: Millis, free: Option<usize>) -> Vec<(DocumentId, bool)> {
        let late: Vec<DocumentId> = self
            .offered
            .iter()
            .filter(|(_, by)| **by <= now)
            .map(|(run, _)| *run)
            .collect();
        for run in late {
            self.settled(run, false);
        }
        let fits = match (free, self.typical) {
            (None, _) => usize::MAX,
            (Some(free), Some(weight)) => (free / weight.max(1)).saturating_sub(self.offered.len()),
            (Some(_), None) => 0,
        };
        let fits = if self.offered.is_empty() {
            fits.max(1)
        } else {
            fits
        };
        let mut due = Vec::new();
        while self.offered.len() < self.in_flight && due.len() < fits {
            let Some((run, fresh)) = self.waiting.pop_front() else {
                break;
            };
            self.queued.remove(&run);
            if self.offered.insert(run, now + self.settle).is_some() {
                // Offered again while an offer was in flight: that one is done.
                self.progress.unsettled += 1;
            }
            due.push((run, fresh));
        }
        due
    }

    /// An offered run got in step with the peer (`in_step`), or never will on this
    /// link. Returns whether it was in flight (a late answer is ignored).
    pub fn settled(&mut self, run: DocumentId, in_step: bool) -> bool {
        if self.offered.remove(&run).is_none() {
            return false;
        }
        if in_step {
            self.progress.synced += 1;
        } else {
            self.progress.unsettled += 1;
        }
        true
    }

    /// An offered run weighed `bytes` in memory: the typical weight follows (a moving
    /// average that a heavier run raises at once, so a few heavy runs are not offered
    /// as many as light ones were).
    pub fn weighed(&mut self, bytes: usize) {
        self.typical = Some(match self.typical {
            Some(typical) if bytes <= typical => typical - (typical - bytes) / 8,
            _ => bytes,
        });
    }

    /// Runs in flight now.
    pub fn offered(&self) -> impl Iterator<Item = &DocumentId> {
        self.offered.keys()
    }

    /// When the first offer in flight runs out of time.
    pub fn next_wake(&self) -> Option<Millis> {
        self.offered.values().min().copied()
    }

    /// How far it has come.
    pub fn progress(&self) -> CatchUpProgress {
        self.progress
    }

    /// Whether runs wait to be offered.
    pub fn is_waiting(&self) -> bool {
        !self.waiting.is_empty()
    }

    /// Whether nothing is waiting or in flight.
    pub fn is_done(&self) -> bool {
        self.waiting.is_empty() && self.offered.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(n: usize) -> Vec<DocumentId> {
        (0..n)
            .map(|_| crate::id::RunId::random().document_id())
            .collect()
    }

    #[test]
    fn runs_are_offered_a_few_at_a_time_as_earlier_ones_settle() {
        let all = runs(5);
        let mut catch_up = CatchUp::new(2, 100);
        catch_up.enqueue(all.clone(), false);
        let first = catch_up.due(0, None);
        assert_eq!(first, vec![(all[0], false), (all[1], false)]);
        assert!(catch_up.due(10, None).is_empty(), "two in flight already");
        assert!(catch_up.settled(all[0], true));
        assert!(
            !catch_up.settled(all[0], true),
            "a second answer is ignored"
        );
        assert_eq!(catch_up.due(20, None), vec![(all[2], false)]);
        // all[1] runs out of time at 100: it counts as not in step and makes room.
        assert_eq!(catch_up.next_wake(), Some(100));
        assert_eq!(catch_up.due(100, None), vec![(all[3], false)]);
        let progress = catch_up.progress();
        assert_eq!((progress.synced, progress.unsettled), (1, 1));
        assert_eq!(progress.pending(), 3);
    }

    #[test]
    fn a_run_queued_twice_while_waiting_is_offered_once() {
        let all = runs(1);
        let mut catch_up = CatchUp::new(4, 100);
        catch_up.enqueue(all.clone(), false);
        catch_up.enqueue(all.clone(), true);
        assert_eq!(catch_up.due(0, None), vec![(all[0], true)]);
        assert_eq!(catch_up.progress().queued, 1);
        assert!(catch_up.settled(all[0], true));
        assert!(catch_up.is_done());
    }

    #[test]
    fn heavy_runs_are_offered_only_as_many_as_the_room_holds() {
        let all = runs(10);
        let mut catch_up = CatchUp::new(8, 100);
        catch_up.enqueue(all.clone(), false);
        // Nothing weighed yet: one at a time.
        assert_eq!(catch_up.due(0, Some(1_000)).len(), 1);
        assert!(catch_up.due(1, Some(1_000)).is_empty());
        catch_up.weighed(300);
        assert!(catch_up.settled(all[0], true));
        // 1,000 bytes free at 300 a run: three.
        assert_eq!(catch_up.due(2, Some(1_000)).len(), 3);
        // Two of them loaded and weighed in `free`: the three in flight still count.
        assert!(catch_up.due(3, Some(400)).is_empty());
        for run in &all[1..4] {
            catch_up.settled(*run, true);
        }
        // No room at all: still one, so a run heavier than the bound travels.
        assert_eq!(catch_up.due(4, Some(0)).len(), 1);
        // A heavier run raises the typical weight at once; lighter ones lower it slowly.
        catch_up.weighed(900);
        catch_up.weighed(100);
        assert_eq!(catch_up.typical, Some(800));
    }
}
