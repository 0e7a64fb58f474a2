//! [`Holdings`]: the runs each caller holds open in memory, weighed against its share of
//! the relay's [memory budget](MemoryBudget). Without a share, one caller that kept 16
//! full runs open on one socket held the whole budget, and everyone else's changes were
//! refused until it left.
//!
//! A caller holds a run while one of its sessions (a socket syncing it, a change feed
//! following it) does. A caller whose runs weigh its share or more may not open another
//! run nor send changes ([`Holdings::check`]); it may still read the runs it holds, and
//! close them. Runs also grow by changes others make, or by changes the caller sent
//! before the first of them was weighed: a caller found past its share has its heaviest
//! sessions closed until it is back within it ([`Holdings::over_share`]). A run held by
//! several callers counts for each.

use std::collections::{HashMap, HashSet};
use std::fmt::Display;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::hub::MemoryBudget;
use crate::id::RunId;

/// One session of a caller, the runs it holds, and what the relay keeps of its last
/// sync message for each (charged to this caller alone).
#[derive(Debug)]
struct Held<S> {
    session: S,
    runs: HashSet<RunId>,
    kept: HashMap<RunId, usize>,
}

impl<S> Held<S> {
    fn kept(&self) -> usize {
        self.kept.values().sum()
    }
}

/// Who holds which runs open, through which sessions (`S` names one, as the shell
/// closes it).
#[derive(Debug)]
pub struct Holdings<K, S> {
    budget: Arc<MemoryBudget>,
    share: usize,
    held: Mutex<HashMap<K, Vec<Held<S>>>>,
    /// What each caller's holdings weighed when last weighed, plus what it took since:
    /// [`Holdings::check`] runs for every run a session opens, and weighing every run a
    /// caller holds each time made 60,000 requests cost 24 s for the last 10,000
    /// (twelfth attack, E43). The sweep ([`Holdings::over_share`]) weighs afresh.
    weights: Mutex<HashMap<K, usize>>,
}

