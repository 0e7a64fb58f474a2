//! [`Subscribers`]: how many change feeds (SSE streams) are open, per relay and per run,
//! under caps set by flags. Each stream holds a memory-resident run and a task; without
//! a cap a client could open them until the relay runs out of descriptors or memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use runmesh_core::RunId;

/// Why a new stream is refused (503: retry later).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Full {
    /// The relay streams as many feeds as it may.
    #[error(
        "this relay already streams {max} change feeds, the limit (--max-sse-subscribers); retry later"
    )]
    Relay {
        /// The cap.
        max: usize,
    },
    /// The run has as many followers as it may.
    #[error(
        "run {run} already has {max} change-feed subscribers, the limit (--max-sse-subscribers-per-run); retry later"
    )]
    Run {
        /// The run.
        run: RunId,
        /// The cap.
        max: usize,
    },
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    per_run: HashMap<RunId, usize>,
}

/// The open change feeds and their caps.
#[derive(Debug, Clone)]
pub struct Subscribers {
    counts: Arc<Mutex<Counts>>,
    max_total: usize,
    max_per_run: usize,
}

impl Subscribers {
    /// No feed open; at most `max_total` at once, `max_per_run` on one run.
    pub fn new(max_total: usize, max_per_run: usize) -> Self {
        Self {
            counts: Arc::default(),
            max_total,
            max_per_run,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Counts> {
        self.counts
            .lock()
            .expect("the counts are updated without panicking")
    }

    /// A place for one more feed of `run`, held until the [`Subscription`] is dropped.
    pub fn join(&self, run: RunId) -> Result<Subscription, Full> {
        let mut counts = self.lock();
        if counts.total >= self.max_total {
            return Err(Full::Relay {
                max: self.max_total,
            });
        }
        let on_run = counts.per_run.entry(run).or_default();
        if *on_run >= self.max_per_run {
            return Err(Full::Run {
                run,
                max: self.max_per_run,
            });
        }
        *on_run += 1;
        counts.total += 1;
        Ok(Subscription {
            subscribers: self.clone(),
            run,
        })
    }

    /// How many feeds are open.
    pub fn total(&self) -> usize {
        self.lock().total
    }
}

/// One open feed's place; dropping it frees the place.
#[derive(Debug)]
pub struct Subscription {
    subscribers: Subscribers,
    run: RunId,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut counts = self.subscribers.lock();
        counts.total -= 1;
        if let Some(on_run) = counts.per_run.get_mut(&self.run) {
            *on_run -= 1;
            if *on_run == 0 {
                counts.per_run.remove(&self.run);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_capped_per_run_and_in_all_and_freed_on_drop() {
        let subscribers = Subscribers::new(3, 2);
        let (a, b) = (RunId::random(), RunId::random());
        let first = subscribers.join(a).unwrap();
        let _second = subscribers.join(a).unwrap();
        assert_eq!(
            subscribers.join(a).unwrap_err(),
            Full::Run { run: a, max: 2 }
        );
        let _third = subscribers.join(b).unwrap();
        assert_eq!(subscribers.join(b).unwrap_err(), Full::Relay { max: 3 });
        drop(first);
        assert_eq!(subscribers.total(), 2);
        let _again = subscribers.join(a).unwrap();
        assert!(
            subscribers
                .join(b)
                .unwrap_err()
                .to_string()
                .contains("--max-sse-subscribers")
        );
    }
}
