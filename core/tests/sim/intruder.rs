//! An intruder: a session whose token grants only reading a run connects to a relay and
//! sends it a change anyway (a graft made on a copy of what the relay stores). The relay's
//! admission (`runmesh_core::node::Admission`) must refuse it: the check after the world
//! goes quiet finds no intruder's change in any relay's store or any client's replica.

use automerge::ChangeHash;
use automerge::sync::{Message, SyncDoc};
use rand::Rng;
use runmesh_core::node::{Access, Grants};
use runmesh_core::sync::{PeerId, PeerMetadata, WireMessage, handshake};
use runmesh_core::{ActorId, Identity, RunDoc, RunId};

use crate::net::Event;
use crate::world::World;

impl World {
    /// Schedules each intrusion of this world (none, one or two) during its faults.
    pub(crate) fn plan_intrusions(&mut self) {
        for _ in 0..self.rng.random_range(0..3) {
            let at = self.rng.random_range(1..self.plan.chaos_ms.max(2));
            let relay = self.rng.random_range(0..self.relays.len());
            let run = self.rng.random_range(0..self.runs.len());
            self.schedule.at(at, Event::Intrude { relay, run });
        }
    }

    /// The intruder connects to `relay` with a read grant on run `run` and sends a
    /// change to it.
    pub(crate) fn intrude(&mut self, relay: usize, run: usize) -> Result<(), String> {
        let run = self.runs[run];
        let doc = run.document_id();
        if !self.relays[relay].up {
            return Ok(());
        }
        let Some(stored) = self.relays[relay].store.get().load(doc) else {
            return Ok(());
        };
        let intrusion = self.intruded.len();
        let Some((hash, message)) = forged(run, &stored.bytes, intrusion) else {
            return Ok(());
        };
        self.intruded.push((doc, hash));
        self.counts.intrusions += 1;
        self.next_conn += 1;
        let conn = self.next_conn;
        let me = PeerId::from(format!("intruder-{intrusion}"));
        let relay_peer = self.relays[relay].peer_id().clone();
        let grants = Grants::User {
            user: "intruder".into(),
            runs: [(run.to_string(), Access::Read)].into_iter().collect(),
        };
        let sync = WireMessage::Sync {
            document_id: doc,
            sender_id: me.clone(),
            target_id: relay_peer,
            data: message.encode(),
        };
        let frames = [handshake::join(&me, PeerMetadata::default()), sync];
        let mut out = Vec::new();
        self.relays[relay].accepted_with(conn, grants);
        for frame in frames {
            self.relays[relay].on_frame(self.now, conn, &frame.encode(), &mut out);
        }
        self.relays[relay].closed(self.now, conn, &mut out);
        // Nothing answers on a connection the world does not know: frames to it drop.
        self.apply(relay, out)
    }

    /// Whether a relay's store or a client's replica holds an intruder's change.
    pub(crate) fn check_intruders(&mut self) -> Result<(), String> {
        for &(doc, hash) in &self.intruded {
            for relay in &mut self.relays {
                if relay.store.get().holds(doc, &hash) {
                    return Err(format!(
                        "relay {} stored change {hash} of {doc}, sent by a session without write access",
                        relay.index
                    ));
                }
            }
            for client in &mut self.clients {
                if client
                    .run
                    .automerge_mut()
                    .get_change_by_hash(&hash)
                    .is_some()
                {
                    return Err(format!(
                        "client {} holds change {hash} of {doc}, sent by a session without write access",
                        client.index
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A sync message carrying one new change: a graft on the run stored as `bytes`, by an
/// actor of the intruder's own.
fn forged(run: RunId, bytes: &[u8], intrusion: usize) -> Option<(ChangeHash, Message)> {
    let mut actor = [0xE0u8; 16];
    actor[1..9].copy_from_slice(&(intrusion as u64).to_be_bytes());
    let who = Identity::with_actor(ActorId::from(&actor[..]), "nowhere", "intruder").ok()?;
    let mut copy = RunDoc::load(run, who, bytes).ok()?;
    let before = copy.heads();
    copy.graft("step1", "Intruder", 1).ok()?;
    let change = copy.automerge_mut().get_changes(&before).first()?.clone();
    let mut message = automerge::AutoCommit::new()
        .sync()
        .generate_sync_message(&mut automerge::sync::State::new())?;
    message.changes = vec![change.raw_bytes().to_vec()].into();
    Some((change.hash(), message))
}
