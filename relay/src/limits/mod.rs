//! Per-caller rate limits on this relay (its region), each a token bucket per caller
//! (governor's GCRA) with a whole minute's burst:
//! - changes (`--rate-limit-per-minute`), over REST and the WebSocket;
//! - reads (`--read-rate-limit-per-minute`), every authenticated GET;
//! - forks (`--fork-limit-per-minute`), each of which stores a whole new run.
//!
//! A caller is a token's subject, or in open mode the client's address ([`Who`]).
//! Each budget remembers at most `--rate-limit-max-callers` callers ([`table`]); a
//! refused request leaves no entry. Mesh peers are not limited: they carry changes other
//! relays already admitted.
//!
//! Each caller's share of the memory the runs in memory may use is kept here too
//! ([`holder`]).

mod holder;
mod streams;
mod table;
mod who;

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{Quota, RateLimiter};

pub use holder::{Holder, MemoryShares, sweep};
pub use streams::{StreamSlot, Streams};
use table::Table;
pub use who::{Who, client_ip};

/// A bucket refills completely within a minute: after that an entry is the same as none.
const REFILL_SECS: u64 = 60;

/// How the budgets are set (from [`crate::Config`]).
#[derive(Debug, Clone)]
pub struct LimitsConfig {
    /// Changes per caller per minute.
    pub changes_per_minute: NonZeroU32,
    /// Reads per caller per minute.
    pub reads_per_minute: NonZeroU32,
    /// Forks per caller per minute.
    pub forks_per_minute: NonZeroU32,
    /// Callers each budget remembers at most.
    pub max_callers: usize,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<IpAddr>,
}

/// The relay's budgets.
#[derive(Debug)]
pub struct Limits {
    /// Changes, over REST and the WebSocket.
    pub changes: Budget,
    /// Authenticated GETs.
    pub reads: Budget,
    /// Forks.
    pub forks: Budget,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<IpAddr>,
}

impl Limits {
    /// The budgets `config` sets.
    pub fn new(config: &LimitsConfig) -> Self {
        let max = config.max_callers;
        Self {
            changes: Budget::new(
                "changes",
                "rate-limit-per-minute",
                config.changes_per_minute,
                max,
            ),
            reads: Budget::new(
                "reads",
                "read-rate-limit-per-minute",
                config.reads_per_minute,
                max,
            ),
            forks: Budget::new(
                "forks",
                "fork-limit-per-minute",
                config.forks_per_minute,
                max,
            ),
            trusted_proxies: config.trusted_proxies.clone(),
        }
    }
}

/// One kind of allowance, per caller.
#[derive(Debug)]
pub struct Budget {
    what: &'static str,
    flag: &'static str,
    per_minute: NonZeroU32,
    max_callers: usize,
    table: Table<Who>,
    limiter: RateLimiter<Who, Table<Who>, DefaultClock>,
}

/// Over a limit: nothing of the request was taken or applied.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Limited {
    /// The caller's allowance is spent.
    #[error(
        "rate limit: {who} may make {per_minute} {what} per minute on this relay (--{flag}); try again in {retry_secs} s"
    )]
    Spent {
        /// Whose allowance.
        who: String,
        /// Changes, reads or forks.
        what: &'static str,
        /// The flag that sets it.
        flag: &'static str,
        /// The limit.
        per_minute: u32,
        /// When to try again.
        retry_secs: u64,
    },
    /// The relay already remembers as many callers as it may; one drops out within a
    /// minute.
    #[error(
        "rate limit: the relay already tracks the {what} allowances of {max} callers, its limit (--rate-limit-max-callers); try again in {retry_secs} s"
    )]
    Full {
        /// Changes, reads or forks.
        what: &'static str,
        /// The limit.
        max: usize,
        /// When to try again.
        retry_secs: u64,
    },
}

impl Limited {
    /// Seconds until a retry can succeed (`Retry-After`).
    pub fn retry_secs(&self) -> u64 {
        match self {
            Self::Spent { retry_secs, .. } | Self::Full { retry_secs, .. } => *retry_secs,
        }
    }
}

