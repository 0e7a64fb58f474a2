//! [`Holdings`]: the runs each caller holds open in memory, weighed against its share of
//! the relay's [memory budget](MemoryBudget). Without a share, one caller that kept 16
//! full runs open on one socket held the whole budget, and everyone else's changes were
//! refused until it left.
//!
//! A caller holds a run while one of its sessions syncs it. A caller whose runs weigh
//! its share or more may not open another run nor send changes; it may still read the
//! runs it holds, and close them. A run held by several callers counts for each.

use std::collections::HashMap;
use std::fmt::Display;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::hub::MemoryBudget;
use crate::id::RunId;

/// Who holds which runs open, and how many of its sessions hold each.
#[derive(Debug)]
pub struct Holdings<K> {
    budget: Arc<MemoryBudget>,
    share: usize,
    held: Mutex<HashMap<K, HashMap<RunId, usize>>>,
}

impl<K: Eq + Hash + Clone + Display> Holdings<K> {
    /// Callers of a relay whose runs in memory share `budget`, each holding at most
    /// `share` bytes of it.
    pub fn new(budget: Arc<MemoryBudget>, share: usize) -> Self {
        Self {
            budget,
            share,
            held: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<K, HashMap<RunId, usize>>> {
        // Nothing panics while holding it; the counts stay sound.
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One more of `who`'s sessions holds `run`.
    pub fn hold(&self, who: &K, run: RunId) {
        *self
            .lock()
            .entry(who.clone())
            .or_default()
            .entry(run)
            .or_default() += 1;
    }

    /// One of `who`'s sessions no longer holds `run`.
    pub fn let_go(&self, who: &K, run: RunId) {
        let mut held = self.lock();
        let Some(runs) = held.get_mut(who) else {
            return;
        };
        if let Some(sessions) = runs.get_mut(&run) {
            *sessions -= 1;
            if *sessions == 0 {
                runs.remove(&run);
            }
        }
        if runs.is_empty() {
            held.remove(who);
        }
    }

    /// What the runs `who` holds weigh in memory now.
    pub fn weight(&self, who: &K) -> usize {
        let held = self.lock();
        held.get(who)
            .map_or(0, |runs| self.budget.weight_of_all(runs.keys()))
    }

    /// Callers holding at least one run.
    pub fn callers(&self) -> usize {
        self.lock().len()
    }

    /// `who` holds `run` until the returned [`Hold`] is dropped (a change feed's hold).
    pub fn hold_while(self: &Arc<Self>, who: &K, run: RunId) -> Hold<K> {
        self.hold(who, run);
        Hold {
            holdings: self.clone(),
            who: who.clone(),
            run,
        }
    }

    /// Whether `who` may open another run or send changes: `Err` says why not.
    pub fn check(&self, who: &K) -> Result<(), String> {
        let weight = self.weight(who);
        if weight < self.share {
            return Ok(());
        }
        Err(format!(
            "the runs {who} holds open weigh {weight} bytes in memory, its share of this relay's ({} bytes, --max-loaded-bytes-per-caller): refused, nothing applied; close some runs first",
            self.share
        ))
    }
}

/// A caller's hold on a run, let go when dropped.
#[derive(Debug)]
pub struct Hold<K: Eq + Hash + Clone + Display> {
    holdings: Arc<Holdings<K>>,
    who: K,
    run: RunId,
}

impl<K: Eq + Hash + Clone + Display> Drop for Hold<K> {
    fn drop(&mut self) {
        self.holdings.let_go(&self.who, self.run);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weighed(runs: &[(RunId, usize)]) -> Arc<MemoryBudget> {
        let budget = Arc::new(MemoryBudget::new(usize::MAX));
        for (run, bytes) in runs {
            assert!(budget.try_reserve(*run, *bytes));
        }
        budget
    }

    #[test]
    fn a_caller_is_refused_once_what_it_holds_weighs_its_share() {
        let (big, small) = (RunId::random(), RunId::random());
        let holdings = Holdings::new(weighed(&[(big, 700), (small, 200)]), 800);
        let who = "mallory".to_owned();
        holdings.hold(&who, small);
        assert_eq!(holdings.check(&who), Ok(()));
        holdings.hold(&who, big);
        let why = holdings.check(&who).unwrap_err();
        assert!(
            why.contains("900 bytes") && why.contains("--max-loaded-bytes-per-caller"),
            "{why}"
        );
        // Others are not affected, even holding the same run.
        holdings.hold(&"ada".to_owned(), small);
        assert_eq!(holdings.check(&"ada".to_owned()), Ok(()));
    }

    #[test]
    fn a_run_counts_once_per_caller_until_its_last_session_lets_go() {
        let run = RunId::random();
        let holdings = Holdings::new(weighed(&[(run, 500)]), 800);
        let who = "ada".to_owned();
        holdings.hold(&who, run);
        holdings.hold(&who, run);
        assert_eq!(holdings.weight(&who), 500);
        holdings.let_go(&who, run);
        assert_eq!(holdings.weight(&who), 500);
        holdings.let_go(&who, run);
        assert_eq!(holdings.weight(&who), 0);
        assert_eq!(
            holdings.callers(),
            0,
            "nothing kept for a caller holding nothing"
        );
    }
}
