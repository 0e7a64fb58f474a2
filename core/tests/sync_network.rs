//! The sync engine over an in-memory network: a hub (what a relay runs) and clients, each
//! link a FIFO queue per direction. A seeded schedule interleaves edits, deliveries,
//! duplicated deliveries and disconnects (which lose whatever was in flight); after a
//! final reconnect and `run_until_quiescent`, every replica has the same heads and view.
//!
//! `RUNMESH_SYNC_CASES` sets the number of seeds (default 64); a failure prints its seed.

#![cfg(not(target_arch = "wasm32"))]

use std::collections::VecDeque;

use runmesh_core::sync::{DocSync, PeerId, WireMessage, decode_message};
use runmesh_core::{FlagValue, RunDoc};
use runmesh_testkit::fixtures::*;
use runmesh_testkit::rng::Rng;

struct Node {
    id: PeerId,
    run: RunDoc,
    sync: DocSync,
}

/// Node 0 is the hub; link i (1..) joins client i to the hub.
struct Network {
    nodes: Vec<Node>,
    to_hub: Vec<VecDeque<Vec<u8>>>,
    to_client: Vec<VecDeque<Vec<u8>>>,
    connected: Vec<bool>,
    frames: usize,
}

impl Network {
    fn new(clients: usize) -> Self {
        let doc_id = run_id().document_id();
        let nodes = (0..=clients)
            .map(|i| {
                let id = PeerId::from(format!("peer{i}"));
                let who = who(
                    i as u8 + 1,
                    if i == 0 { "hub" } else { "region" },
                    &format!("user{i}"),
                );
                let run = if i == 1 {
                    RunDoc::create(run_id(), who, "T", &steps(&["s1", "s2"]), 0).unwrap()
                } else {
                    RunDoc::genesis(run_id(), who)
                };
                Node {
                    sync: DocSync::new(doc_id, id.clone()),
                    id,
                    run,
                }
            })
            .collect();
        Self {
            nodes,
            to_hub: vec![VecDeque::new(); clients + 1],
            to_client: vec![VecDeque::new(); clients + 1],
            connected: vec![false; clients + 1],
            frames: 0,
        }
    }

    fn send(&mut self, from: usize, messages: Vec<(PeerId, WireMessage)>) {
        for (to, message) in messages {
            let bytes = message.encode();
            if from == 0 {
                let i = self.index_of(&to);
                self.to_client[i].push_back(bytes);
            } else {
                self.to_hub[from].push_back(bytes);
            }
        }
    }

    /// A network whose clients have all joined the hub.
    fn all_connected(clients: usize) -> Self {
        let mut net = Self::new(clients);
        for i in 1..=clients {
            net.connect(i);
        }
        net
    }

    /// The frames delivered, if every client has the hub's heads and shows its run.
    fn converged(&mut self) -> Result<usize, String> {
        let heads = self.nodes[0].run.heads();
        let view = self.nodes[0].run.state().to_json();
        for (i, node) in self.nodes.iter_mut().enumerate().skip(1) {
            if node.run.heads() != heads {
                return Err(format!("client {i} has other heads than the hub"));
            }
            if node.run.state().to_json() != view {
                return Err(format!("client {i} shows another run than the hub"));
            }
        }
        Ok(self.frames)
    }

    fn index_of(&self, peer: &PeerId) -> usize {
        self.nodes.iter().position(|n| &n.id == peer).unwrap()
    }

    fn connect(&mut self, i: usize) {
        self.connected[i] = true;
        let hub_id = self.nodes[0].id.clone();
        let client_id = self.nodes[i].id.clone();
        let node = &mut self.nodes[i];
        let opening = node.sync.add_peer(node.run.automerge_mut(), &hub_id);
        self.send(i, opening.map(|m| (hub_id, m)).into_iter().collect());
        let hub = &mut self.nodes[0];
        let opening = hub.sync.add_peer(hub.run.automerge_mut(), &client_id);
        self.send(0, opening.map(|m| (client_id, m)).into_iter().collect());
    }

    /// Drops everything in flight on link `i` and forgets both sync sessions.
    fn disconnect(&mut self, i: usize) {
        self.connected[i] = false;
        self.to_hub[i].clear();
        self.to_client[i].clear();
        let (hub_id, client_id) = (self.nodes[0].id.clone(), self.nodes[i].id.clone());
        self.nodes[0].sync.remove_peer(&client_id);
        self.nodes[i].sync.remove_peer(&hub_id);
    }

    fn deliver(&mut self, to: usize, from: usize, bytes: &[u8]) {
        self.receive(to, from, bytes);
        self.flush(to);
    }

    /// Applies one frame without answering yet (a relay answers once per batch).
    fn receive(&mut self, to: usize, from: usize, bytes: &[u8]) {
        self.frames += 1;
        let message = WireMessage::decode(bytes, 1 << 24).unwrap();
        let WireMessage::Sync { data, .. } = message else {
            panic!("only sync messages travel here")
        };
        let from_id = self.nodes[from].id.clone();
        let node = &mut self.nodes[to];
        let changed = node
            .sync
            .receive(
                node.run.automerge_mut(),
                &from_id,
                decode_message(&data).unwrap(),
            )
            .unwrap();
        if changed {
            node.run.refresh();
        }
    }

