//! [`Table`]: governor's keyed state with a ceiling on how many callers it remembers.
//!
//! governor's own keyed stores grow by one entry per key ever seen until someone calls
//! `retain_recent`; a caller who invents a new key per request (40,000 made-up 4 KB user
//! names left 166 MB in use) grows them without bound. This one never holds more than
//! `max` keys, and stores a key only when its request is allowed: a refused request
//! leaves nothing behind.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};

use governor::nanos::Nanos;
use governor::state::StateStore;
use governor::state::keyed::ShrinkableKeyedStateStore;

/// The rate-limiting state of at most `max` keys: each key's theoretical arrival time.
#[derive(Debug)]
pub(crate) struct Table<K> {
    arrivals: Arc<Mutex<HashMap<K, u64>>>,
    max: usize,
}

impl<K> Clone for Table<K> {
    fn clone(&self) -> Self {
        Self {
            arrivals: self.arrivals.clone(),
            max: self.max,
        }
    }
}

impl<K: Hash + Eq + Clone> Table<K> {
    /// An empty table that remembers at most `max` keys.
    pub(crate) fn new(max: usize) -> Self {
        Self {
            arrivals: Arc::default(),
            max,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<K, u64>> {
        self.arrivals
            .lock()
            .expect("rate table lock is never poisoned")
    }

    /// Whether `key` has (or can get) an entry.
    pub(crate) fn admits(&self, key: &K) -> bool {
        let arrivals = self.lock();
        arrivals.len() < self.max || arrivals.contains_key(key)
    }

    /// Keys held.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }
}

impl<K: Hash + Eq + Clone> StateStore for Table<K> {
    type Key = K;

    fn measure_and_replace<T, F, E>(&self, key: &K, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        // The lock is held across `f` (a few arithmetic operations), so no compare-and-swap
        // loop is needed.
        let mut arrivals = self.lock();
        let previous = arrivals.get(key).copied();
        let (allowed, arrival) = f(previous.map(Nanos::from))?;
        if let Some(slot) = arrivals.get_mut(key) {
            *slot = arrival.into();
        } else if arrivals.len() < self.max {
            arrivals.insert(key.clone(), arrival.into());
        }
        // Else a caller raced past `admits` into a full table: it is let through once
        // without being remembered, and the ceiling holds.
        Ok(allowed)
    }
}

impl<K: Hash + Eq + Clone> ShrinkableKeyedStateStore<K> for Table<K> {
    fn retain_recent(&self, drop_below: Nanos) {
        // An arrival time at or before `drop_below` is a full bucket: the same as no entry.
        let drop_below = drop_below.as_u64();
        self.lock().retain(|_, arrival| *arrival > drop_below);
    }

    fn shrink_to_fit(&self) {
        self.lock().shrink_to_fit();
    }

    fn len(&self) -> usize {
        Table::len(self)
    }

    fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
}
