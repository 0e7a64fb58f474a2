//! The shard of one run (`runmesh_core::node::RunShard`), as the relay's run task and the
//! simulation's relays drive it: its connections, its waiters, its stored heads and its
//! clock for leaving memory.

#![cfg(not(target_arch = "wasm32"))]

use std::sync::Arc;

use runmesh_core::hub::{HubConfig, Input, Link, Stored};
use runmesh_core::node::{Command, Effect, IdlePeriods, RunShard};
use runmesh_core::sync::{PeerId, WireMessage};
use runmesh_testkit::fixtures::{run_id, who};
use runmesh_testkit::run_hub::{Peer, base_run, client, mesh};

type Shard = RunShard<u64, &'static str, Link>;
type Out = Vec<Effect<u64, &'static str, Link>>;

const IDLE: IdlePeriods = IdlePeriods {
    used: 30_000,
    untouched: 2_000,
};

fn config() -> Arc<HubConfig> {
    Arc::new(HubConfig {
        me: PeerId::from("relay"),
        identity: who(9, "relay-region", "relay"),
        max_document_bytes: 64 << 20,
        snapshot_interval_events: 4,
        lookup_timeout: 3_000,
        trust_mesh: true,
        budget: None,
    })
}

/// A shard whose store holds the base run, loaded at `now`.
fn loaded(now: u64) -> (Shard, Out) {
    let (mut shard, first) = Shard::new(config(), run_id().document_id(), now, IDLE);
    assert!(matches!(first.as_slice(), [Effect::Load]), "{first:?}");
    let stored = Stored {
        bytes: base_run().save(),
        chunks: 0,
    };
    let out = shard.handle(now, Command::Loaded(Ok(Some(stored))));
    (shard, out)
}

/// The sync command a peer's next message makes.
fn sync_from(peer: &mut Peer, link: &Link) -> Command<u64, &'static str, Link> {
    next_sync(peer, link).expect("a message to send")
}

/// The peer's next sync message as a command, if it has one.
fn next_sync(peer: &mut Peer, link: &Link) -> Option<Command<u64, &'static str, Link>> {
    Some(match peer.next_input(link)? {
        Input::Sync {
            from,
            message,
            request,
        } => Command::Sync {
            from,
            message,
            request,
        },
        other => panic!("not a sync input: {other:?}"),
    })
}

/// `peer` syncs with the shard on `link` until quiet (storing what the shard asks to);
/// returns every effect.
fn connect(shard: &mut Shard, peer: &mut Peer, link: &Link, now: u64) -> Out {
    let mut all = Vec::new();
    let mut next = next_sync(peer, link);
    while let Some(command) = next.take() {
        let mut out = shard.handle(now, command);
        while let Some(id) = out.iter().find_map(|e| match e {
            Effect::Persist(p) => Some(p.id),
            _ => None,
        }) {
            out.retain(|e| !matches!(e, Effect::Persist(p) if p.id == id));
            out.extend(shard.handle(now, Command::Stored(id)));
        }
        for e in &out {
            if let Effect::Send {
                to,
                message: WireMessage::Sync { data, .. },
            } = e
                && to == link
            {
                peer.receive(data);
                next = next_sync(peer, link);
            }
        }
        all.extend(out);
    }
    all
}

fn sends_to(out: &Out) -> Vec<Link> {
    out.iter()
        .filter_map(|e| match e {
            Effect::Send { to, .. } => Some(to.clone()),
            _ => None,
        })
        .collect()
}

fn stored_heads(out: &Out) -> Option<(usize, bool)> {
    out.iter().rev().find_map(|e| match e {
        Effect::StoredHeads { heads, known } => Some((heads.len(), *known)),
        _ => None,
    })
}

#[test]
fn a_loaded_run_tells_its_title_once_and_its_stored_heads_when_they_change() {
    let (mut shard, out) = loaded(0);
    let titles: Vec<_> = out
        .iter()
        .filter(|e| matches!(e, Effect::Titled(_)))
        .collect();
    assert_eq!(titles.len(), 1, "{out:?}");
    assert_eq!(stored_heads(&out), Some((1, true)));
    let again = shard.handle(10, Command::Tick);
    assert!(!again.iter().any(|e| matches!(e, Effect::Titled(_))));
    assert_eq!(stored_heads(&again), None, "unchanged: not told again");
    let (a, mut peer) = (client("a", 1), Peer::new(&client("a", 1), 3));
    connect(&mut shard, &mut peer, &a, 11);
    peer.graft("AgentA");
    let out = connect(&mut shard, &mut peer, &a, 12);
    assert_eq!(stored_heads(&out), Some((1, true)), "a new head, stored");
}

