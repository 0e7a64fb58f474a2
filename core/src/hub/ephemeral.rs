//! [`Echoes`]: which ephemeral messages a hub has already passed on.
//!
//! Relays pass ephemeral messages (presence, cursors) to every other peer of the run,
//! mesh links included, so they cross a line of relays; in a mesh with a cycle the same
//! message would then come round again, forever. Each message carries its sender's
//! session id and a count that grows within the session, as automerge-repo sends them:
//! a hub passes on each (sender, session, count) once. The sender is part of the key: a
//! session id is no secret (every peer of the run sees it), and keyed by it alone, one
//! message naming another peer's session with a huge count silenced that peer's
//! presence (eleventh attack, E35). A client speaks only for itself (the relay names
//! it), so it can only silence its own sessions.

use std::collections::{BTreeMap, VecDeque};

/// Sessions remembered per run; the oldest is forgotten first.
const SESSIONS: usize = 256;

/// The highest count passed on per ephemeral session.
#[derive(Debug, Default)]
pub(crate) struct Echoes {
    highest: BTreeMap<(String, String), u64>,
    order: VecDeque<(String, String)>,
}

impl Echoes {
    /// Whether message `count` of `sender`'s `session` is new (and so to pass on).
    pub(crate) fn first_time(&mut self, sender: &str, session: &str, count: u64) -> bool {
        let key = (sender.to_owned(), session.to_owned());
        match self.highest.get_mut(&key) {
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
                self.order.push_back(key.clone());
                self.highest.insert(key, count);
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
        assert!(echoes.first_time("p", "a", 1));
        assert!(!echoes.first_time("p", "a", 1), "the same message again");
        assert!(!echoes.first_time("p", "a", 0), "an older one");
        assert!(echoes.first_time("p", "a", 2));
        for i in 0..SESSIONS {
            assert!(echoes.first_time("q", &format!("s{i}"), 1));
        }
        assert!(
            echoes.first_time("p", "a", 2),
            "a was forgotten, the oldest"
        );
        assert!(!echoes.first_time("q", "s255", 1));
    }

    #[test]
    fn another_sender_naming_a_session_does_not_silence_it() {
        let mut echoes = Echoes::default();
        assert!(echoes.first_time("victim", "s", 1));
        assert!(echoes.first_time("attacker", "s", u64::MAX));
        assert!(
            echoes.first_time("victim", "s", 2),
            "the victim still speaks"
        );
    }
}
