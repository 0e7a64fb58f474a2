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

/// The runs in memory only for other relays, oldest first (see the module's
/// documentation).
#[derive(Debug, Clone)]
pub struct MeshResidents {
    limit: usize,
    by_age: BTreeMap<u64, RunId>,
    age_of: HashMap<RunId, u64>,
    next: u64,
}

impl MeshResidents {
    /// Runs in memory only for other relays weigh at most `limit` bytes together.
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            by_age: BTreeMap::new(),
            age_of: HashMap::new(),
            next: 0,
        }
    }

    /// The bound.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Says whether `run`, in memory, has been touched only by other relays since it was
    /// loaded. A run keeps its age while it stays one.
    pub fn mesh_only(&mut self, run: RunId, only: bool) {
        if !only {
            self.left(run);
            return;
        }
        if self.age_of.contains_key(&run) {
            return;
        }
        self.next += 1;
        self.age_of.insert(run, self.next);
        self.by_age.insert(self.next, run);
    }

    /// `run` left memory.
    pub fn left(&mut self, run: RunId) {
        if let Some(age) = self.age_of.remove(&run) {
            self.by_age.remove(&age);
        }
    }

    /// How many runs are in memory only for other relays.
    pub fn len(&self) -> usize {
        self.age_of.len()
    }

    /// Whether no run is.
    pub fn is_empty(&self) -> bool {
        self.age_of.is_empty()
    }

    /// What they weigh together, each weighed by `weigh`.
    pub fn weight(&self, weigh: impl Fn(RunId) -> usize) -> usize {
        self.age_of
            .keys()
            .fold(0usize, |total, run| total.saturating_add(weigh(*run)))
    }

    /// The room left under the bound.
    pub fn free(&self, weigh: impl Fn(RunId) -> usize) -> usize {
        self.limit.saturating_sub(self.weight(weigh))
    }

    /// The runs that should leave memory now, oldest first, so that those left weigh
    /// under the bound (each leaves only if it is idle; the caller asks).
    pub fn to_release(&self, weigh: impl Fn(RunId) -> usize) -> Vec<RunId> {
        let weights: Vec<(RunId, usize)> = self
            .by_age
            .values()
            .map(|run| (*run, weigh(*run)))
            .collect();
        let mut over = weights
            .iter()
            .fold(0usize, |total, (_, w)| total.saturating_add(*w))
            .saturating_sub(self.limit);
        let mut out = Vec::new();
        for (run, w) in weights {
            if over == 0 {
                break;
            }
            over = over.saturating_sub(w);
            out.push(run);
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
            m.mesh_only(*run, true);
        }
        // 4 × 100 = 400: 150 over, so the two oldest go.
        assert_eq!(m.to_release(|_| 100), vec![r[0], r[1]]);
        assert_eq!(m.free(|_| 100), 0);
        m.left(r[0]);
        m.left(r[1]);
        assert!(m.to_release(|_| 100).is_empty());
        assert_eq!(m.free(|_| 100), 50);
    }

    #[test]
    fn a_run_someone_uses_is_no_longer_counted_and_keeps_no_age() {
        let r = runs(2);
        let mut m = MeshResidents::new(100);
        m.mesh_only(r[0], true);
        m.mesh_only(r[1], true);
        m.mesh_only(r[0], true); // again: keeps its age
        assert_eq!(m.to_release(|_| 60), vec![r[0]]);
        m.mesh_only(r[0], false);
        assert_eq!(m.len(), 1);
        assert!(m.to_release(|_| 60).is_empty());
        m.mesh_only(r[0], true); // only the mesh again: now the youngest
        assert_eq!(m.to_release(|_| 60), vec![r[1]]);
    }

    #[test]
    fn runs_that_are_not_loaded_weigh_nothing() {
        let r = runs(3);
        let mut m = MeshResidents::new(10);
        for run in &r {
            m.mesh_only(*run, true);
        }
        assert_eq!(m.weight(|_| 0), 0);
        assert!(m.to_release(|_| 0).is_empty());
    }
}
