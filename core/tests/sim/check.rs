//! The checks after the world has gone quiet: every relay and every client holds the same
//! changes of each run, shows the same run and lists the same history; nothing a relay
//! acknowledged is missing anywhere, and nothing it refused for a storage failure exists;
//! and the relays' digests of their stored runs match their stores and each other.

use std::collections::BTreeMap;

use automerge::ChangeHash;
use runmesh_core::digest::Fingerprint;
use runmesh_core::{DocumentId, HistoryEntry, RunState};

use crate::net::End;
use crate::world::World;

/// One replica's copy of a run, as compared.
#[derive(Debug, PartialEq)]
struct Copy {
    heads: Vec<ChangeHash>,
    state: RunState,
    history: Vec<HistoryEntry>,
}

pub fn converged(world: &mut World) -> Result<(), String> {
    one_link_per_pair(world)?;
    world.check_intruders()?;
    let now = world.now;
    for relay in &mut world.relays {
        relay.store.get().check_loads()?;
        relay.check_acked()?;
    }
    // The digests agree (before any run is loaded for the checks below): every relay's
    // index says what its store holds, and where two claim to know a run, they match.
    let mut digests: BTreeMap<DocumentId, (usize, Fingerprint)> = BTreeMap::new();
    for relay in &mut world.relays {
        for (doc, fingerprint) in relay.known_digests()? {
            let (first, theirs) = *digests.entry(doc).or_insert((relay.index, fingerprint));
            if theirs != fingerprint {
                return Err(format!(
                    "after healing, relays {first} and {} hold different digests of {doc}",
                    relay.index
                ));
            }
        }
    }
    for i in 0..world.clients.len() {
        let client = &mut world.clients[i];
        let status = client.client.status(&mut client.run);
        if !status.synced {
            let (home, run, conn) = (client.home, client.run.run_id(), client.conn);
            let (joined, unacked, stored) = (status.joined, status.unacknowledged, status.stored);
            let ours = client.run.heads();
            let theirs = world.relays[home]
                .hub_for_check(now, run.document_id())
                .heads();
            return Err(format!(
                "client {i} is not in step with relay {home} after healing (connection {conn:?}, joined {joined}, stored {stored}, {unacked} unacknowledged; heads {ours:?}, the relay's {theirs:?})"
            ));
        }
    }
    for run in world.runs.clone() {
        let doc = run.document_id();
        let mut copies: Vec<(String, Copy)> = Vec::new();
        for relay in &mut world.relays {
            let index = relay.index;
            let hub = relay.hub_for_check(now, doc);
            let mut heads = hub.heads();
            heads.sort();
            let state = hub
                .state()
                .map_err(|e| format!("relay {index} has no run {run}: {e}"))?;
            let history = hub.history().expect("a run");
            copies.push((
                format!("relay {index}"),
                Copy {
                    heads,
                    state,
                    history,
                },
            ));
        }
        for client in world.clients.iter_mut().filter(|c| c.run.run_id() == run) {
            let mut heads = client.run.heads();
            heads.sort();
            let copy = Copy {
                heads,
                state: client.run.state(),
                history: client.run.history(),
            };
            copies.push((format!("client {}", client.index), copy));
        }
        let (first, reference) = &copies[0];
        for (who, copy) in &copies[1..] {
            if copy.heads != reference.heads {
                return Err(format!(
                    "run {run}: {who} has heads {:?}, {first} has {:?}",
                    copy.heads, reference.heads
                ));
            }
            if copy != reference {
                return Err(format!(
                    "run {run}: {who} shows another run or history than {first}"
                ));
            }
        }
        present(world, doc)?;
    }
    Ok(())
}

/// Every acknowledged change of `doc` is everywhere; no refused one is anywhere.
fn present(world: &mut World, doc: DocumentId) -> Result<(), String> {
    let now = world.now;
    let acked: Vec<ChangeHash> = world
        .acked
        .iter()
        .filter(|(d, _)| *d == doc)
        .map(|(_, h)| *h)
        .collect();
    // A refused operation retried later can make the byte-identical change (same actor,
    // sequence number, dependencies, second and content), which is then acknowledged.
    let refused: Vec<ChangeHash> = world
        .refused
        .iter()
        .filter(|(d, h)| *d == doc && !acked.contains(h))
        .map(|(_, h)| *h)
        .collect();
    for relay in &mut world.relays {
        let index = relay.index;
        let hub = relay.hub_for_check(now, doc);
        let saved = hub.save().expect("a run");
        let mut copy = automerge::AutoCommit::load(&saved).expect("a saved run loads");
        for hash in &acked {
            if copy.get_change_by_hash(hash).is_none() {
                return Err(format!(
                    "relay {index} lacks acknowledged change {hash} of {doc}"
                ));
            }
        }
        for hash in &refused {
            if copy.get_change_by_hash(hash).is_some() {
                return Err(format!(
                    "relay {index} holds change {hash} of {doc}, whose operation was refused for a storage failure"
                ));
            }
        }
    }
    Ok(())
}

/// Two relays keep one mesh link between them, whoever dialled (a second would carry
/// every change twice), and have it again once the faults end.
fn one_link_per_pair(world: &World) -> Result<(), String> {
    let mut open: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for conn in world.conns.values().filter(|c| c.up) {
        if let [End::Relay(a), End::Relay(b)] = conn.ends {
            *open.entry((a.min(b), a.max(b))).or_default() += 1;
        }
    }
    for &(a, b) in world.mesh_pairs() {
        match open.get(&(a, b)).copied().unwrap_or(0) {
            1 => {}
            0 => {
                return Err(format!(
                    "relays {a} and {b} have no mesh link after healing"
                ));
            }
            n => return Err(format!("relays {a} and {b} keep {n} mesh links open")),
        }
    }
    Ok(())
}
