//! [`Streams`]: how many long-lived connections — WebSocket sessions and change feeds —
//! each caller holds open, under `--max-streams-per-caller`. Without it one address
//! opened all 5,000 feeds and 3,192 idle sockets in 22 s, and every other caller got
//! 503 while `/health` still answered (eighth attack, E21, E22). Mesh peers that present
//! the mesh token are not counted.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::limits::Who;

/// The streams each caller holds open, and how many it may.
#[derive(Debug)]
pub struct Streams {
    max: usize,
    open: Mutex<HashMap<Who, usize>>,
}

impl Streams {
    /// At most `max` streams per caller.
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            max,
            open: Mutex::new(HashMap::new()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Who, usize>> {
        // Nothing panics while holding it; the counts stay sound.
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A place for one more stream of `who`, held until the [`StreamSlot`] is dropped; `Err`
    /// names the limit.
    pub fn open(self: &Arc<Self>, who: &Who) -> Result<StreamSlot, String> {
        let mut open = self.lock();
        let count = open.entry(who.clone()).or_default();
        if *count >= self.max {
            return Err(format!(
                "{who} already holds {} WebSockets and change feeds open on this relay, the limit (--max-streams-per-caller); close some first",
                self.max
            ));
        }
        *count += 1;
        Ok(StreamSlot {
            streams: self.clone(),
            who: who.clone(),
        })
    }

    /// Callers holding at least one stream.
    pub fn callers(&self) -> usize {
        self.lock().len()
    }
}

/// One open stream's place; dropping it frees the place.
#[derive(Debug)]
pub struct StreamSlot {
    streams: Arc<Streams>,
    who: Who,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.streams.lock();
        if let Some(count) = open.get_mut(&self.who) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.who);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_caller_gets_its_own_places_and_gets_them_back() {
        let streams = Streams::new(2);
        let (a, b) = (Who::Subject("a".into()), Who::Subject("b".into()));
        let first = streams.open(&a).unwrap();
        let _second = streams.open(&a).unwrap();
        let why = streams.open(&a).unwrap_err();
        assert!(why.contains("--max-streams-per-caller"), "{why}");
        let _other = streams.open(&b).expect("another caller is not affected");
        drop(first);
        let _again = streams.open(&a).expect("a place freed");
        drop(_again);
        drop(_second);
        drop(_other);
        assert_eq!(
            streams.callers(),
            0,
            "nothing kept for callers holding nothing"
        );
    }
}
