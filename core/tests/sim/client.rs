//! A simulated client: a replica of one run and core's client machine (`ClientRun`), as
//! the browser app and the npm package perform it, with a local store whose writes take
//! time, fail, and are lost or land when the client's process crashes.

use std::collections::HashSet;

use automerge::ChangeHash;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use runmesh_core::client::{ClientEffect, ClientInput, ClientRun, StoreRequest};
use runmesh_core::sync::PeerId;
use runmesh_core::{ActorId, FlagValue, Identity, RunDoc, RunId};

/// A write of the client's store, in flight.
pub struct Write {
    pub request: StoreRequest,
    /// The changes the written run holds.
    pub hashes: Vec<ChangeHash>,
}

/// One client.
pub struct SimClient {
    pub index: usize,
    /// The relay it connects to.
    pub home: usize,
    pub run: RunDoc,
    pub client: ClientRun,
    /// Its connection, while it has one.
    pub conn: Option<u64>,
    /// Whether it wants to be connected.
    pub online: bool,
    /// Failed connection attempts in a row.
    pub failures: u32,
    /// What its store holds: the saved run, and the changes in it.
    pub disk: Option<Vec<u8>>,
    pub stored: HashSet<ChangeHash>,
    /// The write in flight, if any.
    pub writing: Option<Write>,
    /// Its process's life: answers to writes of an earlier life are ignored.
    pub epoch: u32,
    /// The mutation the simulation must catch: the store says "stored" when a write
    /// starts, so frames go out before the change is on the device.
    pub ack_before_write: bool,
    run_id: RunId,
    /// The actors it has written as, one per life.
    actors: Vec<ActorId>,
}

impl SimClient {
    pub fn new(index: usize, home: usize, run_id: RunId) -> Self {
        let mut run = RunDoc::genesis(run_id, identity(index, home, 0));
        let client = ClientRun::new(&mut run, false, Vec::new(), peer(index, 0));
        let actors = vec![run.identity().actor().clone()];
        Self {
            actors,
            index,
            home,
            run,
            client,
            conn: None,
            online: true,
            failures: 0,
            disk: None,
            stored: HashSet::new(),
            writing: None,
            epoch: 0,
            ack_before_write: false,
            run_id,
        }
    }

    /// The process dies and starts again on its store: everything only in memory is
    /// gone (a write in flight is lost, or lands if `landed`). The caller breaks its
    /// connection first.
    pub fn crash(&mut self, landed: bool) {
        if let Some(write) = self.writing.take()
            && landed
        {
            self.disk = Some(write.request.bytes);
            self.stored.extend(write.hashes);
        }
        self.epoch += 1;
        // A new process writes as a new actor, as the app and the package do.
        let identity = identity(self.index, self.home, self.epoch);
        let me = peer(self.index, self.epoch);
        self.run = match &self.disk {
            Some(bytes) => RunDoc::load(self.run_id, identity, bytes).expect("its own save loads"),
            None => RunDoc::genesis(self.run_id, identity),
        };
        self.client = ClientRun::new(&mut self.run, self.disk.is_some(), Vec::new(), me);
        self.actors.push(self.run.identity().actor().clone());
    }

    pub fn handle(&mut self, input: ClientInput<'_>) -> Vec<ClientEffect> {
        self.client.handle(&mut self.run, input)
    }

    /// Starts the write that is due, if none is in flight.
    pub fn start_write(&mut self) -> Option<runmesh_core::client::StoreId> {
        if self.writing.is_some() {
            return None;
        }
        let request = self.client.take_store(&mut self.run)?;
        let hashes = self
            .run
            .automerge_mut()
            .get_changes_meta(&[])
            .iter()
            .map(|c| c.hash)
            .collect();
        let id = request.id;
        self.writing = Some(Write { request, hashes });
        Some(id)
    }

    /// The write in flight landed on the device.
    pub fn landed(&mut self) {
        if let Some(write) = self.writing.take() {
            self.disk = Some(write.request.bytes);
            self.stored.extend(write.hashes);
        }
    }

    /// Whether `actor` is this client's, in any of its lives.
    pub fn is_mine(&self, actor: &ActorId) -> bool {
        self.actors.contains(actor)
    }

    /// One random edit at `now`; returns what the client machine asks for.
    pub fn edit(&mut self, rng: &mut ChaCha8Rng, now: u64) -> Vec<ClientEffect> {
        let state = self.run.state();
        let nodes: Vec<String> = state.pipeline.iter().map(|n| n.id.to_string()).collect();
        let pick = |rng: &mut ChaCha8Rng, or: &str| {
            if nodes.is_empty() {
                or.to_owned()
            } else {
                nodes[rng.random_range(0..nodes.len())].clone()
            }
        };
        let done = match rng.random_range(0..10) {
            0..=5 => {
                let after = pick(rng, "step1");
                let agent = format!("Agent{}", rng.random_range(0..1000));
                self.run.graft(&after, &agent, now).is_ok()
            }
            6 => {
                let node = pick(rng, "step1");
                self.run.prune(&node, now).is_ok()
            }
            7 => {
                let pruned: Vec<String> = state
                    .pipeline
                    .iter()
                    .filter(|n| n.pruned)
                    .map(|n| n.id.to_string())
                    .collect();
                match pruned.first() {
                    Some(node) => self.run.restore(node, now).is_ok(),
                    None => false,
                }
            }
            _ => {
                let key = format!("flag{}", rng.random_range(0..3));
                let value = FlagValue::Int(rng.random_range(0..100));
                self.run.set_flag(&key, value, now).is_ok()
            }
        };
        if !done {
            return Vec::new();
        }
        self.client.local_change(&mut self.run)
    }

    /// An ephemeral announcement (nothing while not joined).
    pub fn announce(&mut self) -> Vec<ClientEffect> {
        self.client.ephemeral(vec![0xA0 + self.index as u8])
    }
}

fn identity(index: usize, home: usize, epoch: u32) -> Identity {
    let mut actor = [0xC0u8; 16];
    actor[0] = index as u8;
    actor[1..5].copy_from_slice(&epoch.to_be_bytes());
    Identity::with_actor(
        ActorId::from(&actor[..]),
        &crate::relay::region(home),
        &format!("user{index}"),
    )
    .expect("a valid identity")
}

fn peer(index: usize, epoch: u32) -> PeerId {
    PeerId::from(format!("client-{index}-{epoch}"))
}
