//! [`MemoryBudget`]: what all of a relay's runs in memory may weigh together. A run's own
//! limit (`max_document_bytes`) bounds one run; without this, a client syncing many runs
//! at their limit over one socket (51 of them, 604 KB sent) took a relay past its memory.
//!
//! Each hub reserves what its run weighs (as [`crate::bounds::weigh`] weighs it) when it
//! loads it and as it takes changes in, gives back what a snapshot saves, and gives all
//! back when it leaves memory. A change that does not fit is refused; a run that does
//! not fit is not loaded (its readers are told the relay is full, and may try again).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use crate::id::RunId;

/// What a run in memory weighs at least, even one no store holds: its hub, its peers'
/// sync state, its task (about 12 KB each, measured on a relay holding 20,000 such runs).
pub const MIN_RUN_WEIGHT: usize = 16 * 1024;

/// What a document of `ops` operations and `changes` changes takes in memory, roughly.
/// The budget weighs a run as its size limit does (its operations at
/// [`crate::bounds::OP_WEIGHT`]); this counts its changes too, and the stored size says
/// little about either: a run of 2,000 grafts saves to 35 KB and takes 864 KB in memory, one of 200 grafts 4 KB and 103 KB, one of 1 graft 0.8 KB and
/// 28 KB (Automerge 0.12, measured by loading 100 copies and reading the process's RSS,
/// 2026-12-07). A graft is about one operation and one change.
pub fn memory_of(ops: u64, changes: u64) -> usize {
    const BASE: usize = 16 * 1024;
    const PER_OP: usize = 200;
    const PER_CHANGE: usize = 220;
    let ops = usize::try_from(ops).unwrap_or(usize::MAX);
    let changes = usize::try_from(changes).unwrap_or(usize::MAX);
    BASE.saturating_add(ops.saturating_mul(PER_OP))
        .saturating_add(changes.saturating_mul(PER_CHANGE))
}

/// The weight all runs in memory may have together, what they have, and what each has
/// (so that a caller's share can be weighed: [`crate::node::Holdings`]).
#[derive(Debug)]
pub struct MemoryBudget {
    limit: usize,
    inner: Mutex<Weights>,
}

#[derive(Debug, Default)]
struct Weights {
    used: usize,
    runs: HashMap<RunId, usize>,
}

impl Weights {
    fn add(&mut self, run: RunId, bytes: usize) {
        self.used = self.used.saturating_add(bytes);
        let held = self.runs.entry(run).or_default();
        *held = held.saturating_add(bytes);
    }
}

impl MemoryBudget {
    /// A budget of `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            inner: Mutex::new(Weights::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Weights> {
        // Nothing panics while holding it; a poisoned lock still holds sound numbers.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The limit.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// What the runs in memory weigh together.
    pub fn used(&self) -> usize {
        self.lock().used
    }

    /// What `run` weighs in memory (0 if it is not loaded).
    pub fn weight_of(&self, run: RunId) -> usize {
        self.lock().runs.get(&run).copied().unwrap_or(0)
    }

