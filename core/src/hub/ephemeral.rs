//! [`Echoes`]: which ephemeral messages a hub has already passed on.
//!
//! Relays pass ephemeral messages (presence, cursors) to every other peer of the run,
//! mesh links included, so they cross a line of relays; in a mesh with a cycle the same
//! message would then come round again, forever. Each message carries its sender's
//! session id and a count that grows within the session, as automerge-repo sends them:
//! a hub passes on each (session, count) once.

use std::collections::{BTreeMap, VecDeque};

/// Sessions remembered per run; the oldest is forgotten first.
const SESSIONS: usize = 256;

/// The highest count passed on per ephemeral session.
#[derive(Debug, Default)]
pub(crate) struct Echoes {
    highest: BTreeMap<String, u64>,
    order: VecDeque<String>,
}

impl Echoes {
    /// Whether message `count` of `session` is new (and so to pass on).
    pub(crate) fn first_time(&mut self, session: &str, count: u64) -> bool {
        match self.highest.get_mut(session) {
            Some(highest) if *highest >= count => false,
            Some(highest) => {
                *highest = count;
                true
            }
            None => {
                if self.order.len() >= SESSIONS
                    && let Some(oldest) = self.order.pop_front()
                {
                    self.highest.remove(&oldest);
                }
                self.order.push_back(session.to_owned());
                self.highest.insert(session.to_owned(), count);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_count_passes_once_and_old_sessions_are_forgotten() {
        let mut echoes = Echoes::default();
        assert!(echoes.first_time("a", 1));
        assert!(!echoes.first_time("a", 1), "the same message again");
        assert!(!echoes.first_time("a", 0), "an older one");
        assert!(echoes.first_time("a", 2));
        for i in 0..SESSIONS {
            assert!(echoes.first_time(&format!("s{i}"), 1));
        }
        assert!(echoes.first_time("a", 2), "a was forgotten, the oldest");
        assert!(!echoes.first_time("s255", 1));
    }
}