impl<K, S> Holdings<K, S>
where
    K: Eq + Hash + Clone + Display,
    S: PartialEq + Clone,
{
    /// Callers of a relay whose runs in memory share `budget`, each holding at most
    /// `share` bytes of it.
    pub fn new(budget: Arc<MemoryBudget>, share: usize) -> Self {
        Self {
            budget,
            share,
            held: Mutex::new(HashMap::new()),
            weights: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<K, Vec<Held<S>>>> {
        // Nothing panics while holding it; the sets stay sound.
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn weights(&self) -> MutexGuard<'_, HashMap<K, usize>> {
        self.weights.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `who`'s `session` holds `run`.
    pub fn hold(&self, who: &K, session: &S, run: RunId) {
        let mut held = self.lock();
        let sessions = held.entry(who.clone()).or_default();
        let new = !sessions.iter().any(|h| h.runs.contains(&run));
        match sessions.iter_mut().find(|h| h.session == *session) {
            Some(h) => {
                h.runs.insert(run);
            }
            None => sessions.push(Held {
                session: session.clone(),
                runs: HashSet::from([run]),
                kept: HashMap::new(),
            }),
        }
        if new && let Some(weight) = self.weights().get_mut(who) {
            *weight = weight.saturating_add(self.budget.weight_of(run));
        }
    }

    /// The relay keeps `bytes` of the last sync message `who`'s `session` sent for
    /// `run`, until its next one: charged to `who`.
    pub fn keep(&self, who: &K, session: &S, run: RunId, bytes: usize) {
        let mut held = self.lock();
        let Some(sessions) = held.get_mut(who) else {
            return;
        };
        if let Some(h) = sessions.iter_mut().find(|h| h.session == *session) {
            let before = h.kept.insert(run, bytes).unwrap_or(0);
            if let Some(weight) = self.weights().get_mut(who) {
                *weight = weight.saturating_add(bytes).saturating_sub(before);
            }
        }
    }

    /// `who`'s `session` ended: it holds nothing any more.
    pub fn end(&self, who: &K, session: &S) {
        let mut held = self.lock();
        let Some(sessions) = held.get_mut(who) else {
            return;
        };
        sessions.retain(|h| h.session != *session);
        if sessions.is_empty() {
            held.remove(who);
        }
        self.weights().remove(who); // weighed afresh when next asked
    }

    /// What the runs `who` holds weigh in memory now (each run once), and what the
    /// relay keeps of its sessions' last messages.
    pub fn weight(&self, who: &K) -> usize {
        let held = self.lock();
        let sessions: Vec<&Held<S>> = held.get(who).into_iter().flatten().collect();
        self.weigh(&sessions)
    }

    fn weigh(&self, sessions: &[&Held<S>]) -> usize {
        let runs: HashSet<RunId> = sessions
            .iter()
            .flat_map(|h| h.runs.iter().copied())
            .collect();
        let kept: usize = sessions.iter().map(|h| h.kept()).sum();
        self.budget.weight_of_all(runs.iter()).saturating_add(kept)
    }

    /// Callers holding at least one run.
    pub fn callers(&self) -> usize {
        self.lock().len()
    }

    /// Whether `who` may open another run or send changes: `Err` says why not. By what
    /// its holdings weighed when last weighed and what it took since.
    pub fn check(&self, who: &K) -> Result<(), String> {
        let cached = self.weights().get(who).copied();
        let weight = match cached {
            Some(weight) => weight,
            None => {
                let weight = self.weight(who);
                self.weights().insert(who.clone(), weight);
                weight
            }
        };
        if weight < self.share {
            return Ok(());
        }
        Err(self.past_share(who, weight))
    }

    /// [`Holdings::check`], weighing everything `who` holds afresh (a REST write, which
    /// the rate limit paces: runs grown by others count at once).
    pub fn check_now(&self, who: &K) -> Result<(), String> {
        let weight = self.weight(who);
        self.weights().insert(who.clone(), weight);
        if weight < self.share {
            return Ok(());
        }
        Err(self.past_share(who, weight))
    }

    fn past_share(&self, who: &K, weight: usize) -> String {
        format!(
            "the runs {who} holds open weigh {weight} bytes in memory, its share of this relay's ({} bytes, --max-loaded-bytes-per-caller): refused, nothing applied; close some runs first",
            self.share
        )
    }

    /// The sessions to close because their caller holds more than its share (its runs
    /// grew after it opened them): for each such caller, its heaviest sessions until
    /// what the rest hold fits. Each with why, to tell it.
    pub fn over_share(&self) -> Vec<(S, String)> {
        let held = self.lock();
        let mut close = Vec::new();
        let mut weights = HashMap::with_capacity(held.len());
        for (who, sessions) in held.iter() {
            let mut kept: Vec<&Held<S>> = sessions.iter().collect();
            let total = self.weigh(&kept);
            weights.insert(who.clone(), total);
            if total <= self.share {
                continue;
            }
            kept.sort_by_key(|h| self.budget.weight_of_all(h.runs.iter()) + h.kept());
            let why = self.past_share(who, total);
            while self.weigh(&kept) > self.share {
                let Some(heaviest) = kept.pop() else { break };
                close.push((heaviest.session.clone(), why.clone()));
            }
        }
        *self.weights() = weights;
        close
    }
}

/// A change feed's hold on a run, let go when dropped.
#[derive(Debug)]
pub struct Hold<K, S>
where
    K: Eq + Hash + Clone + Display,
    S: PartialEq + Clone,
{
    holdings: Arc<Holdings<K, S>>,
    who: K,
    session: S,
}

impl<K, S> Hold<K, S>
where
    K: Eq + Hash + Clone + Display,
    S: PartialEq + Clone,
{
    /// `who`'s `session` holds `run` until this is dropped.
    pub fn new(holdings: &Arc<Holdings<K, S>>, who: &K, session: S, run: RunId) -> Self {
        holdings.hold(who, &session, run);
        Self {
            holdings: holdings.clone(),
            who: who.clone(),
            session,
        }
    }
}

impl<K, S> Drop for Hold<K, S>
where
    K: Eq + Hash + Clone + Display,
    S: PartialEq + Clone,
{
    fn drop(&mut self) {
        self.holdings.end(&self.who, &self.session);
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
        holdings.hold(&who, &1, small);
        assert_eq!(holdings.check(&who), Ok(()));
        holdings.hold(&who, &2, big);
        let why = holdings.check(&who).unwrap_err();
        assert!(
            why.contains("900 bytes") && why.contains("--max-loaded-bytes-per-caller"),
            "{why}"
        );
        // Others are not affected, even holding the same run.
        holdings.hold(&"ada".to_owned(), &3, small);
        assert_eq!(holdings.check(&"ada".to_owned()), Ok(()));
    }

    #[test]
    fn a_run_counts_once_per_caller_until_its_last_session_ends() {
        let run = RunId::random();
        let holdings = Holdings::new(weighed(&[(run, 500)]), 800);
        let who = "ada".to_owned();
        holdings.hold(&who, &1, run);
        holdings.hold(&who, &2, run);
        assert_eq!(holdings.weight(&who), 500);
        holdings.end(&who, &1);
        assert_eq!(holdings.weight(&who), 500);
        holdings.end(&who, &2);
        assert_eq!(holdings.weight(&who), 0);
        assert_eq!(
            holdings.callers(),
            0,
            "nothing kept for a caller holding nothing"
        );
    }

    #[test]
    fn a_caller_past_its_share_loses_its_heaviest_sessions_until_it_fits() {
        let (a, b, c) = (RunId::random(), RunId::random(), RunId::random());
        let budget = weighed(&[(a, 100), (b, 100), (c, 100)]);
        let holdings = Holdings::new(budget.clone(), 300);
        let who = "mallory".to_owned();
        holdings.hold(&who, &1, a);
        holdings.hold(&who, &2, b);
        holdings.hold(&who, &3, c);
        holdings.hold(&"ada".to_owned(), &4, c);
        assert!(holdings.over_share().is_empty(), "300 fits a share of 300");
        // Run b grows (changes made by anyone): mallory holds 500 of 300.
        budget.force(b, 200);
        let close = holdings.over_share();
        let sessions: Vec<i32> = close.iter().map(|(s, _)| *s).collect();
        assert_eq!(
            sessions,
            vec![2],
            "the heaviest session goes first, and is enough"
        );
        assert!(close[0].1.contains("mallory"), "{}", close[0].1);
    }
}

#[cfg(test)]
mod kept_tests {
    use super::*;

    /// The ninth attack's E26: what the relay keeps of one caller's messages weighed in
    /// the run, so against everyone holding it. It is charged to that caller alone.
    #[test]
    fn what_a_session_makes_the_relay_keep_is_charged_to_its_caller_only() {
        let run = RunId::random();
        let budget = Arc::new(MemoryBudget::new(usize::MAX));
        assert!(budget.try_reserve(run, 100));
        let holdings = Holdings::new(budget, 1_000);
        let (mallory, ada) = ("mallory".to_owned(), "ada".to_owned());
        holdings.hold(&mallory, &1, run);
        holdings.hold(&ada, &2, run);
        holdings.keep(&mallory, &1, run, 5_000);
        assert_eq!(holdings.weight(&mallory), 5_100);
        assert_eq!(holdings.weight(&ada), 100);
        let close = holdings.over_share();
        assert_eq!(close.len(), 1);
        assert_eq!(close[0].0, 1, "only mallory's session");
    }
}
