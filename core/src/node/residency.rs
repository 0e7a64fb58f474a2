//! [`Residency`]: when a run leaves memory. A run that people use stays until it has
//! been idle for the long period (`--idle-unload-secs`); one that only other relays
//! touched since it was loaded, or that nobody has made, leaves after the short one
//! (`--mesh-idle-unload-ms`): a catch-up that walks through 100,000 runs, or requests
//! for made-up runs, must not hold them all. Leaving also needs the run's hub to be idle
//! (nothing unstored, no peer in sync) and nobody following it; a run that is due but
//! busy starts a new period.

use crate::hub::Millis;

/// How long a run stays in memory after it was last used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdlePeriods {
    /// For a run a client, a follower or a REST call used since it was loaded.
    pub used: Millis,
    /// For a run only other relays touched, or that nobody made.
    pub untouched: Millis,
}

/// One loaded run's clock for leaving memory.
#[derive(Debug, Clone)]
pub struct Residency {
    periods: IdlePeriods,
    /// When the current idle period started.
    since: Millis,
    /// A client or a REST call used the run since it was loaded.
    used_here: bool,
}

impl Residency {
    /// A run loaded at `now`.
    pub fn new(now: Millis, periods: IdlePeriods) -> Self {
        Self {
            periods,
            since: now,
            used_here: false,
        }
    }

    /// A batch was handled at `now`; `here`: a client or a REST call was in it, not
    /// only other relays.
    pub fn used(&mut self, now: Millis, here: bool) {
        self.since = now;
        self.used_here |= here;
    }

    /// Whether only other relays have touched the run since it was loaded (`followed`:
    /// someone follows its changes, which counts as a use).
    pub fn mesh_only(&self, followed: bool) -> bool {
        !self.used_here && !followed
    }

    /// When the run may leave memory. `made`: the run exists here; `followed`: someone
    /// follows its changes.
    pub fn leaves_at(&self, made: bool, followed: bool) -> Millis {
        let period = if self.mesh_only(followed) || !made {
            self.periods.untouched
        } else {
            self.periods.used
        };
        self.since.saturating_add(period)
    }

    /// At a wake-up at `now`: whether the run leaves memory now. `idle`: its hub is idle
    /// and nobody follows it. A run that is due but not idle starts a new period.
    pub fn wake(&mut self, now: Millis, made: bool, followed: bool, idle: bool) -> bool {
        let due = now >= self.leaves_at(made, followed);
        if due {
            self.since = now;
        }
        due && idle
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERIODS: IdlePeriods = IdlePeriods {
        used: 30_000,
        untouched: 2_000,
    };

    #[test]
    fn a_run_only_other_relays_touched_leaves_after_the_short_period() {
        let mut r = Residency::new(100, PERIODS);
        r.used(500, false);
        assert_eq!(r.leaves_at(true, false), 2_500);
        assert!(!r.wake(2_499, true, false, true));
        assert!(r.wake(2_500, true, false, true));
    }

    #[test]
    fn a_run_used_here_stays_for_the_long_period_unless_nobody_made_it() {
        let mut r = Residency::new(0, PERIODS);
        r.used(1_000, true);
        r.used(2_000, false); // a later mesh message does not shorten it
        assert_eq!(r.leaves_at(true, false), 32_000);
        assert_eq!(r.leaves_at(false, false), 4_000, "a made-up run");
        let followed = Residency::new(0, PERIODS);
        assert_eq!(followed.leaves_at(true, true), 30_000);
    }

    #[test]
    fn a_due_run_that_is_busy_stays_and_starts_a_new_period() {
        let mut r = Residency::new(0, PERIODS);
        assert!(!r.wake(2_000, true, false, false));
        assert_eq!(r.leaves_at(true, false), 4_000);
        assert!(!r.wake(3_999, true, false, true));
        assert!(r.wake(4_000, true, false, true));
    }
}
