//! Who else is on a run: each open tab announces itself through ephemeral messages every
//! few seconds; an entry not heard from for [`EXPIRES_MS`] is dropped.

/// How often a tab announces itself.
pub const ANNOUNCE_MS: u32 = 5_000;
/// How long an announcement counts.
pub const EXPIRES_MS: f64 = 15_000.0;

/// What a tab announces.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Announce {
    /// The user's name.
    pub user: String,
    /// The region they write from.
    pub region: String,
}

/// A peer seen on the run.
#[derive(Clone, Debug, PartialEq)]
pub struct Seen {
    /// The peer id (one per tab).
    pub peer: String,
    /// Its last announcement.
    pub who: Announce,
    /// When it was heard, in ms.
    pub at: f64,
}

/// The peers heard from recently, one entry per peer id. A list, not a map: a run has a
/// handful of tabs open, and a `BTreeMap` keyed by `String` cost the app about 2 KB gzip.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PresenceBook {
    peers: Vec<Seen>,
}

impl PresenceBook {
    /// Records an announcement heard at `now`.
    pub fn heard(&mut self, peer: &str, who: Announce, now: f64) {
        match self.peers.iter_mut().find(|s| s.peer == peer) {
            Some(seen) => {
                seen.who = who;
                seen.at = now;
            }
            None => self.peers.push(Seen {
                peer: peer.to_owned(),
                who,
                at: now,
            }),
        }
    }

    /// Drops peers not heard from since `now - EXPIRES_MS`; true if any went.
    pub fn expire(&mut self, now: f64) -> bool {
        let before = self.peers.len();
        self.peers.retain(|s| now - s.at < EXPIRES_MS);
        self.peers.len() != before
    }

    /// The peers, by user name then peer id.
    pub fn list(&self) -> Vec<Seen> {
        let mut list = self.peers.clone();
        list.sort_by(|a, b| (&a.who.user, &a.peer).cmp(&(&b.who.user, &b.peer)));
        list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(user: &str) -> Announce {
        Announce {
            user: user.into(),
            region: "eu".into(),
        }
    }

    #[test]
    fn peers_are_listed_by_name_and_expire() {
        let mut book = PresenceBook::default();
        book.heard("p2", who("zoe"), 0.0);
        book.heard("p1", who("ada"), 10_000.0);
        assert_eq!(
            book.list()
                .iter()
                .map(|s| s.who.user.as_str())
                .collect::<Vec<_>>(),
            ["ada", "zoe"]
        );
        assert!(!book.expire(14_999.0));
        assert!(book.expire(15_000.0), "zoe was last heard at 0");
        assert_eq!(book.list().len(), 1);
        book.heard("p1", who("ada"), 20_000.0);
        assert!(!book.expire(34_000.0), "a new announcement renews");
    }
}
