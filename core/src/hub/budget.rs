//! [`MemoryBudget`]: what all of a relay's runs in memory may weigh together. A run's own
//! limit (`max_document_bytes`) bounds one run; without this, a client syncing many runs
//! at their limit over one socket (51 of them, 604 KB sent) took a relay past its memory.
//!
//! Each hub reserves what its run weighs (as [`crate::bounds::weigh`] weighs it) when it
//! loads it and as it takes changes in, gives back what a snapshot saves, and gives all
//! back when it leaves memory. A change that does not fit is refused; a run that does
//! not fit is not loaded (its readers are told the relay is full, and may try again).

use std::sync::atomic::{AtomicUsize, Ordering};

/// The weight all runs in memory may have together, and what they have.
#[derive(Debug)]
pub struct MemoryBudget {
    limit: usize,
    used: AtomicUsize,
}

impl MemoryBudget {
    /// A budget of `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            used: AtomicUsize::new(0),
        }
    }

    /// The limit.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// What the runs in memory weigh together.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// Reserves `bytes` if they fit.
    pub(crate) fn try_reserve(&self, bytes: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|total| *total <= self.limit)
            })
            .is_ok()
    }

    /// Reserves `bytes` whether they fit or not (what a run weighs after changes it
    /// already took in).
    pub(crate) fn force(&self, bytes: usize) {
        self.used.fetch_add(bytes, Ordering::AcqRel);
    }

    /// Gives `bytes` back.
    pub(crate) fn release(&self, bytes: usize) {
        let _ = self
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                Some(used.saturating_sub(bytes))
            });
    }
}

impl<R> crate::hub::RunHub<R> {
    /// Reserves `bytes` more for changes about to be taken in; `Err` says why not.
    pub(super) fn reserve(&mut self, bytes: usize) -> Result<(), String> {
        let Some(budget) = &self.config.budget else {
            return Ok(());
        };
        if budget.try_reserve(bytes) {
            self.reserved = self.reserved.saturating_add(bytes);
            return Ok(());
        }
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
            self.durable.weight()
        } else {
            0
        };
        match weight.cmp(&self.reserved) {
            std::cmp::Ordering::Greater => budget.force(weight - self.reserved),
            std::cmp::Ordering::Less => budget.release(self.reserved - weight),
            std::cmp::Ordering::Equal => {}
        }
        self.reserved = weight;
    }
}

impl<R> Drop for crate::hub::RunHub<R> {
    fn drop(&mut self) {
        if let Some(budget) = &self.config.budget {
            budget.release(self.reserved);
        }
    }
}
