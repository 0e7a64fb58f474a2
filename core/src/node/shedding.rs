//! [`Shedding`]: what a relay does when its memory is full.
//!
//! A run's hub says the relay's [`MemoryBudget`](crate::hub::MemoryBudget) is full when
//! it refuses a change or a load ([`HubEvent::MemoryFull`](crate::hub::HubEvent)). The
//! relay then asks every run in memory to leave it, and each leaves only if nobody holds
//! it open ([`RunShard::may_leave`](crate::node::RunShard::may_leave)): no
//! peer, no follower, nothing unstored. A full relay refuses many things at once, so it
//! asks at most once every [`SHED_EVERY_MS`]. A run that was not loaded for want of
//! memory leaves at once, so the next request tries again
//! ([`RunShard::refused_for_memory`](crate::node::RunShard::refused_for_memory)).

use crate::hub::Millis;

/// Shortest time between two requests to leave memory.
pub const SHED_EVERY_MS: Millis = 1_000;

/// When the relay last asked its runs to leave memory.
#[derive(Debug, Default, Clone)]
pub struct Shedding {
    last: Option<Millis>,
}

impl Shedding {
    /// Nothing shed yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A run found the memory full at `now`: whether to ask every run in memory to
    /// leave it now (not if it was asked less than [`SHED_EVERY_MS`] ago).
    pub fn memory_full(&mut self, now: Millis) -> bool {
        if self
            .last
            .is_some_and(|at| now < at.saturating_add(SHED_EVERY_MS))
        {
            return false;
        }
        self.last = Some(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheds_at_most_once_a_second() {
        let mut shedding = Shedding::new();
        assert!(shedding.memory_full(5_000));
        assert!(!shedding.memory_full(5_000));
        assert!(!shedding.memory_full(5_999));
        assert!(shedding.memory_full(6_000));
        assert!(!shedding.memory_full(6_500));
    }
}
