//! The world and its relays: a frame delivered to a relay, what a relay asks for done
//! (frames sent, writes stored late or failed, loads answered), an operation, a crash
//! and restart from the store, another relay's write seen through the shared store.

use rand::Rng;
use runmesh_core::DocumentId;
use runmesh_core::hub::RunOp;

use std::hash::Hash;

use super::{LOST_NOTIFICATIONS, Storage, World};
use crate::net::{End, Event};
use crate::relay::Out;

impl World {
    pub(super) fn deliver(&mut self, conn: u64, dir: usize, frame: &[u8]) -> Result<(), String> {
        let Some(c) = self.conns.get_mut(&conn) else {
            return Ok(());
        };
        if !c.up {
            return Ok(());
        }
        c.in_flight[dir] -= frame.len();
        self.counts.frames += 1;
        frame.len().hash(&mut self.trace);
        if self.log {
            let m = runmesh_core::sync::WireMessage::decode(frame, usize::MAX).unwrap();
            let detail = match &m {
                runmesh_core::sync::WireMessage::Sync { data, .. }
                | runmesh_core::sync::WireMessage::Request { data, .. } => {
                    let s = runmesh_core::sync::decode_message(data).unwrap();
                    format!(
                        "heads {:?} changes {} need {}",
                        s.heads
                            .iter()
                            .map(|h| h.to_string()[..6].to_owned())
                            .collect::<Vec<_>>(),
                        s.changes.len(),
                        s.need.len()
                    )
                }
                _ => String::new(),
            };
            eprintln!(
                "{} conn {conn} {:?}->{:?} {} {detail}",
                self.now,
                c.ends[dir],
                c.ends[1 - dir],
                m.kind()
            );
        }
        match c.ends[1 - dir] {
            End::Relay(r) => {
                if !self.relays[r].up {
                    return Ok(());
                }
                let mut out = Vec::new();
                self.relays[r].on_frame(self.now, conn, frame, &mut out);
                self.apply(r, out)
            }
            End::Client(i) => {
                let effects =
                    self.clients[i].handle(runmesh_core::client::ClientInput::Frame(frame));
                self.perform(i, effects)
            }
        }
    }

    /// Performs what relay `r` asked for.
    pub fn apply(&mut self, r: usize, out: Vec<Out>) -> Result<(), String> {
        for out in out {
            match out {
                Out::Frame { conn, frame } => self.send(conn, End::Relay(r), frame),
                Out::Write { doc, persist } => {
                    let at = self.now + self.rng.random_range(1..15);
                    let epoch = self.relays[r].epoch;
                    let written = Event::Written {
                        relay: r,
                        epoch,
                        doc,
                        persist,
                    };
                    self.schedule.at(at, written);
                }
                Out::Wake { doc, at } => {
                    let epoch = self.relays[r].epoch;
                    let wake = Event::Wake {
                        relay: r,
                        epoch,
                        doc,
                    };
                    self.schedule.at(at.max(self.now), wake);
                }
                Out::Close { conn } => self.cut(conn)?,
                Out::CloseAfterSent { conn } => {
                    if let Some(c) = self.conns.get(&conn) {
                        let at = c.last_due(c.dir(End::Relay(r))).max(self.now) + 1;
                        self.schedule.at(at, Event::Cut { conn });
                    }
                }
                Out::StandBy { conn } => {
                    let key = self
                        .mesh_conn
                        .iter()
                        .find(|(_, c)| **c == conn)
                        .map(|(k, _)| *k);
                    if let Some(key) = key {
                        // Stand by while the peer's link lives (it may be gone already).
                        let peer = self.relays[key.1].peer_id().clone();
                        if let Some(dialer) = self.dialers.get_mut(&key) {
                            dialer.stand_by(peer);
                        }
                        self.mesh_conn.remove(&key);
                        self.cut(conn)?;
                        self.stood_by(key);
                    } else {
                        self.cut(conn)?;
                    }
                }
                Out::CatchUpWake { at } => {
                    let epoch = self.relays[r].epoch;
                    let wake = Event::CatchUp { relay: r, epoch };
                    self.schedule.at(at.max(self.now), wake);
                }
                Out::Stored { doc, chunk } => self.notify(r, doc, chunk),
                Out::Claims(claims) => self.check_claims(r, &claims)?,
                Out::Answered { op, stored, error } => {
                    let Some((doc, change)) = self.ops.get(&op).copied() else {
                        continue;
                    };
                    if self.log {
                        eprintln!(
                            "{} relay {r} answered op {op} change {change:?} stored {stored} error {error:?}",
                            self.now
                        );
                    }
                    if let Some(change) = change {
                        if stored {
                            self.acked.push((doc, change));
                        } else if error.is_some_and(|e| e.starts_with("storage failed")) {
                            self.refused.push((doc, change));
                        }
                    }
                }
                Out::Violation(why) => return Err(why),
            }
        }
        Ok(())
    }

