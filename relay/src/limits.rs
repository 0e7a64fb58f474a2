//! Mutation rate limits: `--rate-limit-per-minute` changes per user on this relay (its
//! region), a token bucket per user (governor). Mesh peers are not limited: they carry
//! changes other relays already admitted.

use std::num::NonZeroU32;

use governor::clock::DefaultClock;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

/// Per-user limits on changes.
#[derive(Debug)]
pub struct MutationLimits {
    per_minute: NonZeroU32,
    limiter: RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock>,
}

/// Over the limit.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "rate limit: {user} may make {per_minute} changes per minute on this relay; try again in {retry_secs} s"
)]
pub struct Limited {
    /// Whose limit.
    pub user: String,
    /// The limit.
    pub per_minute: u32,
    /// When to try again.
    pub retry_secs: u64,
}

impl MutationLimits {
    /// `per_minute` changes per user, refilled evenly, with a whole minute's burst.
    pub fn new(per_minute: NonZeroU32) -> Self {
        Self {
            per_minute,
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute)),
        }
    }

    /// Takes `n` changes from `user`'s allowance, all or none.
    pub fn take(&self, user: &str, n: u32) -> Result<(), Limited> {
        let Some(n) = NonZeroU32::new(n) else {
            return Ok(());
        };
        let limited = |retry_secs| Limited {
            user: user.to_owned(),
            per_minute: self.per_minute.get(),
            retry_secs,
        };
        match self.limiter.check_key_n(&user.to_owned(), n) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => {
                let wait =
                    not_until.wait_time_from(governor::clock::Clock::now(&DefaultClock::default()));
                Err(limited(wait.as_secs().max(1)))
            }
            // More than a whole minute's allowance in one go.
            Err(_) => Err(limited(60)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_user_has_their_own_allowance_and_refusals_take_nothing() {
        let limits = MutationLimits::new(NonZeroU32::new(5).unwrap());
        assert!(limits.take("ada", 3).is_ok());
        let refused = limits.take("ada", 3).unwrap_err();
        assert_eq!(refused.per_minute, 5);
        assert!(
            refused
                .to_string()
                .starts_with("rate limit: ada may make 5 changes per minute")
        );
        assert!(
            limits.take("ada", 2).is_ok(),
            "the refused 3 were not taken"
        );
        assert!(limits.take("ada", 1).is_err());
        assert!(limits.take("bob", 5).is_ok(), "bob has his own");
        assert!(limits.take("bob", 6).is_err());
    }
}
