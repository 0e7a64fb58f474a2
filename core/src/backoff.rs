//! [`Backoff`]: how long to wait before dialling again, for everything that redials a
//! relay (the relay's mesh dialers, the browser app, the npm client's callers).

use std::time::Duration;

/// Exponential backoff with jitter: the step doubles from `first` up to `cap`, and each
/// wait is between half and all of its step, so peers that lost the same relay at the
/// same moment do not all come back in step ("equal jitter").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    first: Duration,
    cap: Duration,
}

impl Backoff {
    /// Steps from `first`, doubling, never above `cap` (at least `first`).
    pub const fn new(first: Duration, cap: Duration) -> Self {
        let cap = if cap.as_nanos() < first.as_nanos() {
            first
        } else {
            cap
        };
        Self { first, cap }
    }

    /// The wait before the next attempt after `failures` failed ones in a row (1 after
    /// the first failure), given `unit`, a random number in [0, 1] (clamped).
    pub fn delay(&self, failures: u32, unit: f64) -> Duration {
        let doublings = failures.saturating_sub(1).min(20);
        let step = self.first.saturating_mul(1 << doublings).min(self.cap);
        step / 2 + step.mul_f64(unit.clamp(0.0, 1.0) / 2.0)
    }

    /// The longest wait there can be.
    pub fn cap(&self) -> Duration {
        self.cap
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn the_step_doubles_to_the_cap_and_each_wait_is_half_to_all_of_it() {
        let backoff = Backoff::new(250 * MS, 10_000 * MS);
        assert_eq!(backoff.delay(1, 0.0), 125 * MS);
        assert_eq!(backoff.delay(1, 1.0), 250 * MS);
        assert_eq!(backoff.delay(4, 0.5), 1_500 * MS);
        assert_eq!(backoff.delay(30, 1.0), 10_000 * MS);
        assert_eq!(backoff.delay(30, 0.0), 5_000 * MS);
        assert_eq!(backoff.delay(u32::MAX, 7.0), 10_000 * MS, "unit is clamped");
    }

    #[test]
    fn a_cap_below_the_first_step_is_the_first_step() {
        let backoff = Backoff::new(100 * MS, MS);
        assert_eq!(backoff.cap(), 100 * MS);
        assert_eq!(backoff.delay(5, 1.0), 100 * MS);
    }
}
