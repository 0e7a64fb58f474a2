//! [`MeshResidents`]: the runs in memory that only other relays have touched since they
//! were loaded (a catch-up walking through a region's runs loads them at either end of
//! the link), and the bound on what they weigh together (`--mesh-catch-up-bytes`).
//!
//! Such a run leaves memory after the short idle period ([`super::IdlePeriods`]). At a
//! thousand runs a second that is two thousand runs at once, and with runs of a few
//! thousand grafts each both relays of a link passed 340 MiB. So, past the bound, the
//! oldest of them leave at once if they are idle ([`MeshResidents::to_release`]), and a
//! catch-up offers only as many runs as the room left holds ([`MeshResidents::free`],
//! read by [`super::CatchUp::due`]).

use std::collections::{BTreeMap, HashMap};

use crate::id::RunId;

/// The runs in memory only for other relays, oldest first, each with what it weighs
/// (see the module's documentation).
#[derive(Debug, Clone)]
pub struct MeshResidents {
    limit: usize,
    by_age: BTreeMap<u64, RunId>,
    /// Each run's age and weight.
    runs: HashMap<RunId, (u64, usize)>,
    total: usize,
    next: u64,
}

impl MeshResidents {
    /// Runs in memory only for other relays weigh at most `limit` bytes together.
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            by_age: BTreeMap::new(),
            runs: HashMap::new(),
            total: 0,
            next: 0,
        }
    }

    /// The bound.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Says whether `run`, in memory and weighing `weight`, has been touched only by
    /// other relays since it was loaded. A run keeps its age while it stays one.
    pub fn mesh_only(&mut self, run: RunId, only: bool, weight: usize) {
        if !only {
            self.left(run);
            return;
        }
        match self.runs.get_mut(&run) {
            Some((_, w)) => {
                self.total = self.total - *w + weight;
                *w = weight;
            }
            None => {
                self.next += 1;
                self.runs.insert(run, (self.next, weight));
                self.by_age.insert(self.next, run);
                self.total += weight;
            }
        }
    }

    /// `run` left memory.
    pub fn left(&mut self, run: RunId) {
        if let Some((age, weight)) = self.runs.remove(&run) {
            self.by_age.remove(&age);
            self.total -= weight;
        }
    }

    /// What `run` weighs, if it is one of them.
    pub fn weight_of(&self, run: RunId) -> Option<usize> {
        self.runs.get(&run).map(|(_, w)| *w)
    }

    /// How many runs are in memory only for other relays.
    pub fn len(&self) -> usize {
        self.runs.len()
    }

    /// Whether no run is.
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// What they weigh together.
    pub fn weight(&self) -> usize {
        self.total
    }

    /// The room left under the bound.
    pub fn free(&self) -> usize {
        self.limit.saturating_sub(self.total)
    }

    /// The runs that should leave memory now, oldest first, so that those left weigh
    /// under the bound (each leaves only if it is idle; the caller asks).
    pub fn to_release(&self) -> Vec<RunId> {
        let mut over = self.total.saturating_sub(self.limit);
        let mut out = Vec::new();
        for run in self.by_age.values() {
            if over == 0 {
                break;
            }
            over = over.saturating_sub(self.runs[run].1);
            out.push(*run);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(n: usize) -> Vec<RunId> {
        (0..n).map(|_| RunId::random()).collect()
    }

    #[test]
    fn the_oldest_leave_first_until_the_rest_fit() {
        let r = runs(4);
        let mut m = MeshResidents::new(250);
        for run in &r {
            m.mesh_only(*run, true, 100);
        }
        // 4 × 100 = 400: 150 over, so the two oldest go.
        assert_eq!(m.to_release(), vec![r[0], r[1]]);
        assert_eq!(m.free(), 0);
        m.left(r[0]);
        m.left(r[1]);
        assert!(m.to_release().is_empty());
        assert_eq!(m.free(), 50);
    }

    #[test]
    fn a_run_someone_uses_is_no_longer_counted_and_keeps_no_age() {
        let r = runs(2);
        let mut m = MeshResidents::new(100);
        m.mesh_only(r[0], true, 60);
        m.mesh_only(r[1], true, 60);
        m.mesh_only(r[0], true, 60); // again: keeps its age
        assert_eq!(m.to_release(), vec![r[0]]);
        m.mesh_only(r[0], false, 60);
        assert_eq!((m.len(), m.weight()), (1, 60));
        assert!(m.to_release().is_empty());
        m.mesh_only(r[0], true, 60); // only the mesh again: now the youngest
        assert_eq!(m.to_release(), vec![r[1]]);
    }

    #[test]
    fn a_run_that_grows_is_weighed_afresh() {
        let r = runs(2);
        let mut m = MeshResidents::new(100);
        m.mesh_only(r[0], true, 10);
        m.mesh_only(r[1], true, 10);
        assert!(m.to_release().is_empty());
        m.mesh_only(r[1], true, 95);
        assert_eq!((m.weight(), m.weight_of(r[1])), (105, Some(95)));
        assert_eq!(m.to_release(), vec![r[0]]);
        m.left(r[1]);
        assert_eq!(m.weight(), 10);
    }
}
