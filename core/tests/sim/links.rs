//! The world's connections: sending with delays and duplicates, breaking, and dialling
//! (relays redial each other, clients their relay, each with [`Backoff`]).

use std::time::Duration;

use rand::Rng;
use runmesh_core::Backoff;
use runmesh_core::node::{Overflow, overflow};
use runmesh_core::sync::WireMessage;

use crate::net::{Conn, End, Event};
use crate::world::World;

/// Frames a relay lets wait for one peer before it cuts the peer off as too slow.
const PEER_QUEUE: usize = 12;

fn backoff() -> Backoff {
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
        c.in_flight[dir] += 1;
        c.sent[dir] += 1;
        if matches!(from, End::Relay(_)) && c.in_flight[dir] > PEER_QUEUE {
            // A frame the peer's queue cannot take, as the relay's shell treats it.
            c.in_flight[dir] -= 1;
            let message = WireMessage::decode(&frame, usize::MAX);
            if message.is_ok_and(|m| overflow(&m) == Overflow::Drop) {
                self.counts.dropped += 1;
                return;
            }
            self.counts.evictions += 1;
            let _ = self.cut(conn);
            return;
        }
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
            c.in_flight[dir] += 1;
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
                if self.relays[key.0].up
                    && !self.relays[key.0].has_peer(self.relays[key.1].peer_id())
                    && self.standing_by.remove(&key)
                {
                    self.schedule.at(
                        self.now,
                        Event::Dial {
                            from: key.0,
                            to: key.1,
                        },
                    );
                }
            }
        }
        Ok(())
    }

    pub(crate) fn redial(&mut self, pair: (usize, usize)) {
        let failures = self.mesh_failures.entry(pair).or_default();
        *failures += 1;
        let wait = backoff().delay(*failures, self.rng.random());
        let at = self.now + wait.as_millis() as u64;
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
        if self.mesh_conn.contains_key(&pair) || self.standing_by.contains(&pair) {
            return Ok(());
        }
        let pair_key = (from.min(to), from.max(to));
        let reachable =
            self.relays[from].up && self.relays[to].up && !self.partitioned.contains(&pair_key);
        if !reachable {
            if self.relays[from].up {
                self.redial(pair);
            }
            return Ok(());
        }
        self.mesh_failures.insert(pair, 0);
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
