//! A simulated client: a replica of one run and core's `ClientSync`, as the browser app
//! and the npm package drive them. Its copy of the run survives going offline.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use runmesh_core::sync::{ClientSync, PeerId};
use runmesh_core::{ActorId, FlagValue, Identity, RunDoc, RunId};

/// One client.
pub struct SimClient {
    pub index: usize,
    /// The relay it connects to.
    pub home: usize,
    pub run: RunDoc,
    pub sync: ClientSync,
    /// Its connection, while it has one.
    pub conn: Option<u64>,
    /// Whether it wants to be connected.
    pub online: bool,
    /// Failed connection attempts in a row.
    pub failures: u32,
}

impl SimClient {
    pub fn new(index: usize, home: usize, run_id: RunId) -> Self {
        let mut actor = [0xC0u8; 16];
        actor[0] = index as u8;
        let identity = Identity::with_actor(
            ActorId::from(&actor[..]),
            &crate::relay::region(home),
            &format!("user{index}"),
        )
        .expect("a valid identity");
        Self {
            index,
            home,
            run: RunDoc::genesis(run_id, identity),
            sync: ClientSync::new(run_id, PeerId::from(format!("client-{index}"))),
            conn: None,
            online: true,
            failures: 0,
        }
    }

    /// One random edit at `now`; returns the frames that carry it (none while not joined:
    /// they go when the next session opens).
    pub fn edit(&mut self, rng: &mut ChaCha8Rng, now: u64) -> Vec<Vec<u8>> {
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
        self.sync.local_change(&mut self.run)
    }

    /// An ephemeral announcement, if joined.
    pub fn announce(&mut self) -> Option<Vec<u8>> {
        self.sync.ephemeral(vec![0xA0 + self.index as u8])
    }
}