impl Budget {
    /// `per_minute` of `what` per caller (set by `--{flag}`), refilled evenly, for at
    /// most `max_callers` callers at once.
    pub fn new(
        what: &'static str,
        flag: &'static str,
        per_minute: NonZeroU32,
        max_callers: usize,
    ) -> Self {
        let table = Table::new(max_callers);
        let limiter = RateLimiter::new(
            Quota::per_minute(per_minute),
            table.clone(),
            DefaultClock::default(),
        );
        Self {
            what,
            flag,
            per_minute,
            max_callers,
            table,
            limiter,
        }
    }

    /// Takes `n` from `who`'s allowance, all or none.
    pub fn take(&self, who: &Who, n: u32) -> Result<(), Limited> {
        let Some(n) = NonZeroU32::new(n) else {
            return Ok(());
        };
        if !self.table.admits(who) {
            // Callers idle for a minute hold full buckets: forgetting them changes nothing.
            self.limiter.retain_recent();
            if self.table.len() <= self.max_callers / 2 {
                self.limiter.shrink_to_fit();
            }
            if !self.table.admits(who) {
                return Err(Limited::Full {
                    what: self.what,
                    max: self.max_callers,
                    retry_secs: REFILL_SECS,
                });
            }
        }
        let spent = |retry_secs| Limited::Spent {
            who: who.to_string(),
            what: self.what,
            flag: self.flag,
            per_minute: self.per_minute.get(),
            retry_secs,
        };
        match self.limiter.check_key_n(who, n) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                Err(spent(wait.as_secs().max(1)))
            }
            // More than a whole minute's allowance in one go.
            Err(_) => Err(spent(REFILL_SECS)),
        }
    }

    /// Callers remembered now (at most `max_callers`).
    pub fn callers(&self) -> usize {
        self.table.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(per_minute: u32, max_callers: usize) -> Budget {
        Budget::new(
            "changes",
            "rate-limit-per-minute",
            NonZeroU32::new(per_minute).unwrap(),
            max_callers,
        )
    }

    fn sub(name: &str) -> Who {
        Who::Subject(name.to_owned())
    }

    #[test]
    fn each_caller_has_their_own_allowance_and_refusals_take_nothing() {
        let limits = budget(5, 100);
        assert!(limits.take(&sub("ada"), 3).is_ok());
        let refused = limits.take(&sub("ada"), 3).unwrap_err();
        assert!(
            refused.to_string().starts_with(
                "rate limit: ada may make 5 changes per minute on this relay (--rate-limit-per-minute)"
            ),
            "{refused}"
        );
        assert!(
            limits.take(&sub("ada"), 2).is_ok(),
            "the refused 3 were not taken"
        );
        assert!(limits.take(&sub("ada"), 1).is_err());
        assert!(limits.take(&sub("bob"), 5).is_ok(), "bob has his own");
        assert!(limits.take(&sub("bob"), 6).is_err());
    }

    #[test]
    fn the_table_never_holds_more_callers_than_its_ceiling() {
        let limits = budget(5, 64);
        for i in 0..10_000u32 {
            let who = Who::Address(IpAddr::from(i.to_be_bytes()));
            let _ = limits.take(&who, 1);
            assert!(limits.callers() <= 64, "{} callers", limits.callers());
        }
        assert_eq!(limits.callers(), 64);
        // A new caller while every remembered one is recent: refused, naming the limit…
        let full = limits.take(&sub("late"), 1).unwrap_err();
        assert!(
            full.to_string()
                .contains("64 callers, its limit (--rate-limit-max-callers)"),
            "{full}"
        );
        assert_eq!(full.retry_secs(), 60);
        // …while the ones it remembers keep their allowance.
        assert!(
            limits
                .take(&Who::Address(IpAddr::from([0, 0, 0, 1])), 1)
                .is_ok()
        );
    }

    #[test]
    fn a_refused_request_leaves_no_entry() {
        let limits = budget(5, 64);
        for i in 0..1000 {
            // Each asks for more than a minute's allowance.
            assert!(limits.take(&sub(&format!("greedy{i}")), 6).is_err());
        }
        assert_eq!(limits.callers(), 0);
    }
}
