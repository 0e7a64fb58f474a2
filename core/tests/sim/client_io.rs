//! What the world does for a client: performs its machine's effects (frames onto its
//! connection, writes to its store that take time and sometimes fail), and crashes it.
//! Checked as it runs: a client never sends a change its store does not hold.

use automerge::{ActorId, ChangeHash};
use rand::Rng;
use runmesh_core::client::{ClientEffect, ClientInput};
use runmesh_core::sync::{WireMessage, decode_message};

use crate::net::{End, Event};
use crate::world::World;

impl World {
    /// Performs client `i`'s effects, in order.
    pub fn perform(&mut self, i: usize, effects: Vec<ClientEffect>) -> Result<(), String> {
        for effect in effects {
            match effect {
                ClientEffect::Send(frame) => {
                    self.check_stored(i, &frame)?;
                    if let Some(conn) = self.clients[i].conn {
                        self.send(conn, End::Client(i), frame);
                    }
                }
                ClientEffect::StoreDue => self.start_write(i)?,
                ClientEffect::Joined => self.clients[i].failures = 0,
                ClientEffect::Drop(why) => {
                    return Err(format!("client {i} refused what its relay sent: {why}"));
                }
                ClientEffect::StoreFailed(_) => {
                    let at = self.now + self.rng.random_range(5..50);
                    let epoch = self.clients[i].epoch;
                    self.schedule
                        .at(at, Event::ClientRetry { client: i, epoch });
                }
                ClientEffect::Changed { .. }
                | ClientEffect::Unavailable
                | ClientEffect::Ephemeral { .. } => {}
            }
        }
        Ok(())
    }

    fn start_write(&mut self, i: usize) -> Result<(), String> {
        let Some(id) = self.clients[i].start_write() else {
            return Ok(());
        };
        let epoch = self.clients[i].epoch;
        // Most writes are quick; one in ten is a slow disk.
        let delay = if self.rng.random_bool(0.1) {
            self.rng.random_range(50..300)
        } else {
            self.rng.random_range(1..15)
        };
        let at = self.now + delay;
        self.schedule
            .at(at, Event::ClientWritten { client: i, epoch });
        if self.clients[i].ack_before_write {
            let effects = self.clients[i].handle(ClientInput::Stored(id));
            self.perform(i, effects)?;
        }
        Ok(())
    }

    /// Client `i`'s write in flight completes (or fails).
    pub fn client_written(&mut self, i: usize, epoch: u32) -> Result<(), String> {
        let client = &mut self.clients[i];
        if client.epoch != epoch {
            return Ok(()); // it crashed meanwhile; `crash_client` decided the write's fate
        }
        let Some(id) = client.writing.as_ref().map(|w| w.request.id) else {
            return Ok(());
        };
        let fails = !self.healing && self.rng.random_range(0..100) < self.plan.store_fail;
        self.counts.client_writes += 1;
        let client = &mut self.clients[i];
        let input = if fails {
            client.writing = None;
            ClientInput::StoreFailed(id, "simulated write failure".into())
        } else {
            client.landed();
            if client.ack_before_write {
                return Ok(()); // answered when it started
            }
            ClientInput::Stored(id)
        };
        let effects = client.handle(input);
        self.perform(i, effects)
    }

    /// Client `i` tries its failed write again.
    pub fn client_retry(&mut self, i: usize, epoch: u32) -> Result<(), String> {
        let client = &mut self.clients[i];
        if client.epoch != epoch {
            return Ok(());
        }
        let effects = client.client.retry_store(&mut client.run);
        self.perform(i, effects)
    }

    /// Client `i`'s process dies and starts again on its store.
    pub fn crash_client(&mut self, i: usize) -> Result<(), String> {
        self.counts.client_crashes += 1;
        if let Some(conn) = self.clients[i].conn {
            self.cut(conn)?;
        }
        let landed = self.rng.random_bool(0.5);
        self.clients[i].crash(landed);
        let client = &mut self.clients[i];
        let effects = client.client.retry_store(&mut client.run);
        self.perform(i, effects)?;
        if self.clients[i].online {
            self.schedule_connect(i);
        }
        Ok(())
    }

    /// A frame client `i` sends may carry only changes of its own that its store holds.
    /// (Changes it took from its relay it may hand back before storing them: one waiting
    /// for a dependency, say, which Automerge keeps out of the run and its save.)
    fn check_stored(&self, i: usize, frame: &[u8]) -> Result<(), String> {
        let message = WireMessage::decode(frame, usize::MAX).map_err(|e| e.to_string())?;
        let (WireMessage::Sync { data, .. } | WireMessage::Request { data, .. }) = message else {
            return Ok(());
        };
        let message = decode_message(&data).map_err(|e| e.to_string())?;
        for chunk in message.changes.iter() {
            for (hash, actor) in changes(chunk)? {
                let client = &self.clients[i];
                if client.is_mine(&actor) && !client.stored.contains(&hash) {
                    return Err(format!(
                        "client {i} sent change {hash} before its store held it"
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The changes one entry of a sync message carries (hash and writer): changes (one or
/// several chunks one after another), or a whole document.
fn changes(mut bytes: &[u8]) -> Result<Vec<(ChangeHash, ActorId)>, String> {
    const DOCUMENT: u8 = 0;
    let mut out = Vec::new();
    while !bytes.is_empty() {
        // magic (4), checksum (4), type (1), body length (LEB128), body.
        let (mut len, mut at, mut shift) = (0usize, 9usize, 0);
        loop {
            let byte = *bytes.get(at).ok_or("a truncated chunk header")?;
            len |= usize::from(byte & 0x7f) << shift;
            at += 1;
            shift += 7;
            if byte & 0x80 == 0 {
                break;
            }
        }
        let (chunk, rest) = bytes.split_at((at + len).min(bytes.len()));
        if chunk[8] == DOCUMENT {
            let mut doc = automerge::AutoCommit::load(chunk).map_err(|e| e.to_string())?;
            let all = doc.get_changes(&[]);
            out.extend(all.iter().map(|c| (c.hash(), c.actor_id().clone())));
        } else {
            let change = automerge::Change::try_from(chunk).map_err(|e| e.to_string())?;
            out.push((change.hash(), change.actor_id().clone()));
        }
        bytes = rest;
    }
    Ok(out)
}
