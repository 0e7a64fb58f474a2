//! The world's connections: sending with delays and duplicates, breaking, and dialling
//! (relays redial each other, clients their relay, each with [`Backoff`]).

use std::time::Duration;

use rand::Rng;
use runmesh_core::Backoff;
use runmesh_core::node::{Overflow, has_room, overflow};
use runmesh_core::sync::WireMessage;

use crate::net::{Conn, End, Event};
use crate::world::World;

/// Bytes a relay lets wait for one peer besides one frame before it cuts the peer off
/// as too slow (the relay's caps, scaled to the simulation's small runs).
const PEER_QUEUE_BYTES: usize = 16 * 1024;

pub(crate) fn backoff() -> Backoff {
    Backoff::new(Duration::from_millis(50), Duration::from_millis(800))
}

impl World {
    /// Sends `frame` from `from` on `conn`.
    pub fn send(&mut self, conn: u64, from: End, frame: Vec<u8>) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if !c.up {
            return;
        }
        let dir = c.dir(from);
        let len = frame.len();
        if matches!(from, End::Relay(_)) {
            // The relay's rule for a peer's queue: room, or the frame's overflow.
            let overflows =
                WireMessage::decode(&frame, usize::MAX).map_or(Overflow::CutOff, |m| overflow(&m));
            if !has_room(overflows, c.in_flight[dir], len, PEER_QUEUE_BYTES) {
                if overflows == Overflow::Drop {
                    self.counts.dropped += 1;
                } else {
                    self.counts.evictions += 1;
                    let _ = self.cut(conn);
                }
                return;
            }
        }
        c.in_flight[dir] += len;
        c.sent[dir] += 1;
        let slow = self.rng.random_bool(0.02);
        let delay = if slow {
            self.rng.random_range(50..300)
        } else {
            self.rng.random_range(1..30)
        };
        let due = c.due(dir, self.now, delay);
        let twice = c.sent[dir] > 1 && self.rng.random_range(0..100) < self.plan.duplicate;
        if twice {
            self.counts.duplicated += 1;
            c.in_flight[dir] += len;
            let copy = frame.clone();
            self.schedule.at(due, Event::Deliver { conn, dir, frame });
            self.schedule.at(
                due,
                Event::Deliver {
                    conn,
                    dir,
                    frame: copy,
                },
            );
        } else {
            self.schedule.at(due, Event::Deliver { conn, dir, frame });
        }
    }

    /// Breaks `conn`: both ends see it close.
    pub fn cut(&mut self, conn: u64) -> Result<(), String> {
        let Some(c) = self.conns.get_mut(&conn) else {
            return Ok(());
        };
        if !c.up {
            return Ok(());
        }
        c.up = false;
        self.counts.broken_connections += 1;
        let ends = c.ends;
        for end in ends {
            match end {
                End::Relay(r) => {
                    if self.relays[r].up {
                        let mut out = Vec::new();
                        self.relays[r].closed(self.now, conn, &mut out);
                        self.apply(r, out)?;
                    }
                }
                End::Client(i) => {
                    let client = &mut self.clients[i];
                    client.handle(runmesh_core::client::ClientInput::Closed);
                    client.conn = None;
                    if client.online {
                        client.failures += 1;
                        let wait = backoff().delay(client.failures, self.rng.random());
                        let at = self.now + wait.as_millis() as u64;
                        self.schedule.at(at, Event::Connect { client: i });
                    }
                }
            }
        }
        if let [End::Relay(a), End::Relay(b)] = ends {
            let dialled = self
                .mesh_conn
                .iter()
                .find(|(_, c)| **c == conn)
                .map(|(k, _)| *k);
            if let Some(key) = dialled {
                self.mesh_conn.remove(&key);
                self.redial(key);
            }
            // A link between the two went down: whoever stood by for it dials again (the
            // relay's dialer sees that it has no link to the peer any more).
            for key in [(a, b), (b, a)] {
                self.stood_by(key);
            }
        }
        Ok(())
    }

    /// If `pair`'s dialer stands by and the peer's link to it is gone, it dials again.
    pub(crate) fn stood_by(&mut self, (from, to): (usize, usize)) {
        let peer = self.relays[to].peer_id().clone();
        let gone = self.relays[from].up && !self.relays[from].has_peer(&peer);
        if let Some(dialer) = self.dialers.get_mut(&(from, to))
            && gone
            && dialer.standing_by().is_some()
        {
            let at = dialer.ended(self.now, self.rng.random());
            self.schedule.at(at, Event::Dial { from, to });
        }
    }

    /// `pair`'s link, which its dialer made, ended: it dials again (unless it stands by).
    pub(crate) fn redial(&mut self, pair: (usize, usize)) {
        let Some(dialer) = self.dialers.get_mut(&pair) else {
            return; // the relay is down; it makes new dialers when it restarts
        };
        if dialer.standing_by().is_some() {
            return;
        }
        let at = dialer.ended(self.now, self.rng.random());
        self.schedule.at(
            at,
            Event::Dial {
                from: pair.0,
                to: pair.1,
            },
        );
    }

    pub(crate) fn dial(&mut self, from: usize, to: usize) -> Result<(), String> {
        let pair = (from, to);
        let now = self.now;
        let Some(dialer) = self.dialers.get_mut(&pair) else {
            return Ok(()); // the relay is down
        };
        if !dialer.dial(now) {
            return Ok(()); // not due (an older wake-up), or linked, or standing by
        }
        let pair_key = (from.min(to), from.max(to));
        let reachable =
            self.relays[from].up && self.relays[to].up && !self.partitioned.contains(&pair_key);
        if !reachable {
            let at = dialer.failed(now, self.rng.random());
            self.schedule.at(at, Event::Dial { from, to });
            return Ok(());
        }
        dialer.linked();
        let conn = self.open(End::Relay(from), End::Relay(to));
        self.mesh_conn.insert(pair, conn);
        self.relays[to].accepted(conn);
        let join = self.relays[from].dialled(conn);
        self.send(conn, End::Relay(from), join);
        Ok(())
    }

    pub(crate) fn connect(&mut self, i: usize) -> Result<(), String> {
        let client = &self.clients[i];
        if client.conn.is_some() || !client.online {
            return Ok(());
        }
        let home = client.home;
        if !self.relays[home].up {
            let client = &mut self.clients[i];
            client.failures += 1;
            let wait = backoff().delay(client.failures, self.rng.random());
            let at = self.now + wait.as_millis() as u64;
            self.schedule.at(at, Event::Connect { client: i });
            return Ok(());
        }
        let conn = self.open(End::Client(i), End::Relay(home));
        self.relays[home].accepted(conn);
        let client = &mut self.clients[i];
        client.conn = Some(conn);
        let effects = client.handle(runmesh_core::client::ClientInput::Opened);
        self.perform(i, effects)
    }

    fn open(&mut self, from: End, to: End) -> u64 {
        self.next_conn += 1;
        self.conns.insert(self.next_conn, Conn::new(from, to));
        self.next_conn
    }
}