    /// A REST operation on relay `r` (if it is up).
    pub fn op(&mut self, r: usize, doc: DocumentId, op: RunOp) -> Result<(), String> {
        if !self.relays[r].up {
            return Ok(());
        }
        self.counts.operations += 1;
        let id = self.ops.len() as u64;
        self.ops.insert(id, (doc, None));
        let mut out = Vec::new();
        let change = self.relays[r].op(self.now, doc, op, id, &mut out);
        self.ops.insert(id, (doc, change));
        self.apply(r, out)
    }

    /// Relay `r` crashes; it restarts a little later.
    pub fn crash(&mut self, r: usize) -> Result<(), String> {
        if !self.relays[r].up {
            return Ok(());
        }
        self.counts.crashes += 1;
        let rng = &mut self.rng;
        let (broken, landed) = self.relays[r].crash(|| rng.random_bool(0.5));
        for (doc, chunk) in landed {
            self.notify(r, doc, chunk);
        }
        for conn in broken {
            self.cut(conn)?;
        }
        self.dialers.retain(|(from, _), _| *from != r);
        for (&pair, &conn) in &self.mesh_conn.clone() {
            if pair.0 == r || pair.1 == r {
                self.cut(conn)?;
            }
        }
        let at = self.now + self.rng.random_range(50..600);
        self.schedule.at(at, Event::Restart { relay: r });
        Ok(())
    }

    /// Relay `r` appended `chunk` to `doc`: the relays sharing its store hear of it a
    /// little later, or (sometimes, during the faults) lose the notification and read
    /// the store again once they listen again.
    pub(super) fn notify(&mut self, r: usize, doc: DocumentId, chunk: Vec<u8>) {
        if self.storage == Storage::Own || r > 1 {
            return;
        }
        let mate = 1 - r;
        if !self.relays[mate].up {
            return;
        }
        let epoch = self.relays[mate].epoch;
        if !self.healing && self.rng.random_range(0..100) < LOST_NOTIFICATIONS {
            self.counts.lost_notifications += 1;
            let at = self.now + self.rng.random_range(20..100);
            self.schedule.at(at, Event::Resync { relay: mate, epoch });
            return;
        }
        self.counts.notifications += 1;
        let at = self.now + self.rng.random_range(1..10);
        let event = Event::Elsewhere {
            relay: mate,
            epoch,
            doc,
            chunk,
        };
        self.schedule.at(at, event);
    }

    /// A claim relay `r` heard of where a run is stored must be true when heard: the
    /// region's store holds every head it names (a tier is never reported before it is
    /// true).
    fn check_claims(
        &mut self,
        r: usize,
        claims: &[runmesh_core::reach::Claim],
    ) -> Result<(), String> {
        for claim in claims {
            let Some(holder) = self
                .relays
                .iter()
                .position(|relay| crate::relay::region(relay.index) == claim.region)
            else {
                return Err(format!(
                    "relay {r} heard a claim of region {}, which no relay is in",
                    claim.region
                ));
            };
            let mut store = self.relays[holder].store.get();
            if let Some(head) = claim.heads.iter().find(|h| !store.holds(claim.run, h)) {
                return Err(format!(
                    "relay {r} heard that region {} stored change {head} of {}, and its store does not hold it",
                    claim.region, claim.run
                ));
            }
        }
        Ok(())
    }
}
