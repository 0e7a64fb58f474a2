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

/// The bytes of presence a run may pass on per second, all its copies counted (a message
/// to 40 peers counts 40 times). Presence past it is dropped, as presence may be: each
/// copy is made before any reader's queue is looked at, and 500 sockets sending within
/// their own allowance made 3.7 GB of copies (twelfth attack, E36).
pub const PRESENCE_FANOUT_BYTES_PER_SEC: usize = 4 * 1024 * 1024;

/// What a run passed on of presence in the current second.
#[derive(Debug, Default)]
pub(crate) struct Fanout {
    second: u64,
    bytes: usize,
}

impl Fanout {
    /// Whether `bytes` more of copies fit this second (at `now`, in ms); counts them if so.
    pub(crate) fn spend(&mut self, now: u64, bytes: usize) -> bool {
        let second = now / 1000;
        if self.second != second {
            *self = Self { second, bytes: 0 };
        }
        if self.bytes.saturating_add(bytes) > PRESENCE_FANOUT_BYTES_PER_SEC {
            return false;
        }
        self.bytes += bytes;
        true
    }
}

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
    fn a_run_passes_on_so_many_bytes_of_presence_a_second() {
        let mut fanout = Fanout::default();
        assert!(fanout.spend(1_000, PRESENCE_FANOUT_BYTES_PER_SEC - 10));
        assert!(!fanout.spend(1_500, 11), "past the second's allowance");
        assert!(fanout.spend(1_999, 10));
        assert!(fanout.spend(2_000, 11), "a new second");
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