    /// What these runs weigh in memory together.
    pub fn weight_of_all<'a>(&self, runs: impl IntoIterator<Item = &'a RunId>) -> usize {
        let weights = self.lock();
        runs.into_iter()
            .filter_map(|run| weights.runs.get(run))
            .fold(0, |total, w| total.saturating_add(*w))
    }

    /// Reserves `bytes` not held by a run (frames queued for a peer) if they fit.
    pub fn try_hold(&self, bytes: usize) -> bool {
        let mut weights = self.lock();
        if weights.used.saturating_add(bytes) > self.limit {
            return false;
        }
        weights.used += bytes;
        true
    }

    /// Reserves `bytes` not held by a run whether they fit or not.
    pub fn force_hold(&self, bytes: usize) {
        let mut weights = self.lock();
        weights.used = weights.used.saturating_add(bytes);
    }

    /// Gives back `bytes` not held by a run.
    pub fn release_held(&self, bytes: usize) {
        let mut weights = self.lock();
        weights.used = weights.used.saturating_sub(bytes);
    }

    /// Reserves `bytes` for `run` if they fit.
    pub(crate) fn try_reserve(&self, run: RunId, bytes: usize) -> bool {
        let mut weights = self.lock();
        if weights.used.saturating_add(bytes) > self.limit {
            return false;
        }
        weights.add(run, bytes);
        true
    }

    /// Reserves `bytes` for `run` whether they fit or not (what a run weighs after
    /// changes it already took in).
    pub(crate) fn force(&self, run: RunId, bytes: usize) {
        self.lock().add(run, bytes);
    }

    /// Gives back `bytes` that `run` held.
    pub(crate) fn release(&self, run: RunId, bytes: usize) {
        let mut weights = self.lock();
        weights.used = weights.used.saturating_sub(bytes);
        if let Some(held) = weights.runs.get_mut(&run) {
            *held = held.saturating_sub(bytes);
            if *held == 0 {
                weights.runs.remove(&run);
            }
        }
    }
}

impl<R> crate::hub::RunHub<R> {
    /// Reserves `bytes` more for changes about to be taken in; `Err` says why not (and
    /// the shell hears that memory is full).
    pub(super) fn reserve(
        &mut self,
        bytes: usize,
        out: &mut Vec<crate::hub::Effect<R>>,
    ) -> Result<(), String> {
        let Some(budget) = &self.config.budget else {
            return Ok(());
        };
        if budget.try_reserve(self.run_id, bytes) {
            self.reserved = self.reserved.saturating_add(bytes);
            return Ok(());
        }
        out.push(crate::hub::Effect::Event(crate::hub::HubEvent::MemoryFull));
        Err(format!(
            "this relay's runs in memory weigh {} bytes; {bytes} more would pass its limit of {} (--max-loaded-bytes): refused, nothing applied; try again later",
            budget.used(),
            budget.limit()
        ))
    }

    /// Brings the reservation to what the run weighs now (after a batch: changes taken
    /// in, a snapshot that weighs less than the chunks it replaced).
    pub(super) fn rebudget(&mut self) {
        let Some(budget) = self.config.budget.clone() else {
            return;
        };
        let weight = if self.has_content() {
            self.durable.weight().max(MIN_RUN_WEIGHT)
        } else if self.refused_for_memory() {
            0
        } else {
            MIN_RUN_WEIGHT
        };
        // The copy saved for readers is the run's too.
        let saved = self.saved.as_ref().map_or(0, super::saved::SaveMemo::bytes);
        let weight = weight.saturating_add(saved);
        match weight.cmp(&self.reserved) {
            std::cmp::Ordering::Greater => budget.force(self.run_id, weight - self.reserved),
            std::cmp::Ordering::Less => budget.release(self.run_id, self.reserved - weight),
            std::cmp::Ordering::Equal => {}
        }
        self.reserved = weight;
        // What the peers' last sync messages weigh while they are kept counts in the
        // budget but not in the run's weight: the caller who sent it is charged for it
        // (its session weighs it: `node::Holdings`), not everyone who holds the run
        // (ninth attack, E26: one reader's messages pushed the run's other holders out).
        let kept = self.sync.kept_bytes();
        match kept.cmp(&self.kept_reserved) {
            std::cmp::Ordering::Greater => budget.force_hold(kept - self.kept_reserved),
            std::cmp::Ordering::Less => budget.release_held(self.kept_reserved - kept),
            std::cmp::Ordering::Equal => {}
        }
        self.kept_reserved = kept;
    }
}

impl<R> Drop for crate::hub::RunHub<R> {
    fn drop(&mut self) {
        if let Some(budget) = &self.config.budget {
            budget.release(self.run_id, self.reserved);
            budget.release_held(self.kept_reserved);
        }
    }
}