#[test]
fn a_peer_cut_off_is_no_longer_sent_to_and_the_hub_hears_it_left() {
    let (mut shard, _) = loaded(0);
    let (a, b) = (client("a", 1), client("b", 2));
    let mut pa = Peer::new(&a, 3);
    let out = connect(&mut shard, &mut pa, &a, 1);
    assert!(sends_to(&out).contains(&a), "a is answered");
    let mut pb = Peer::new(&b, 4);
    connect(&mut shard, &mut pb, &b, 2);
    pb.graft("AgentB");
    let out = connect(&mut shard, &mut pb, &b, 3);
    assert!(sends_to(&out).contains(&a), "a hears of b's change");
    shard.handle(4, Command::Gone(a.clone()));
    // b's next change goes to every peer still there: not to a.
    pb.graft("AgentC");
    let out = connect(&mut shard, &mut pb, &b, 5);
    let to = sends_to(&out);
    assert!(to.contains(&b) && !to.contains(&a), "{to:?}");
}

#[test]
fn a_send_to_an_older_connection_of_a_peer_is_dropped() {
    let (mut shard, _) = loaded(0);
    let (old, new) = (client("a", 1), client("a", 2));
    connect(&mut shard, &mut Peer::new(&old, 3), &old, 1);
    let mut peer = Peer::new(&new, 4);
    let out = connect(&mut shard, &mut peer, &new, 2);
    assert!(sends_to(&out).iter().all(|l| l.session == new.session));
    // The old connection's end does not forget the new one.
    shard.handle(3, Command::Detach(old.clone()));
    peer.graft("AgentA");
    let out = connect(&mut shard, &mut peer, &new, 4);
    let to = sends_to(&out);
    assert!(to.contains(&new) && !to.contains(&old), "{to:?}");
}

#[test]
fn a_waiter_hears_when_the_run_is_in_step_and_is_dropped_when_its_peer_goes() {
    let (mut shard, _) = loaded(0);
    let relay = mesh("relay-b", 7);
    shard.handle(0, Command::Mesh(vec![relay.clone()]));
    let out = shard.handle(
        1,
        Command::Offer {
            to: relay.clone(),
            fresh: false,
            settled: Some("first"),
        },
    );
    assert!(!out.iter().any(|e| matches!(e, Effect::Settled(_))));
    // The mesh peer has the same run: once it says so, the waiter hears.
    let mut peer = Peer::new(&relay, 8);
    let mut settled = Vec::new();
    let mut next = Some(sync_from(&mut peer, &relay));
    for now in 2..12 {
        let Some(command) = next.take() else { break };
        let out = shard.handle(now, command);
        for e in &out {
            match e {
                Effect::Settled(w) => settled.push(*w),
                Effect::Send {
                    message: WireMessage::Sync { data, .. },
                    ..
                } => {
                    peer.receive(data);
                    next = next_sync(&mut peer, &relay);
                }
                _ => {}
            }
        }
    }
    assert_eq!(settled, vec!["first"]);
    // A waiter whose peer's link goes down is dropped, never told.
    shard.handle(
        20,
        Command::Offer {
            to: relay.clone(),
            fresh: true,
            settled: Some("second"),
        },
    );
    let out = shard.handle(21, Command::Mesh(Vec::new()));
    assert!(!out.iter().any(|e| matches!(e, Effect::Settled(_))));
    let out = shard.handle(22, Command::Mesh(vec![relay]));
    assert!(!out.iter().any(|e| matches!(e, Effect::Settled(_))));
}

#[test]
fn stored_heads_are_not_known_while_what_other_relays_stored_cannot_be_read() {
    let (mut shard, _) = loaded(0);
    let out = shard.handle(1, Command::StoredElsewhere(None));
    assert_eq!(stored_heads(&out), Some((1, false)));
    let out = shard.handle(2, Command::Tick);
    assert_eq!(stored_heads(&out), None, "still not known, not told again");
    let out = shard.handle(3, Command::StoredElsewhere(Some(base_run().save())));
    assert_eq!(stored_heads(&out), Some((1, true)));
}

#[test]
fn a_run_only_other_relays_touched_leaves_after_the_short_period_one_used_here_stays() {
    let (mut shard, _) = loaded(0);
    let relay = mesh("relay-b", 7);
    shard.handle(
        100,
        Command::Offer {
            to: relay,
            fresh: false,
            settled: None,
        },
    );
    assert!(shard.mesh_only(false));
    assert_eq!(shard.next_wake(false), 2_100);
    let (_, leave) = shard.wake(2_099, false, false);
    assert!(!leave, "not due yet");
    let (_, leave) = shard.wake(2_100, false, true);
    assert!(!leave, "held by a follower or an offer");
    let (mut used, _) = loaded(0);
    used.handle(100, Command::Read);
    assert!(!used.mesh_only(false));
    assert_eq!(used.next_wake(false), 30_100);
    let (_, leave) = used.wake(30_100, false, false);
    assert!(leave, "idle and due");
}