    fn flush(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        let out = node.sync.flush(node.run.automerge_mut());
        self.send(i, out);
    }

    /// The hub takes up to `n` frames, in order per link, then answers once.
    fn hub_batch(&mut self, rng: &mut Rng, n: usize) {
        for _ in 0..n {
            let link = 1 + rng.below(self.nodes.len() - 1);
            if let Some(bytes) = self.to_hub[link].pop_front() {
                self.receive(0, link, &bytes);
            }
        }
        self.flush(0);
    }

    /// Delivers one queued frame on link `i` (either direction); `keep` re-queues it too.
    fn step(&mut self, i: usize, towards_hub: bool, keep: bool) -> bool {
        let queue = if towards_hub {
            &mut self.to_hub[i]
        } else {
            &mut self.to_client[i]
        };
        let Some(bytes) = queue.pop_front() else {
            return false;
        };
        if keep {
            queue.push_back(bytes.clone());
        }
        if towards_hub {
            self.deliver(0, i, &bytes)
        } else {
            self.deliver(i, 0, &bytes)
        }
        true
    }

    fn run_until_quiescent(&mut self) {
        for _ in 0..100_000 {
            let mut moved = false;
            for i in 1..self.nodes.len() {
                moved |= self.step(i, true, false);
                moved |= self.step(i, false, false);
            }
            if !moved {
                return;
            }
        }
        panic!("the network did not go quiet after 100,000 rounds");
    }

    fn local_edit(&mut self, i: usize, rng: &mut Rng, n: usize) {
        let node = &mut self.nodes[i];
        let changed = match rng.below(4) {
            0 | 1 => node
                .run
                .graft(
                    &format!("s{}", 1 + rng.below(2)),
                    &format!("A{n}"),
                    n as u64,
                )
                .is_ok(),
            2 => node
                .run
                .set_flag("k", FlagValue::Int(rng.below(9) as i64), n as u64)
                .is_ok(),
            _ => node
                .run
                .prune(&format!("s{}", 1 + rng.below(2)), n as u64)
                .unwrap_or(false),
        };
        if changed && (self.connected[i] || i == 0) {
            let node = &mut self.nodes[i];
            node.sync.local_change();
            let out = node.sync.flush(node.run.automerge_mut());
            self.send(i, out);
        }
    }
}

fn simulate(seed: u64) -> Result<usize, String> {
    let mut rng = Rng(seed);
    let clients = 2 + rng.below(3);
    let mut net = Network::all_connected(clients);
    for n in 0..60 {
        let link = 1 + rng.below(clients);
        match rng.below(10) {
            0..=2 => net.local_edit(rng.below(clients + 1), &mut rng, n),
            3 => {
                if net.connected[link] {
                    net.disconnect(link)
                } else {
                    net.connect(link)
                }
            }
            4 => {
                net.step(link, rng.below(2) == 0, true);
            }
            _ => {
                net.step(link, rng.below(2) == 0, false);
            }
        }
    }
    // Duplicated frames may still be queued; a reconnect clears them like a real one would.
    for i in 1..=clients {
        net.disconnect(i);
        net.connect(i);
    }
    net.run_until_quiescent();
    net.converged()
}

/// Reliable links (what a WebSocket gives) and no reconnect at the end: sync alone must
/// bring every replica to the same heads, however edits and batches interleave.
fn simulate_steady(seed: u64) -> Result<usize, String> {
    let mut rng = Rng(seed);
    let clients = 3 + rng.below(6);
    let mut net = Network::all_connected(clients);
    for n in 0..400 {
        match rng.below(10) {
            0..=3 => net.local_edit(1 + rng.below(clients), &mut rng, n),
            4..=5 => {
                let n = 1 + rng.below(8);
                net.hub_batch(&mut rng, n)
            }
            _ => {
                net.step(1 + rng.below(clients), false, false);
            }
        }
    }
    net.run_until_quiescent();
    net.converged()
}

/// Runs `simulation` for each seed (`RUNMESH_SEED`, `RUNMESH_SYNC_CASES`), naming the
/// seed that fails; returns the frames delivered in all.
fn for_each_seed(simulation: fn(u64) -> Result<usize, String>) -> usize {
    let env = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (base, cases) = (env("RUNMESH_SEED", 0x5eed), env("RUNMESH_SYNC_CASES", 64));
    (base..base + cases)
        .map(|seed| {
            simulation(seed).unwrap_or_else(|why| {
                panic!("seed {seed} (RUNMESH_SEED={seed} RUNMESH_SYNC_CASES=1): {why}")
            })
        })
        .sum()
}

#[test]
fn busy_clients_converge_without_a_reconnect() {
    assert!(for_each_seed(simulate_steady) > 0);
}

#[test]
fn clients_and_hub_converge_through_loss_duplication_and_reconnects() {
    assert!(for_each_seed(simulate) > 0);
}

#[test]
fn a_new_client_gets_only_what_it_lacks_in_a_few_round_trips() {
    let mut net = Network::new(2);
    net.connect(1);
    net.run_until_quiescent();
    let before = net.frames;
    net.connect(2);
    net.run_until_quiescent();
    assert!(
        net.frames - before <= 6,
        "{} frames to sync a fresh client",
        net.frames - before
    );
    assert_eq!(net.nodes[2].run.state(), net.nodes[1].run.state());
}
