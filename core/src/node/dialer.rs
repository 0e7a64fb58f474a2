//! [`Dialer`]: one configured peer URL's dialling, sans-IO. It says when to dial, and
//! what each outcome means: a failure waits longer each time ([`Backoff`]); a link that
//! came up resets the count and, once it ends, the next dial waits one first step; a
//! dial that lost the tie-break to the peer's own link to us stands by while that link
//! lives, then dials again the same way.

use crate::Backoff;
use crate::hub::Millis;
use crate::sync::PeerId;

/// Where a dialer is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dial {
    /// To dial at this time.
    Due(Millis),
    /// Dialling now.
    Dialling,
    /// Our link to the peer is up.
    Linked,
    /// The peer's link to us is the one both sides keep: waiting while it lives.
    StandingBy(PeerId),
}

/// One peer URL's dialling.
#[derive(Debug, Clone)]
pub struct Dialer {
    backoff: Backoff,
    failures: u32,
    state: Dial,
}

impl Dialer {
    /// A dialer that dials at `now`.
    pub fn new(backoff: Backoff, now: Millis) -> Self {
        Self {
            backoff,
            failures: 0,
            state: Dial::Due(now),
        }
    }

    /// Where it is.
    pub fn state(&self) -> &Dial {
        &self.state
    }

    /// Failed attempts in a row.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// When it dials next, if it is waiting to.
    pub fn next_dial(&self) -> Option<Millis> {
        match self.state {
            Dial::Due(at) => Some(at),
            _ => None,
        }
    }

    /// Whether to dial at `now` (it then dials until told how that went).
    pub fn dial(&mut self, now: Millis) -> bool {
        match self.state {
            Dial::Due(at) if now >= at => {
                self.state = Dial::Dialling;
                true
            }
            _ => false,
        }
    }

    /// The dial failed at `now`: it dials again after a longer wait (`unit`: a random
    /// number in [0, 1] for the jitter). Returns when.
    pub fn failed(&mut self, now: Millis, unit: f64) -> Millis {
        self.failures = self.failures.saturating_add(1);
        self.wait(now, unit)
    }

    /// The link came up.
    pub fn linked(&mut self) {
        self.failures = 0;
        self.state = Dial::Linked;
    }

    /// The link came up but lost the tie-break to `peer`'s link to us: stand by.
    pub fn stand_by(&mut self, peer: PeerId) {
        self.failures = 0;
        self.state = Dial::StandingBy(peer);
    }

    /// The peer it stands by for, if it does.
    pub fn standing_by(&self) -> Option<&PeerId> {
        match &self.state {
            Dial::StandingBy(peer) => Some(peer),
            _ => None,
        }
    }

    /// The link ended at `now` (ours, or the peer's one we stood by for): it dials again
    /// after one first step. Returns when.
    pub fn ended(&mut self, now: Millis, unit: f64) -> Millis {
        self.failures = 1;
        self.wait(now, unit)
    }

    fn wait(&mut self, now: Millis, unit: f64) -> Millis {
        let delay = self.backoff.delay(self.failures, unit).as_millis();
        let at = now.saturating_add(u64::try_from(delay).unwrap_or(u64::MAX));
        self.state = Dial::Due(at);
        at
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn dialer() -> Dialer {
        let backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(400));
        Dialer::new(backoff, 0)
    }

    #[test]
    fn failures_wait_longer_each_time_up_to_the_cap_and_a_link_resets_them() {
        let mut d = dialer();
        assert!(d.dial(0));
        assert!(!d.dial(0), "dialling already");
        assert_eq!(d.failed(0, 1.0), 100);
        assert!(!d.dial(99));
        assert!(d.dial(100));
        assert_eq!(d.failed(100, 1.0), 300);
        assert!(d.dial(300));
        assert_eq!(d.failed(300, 1.0), 700);
        assert!(d.dial(700));
        assert_eq!(d.failed(700, 1.0), 1100, "capped at 400");
        assert!(d.dial(1100));
        d.linked();
        assert_eq!((d.state(), d.failures()), (&Dial::Linked, 0));
        assert_eq!(d.next_dial(), None);
        assert_eq!(d.ended(5_000, 0.0), 5_050, "half a first step, at least");
    }

    #[test]
    fn a_dial_that_lost_the_tie_break_stands_by_then_dials_again() {
        let mut d = dialer();
        assert!(d.dial(0));
        d.stand_by(PeerId::from("b"));
        assert_eq!(d.standing_by(), Some(&PeerId::from("b")));
        assert!(!d.dial(10_000), "standing by");
        assert_eq!(d.ended(10_000, 1.0), 10_100);
        assert_eq!(d.standing_by(), None);
        assert!(d.dial(10_100));
    }
}
