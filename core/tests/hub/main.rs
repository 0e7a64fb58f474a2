//! The hub's rules, one test each, through its public inputs and effects.

#![cfg(not(target_arch = "wasm32"))]

mod admission;
mod elsewhere;
mod feed;
mod lineage;
mod weight;
mod writers;

use runmesh_core::hub::{Effect, Input, OpError, RunOp};
use runmesh_core::sync::WireMessage;
use runmesh_testkit::run_hub::*;

#[test]
fn changes_are_stored_before_any_peer_hears_of_them() {
    let mut hub = TestHub::with_run();
    let (a, b) = (client("a", 1), client("b", 2));
    hub.join(&b);
    let mut peer = Peer::new(&a, 3);
    hub.connect(&mut peer, &a);
    peer.graft("AgentA");
    let effects = hub.handle(peer.sync_input(&a));
    assert!(
        sends(&effects).is_empty(),
        "nothing leaves before the store answers: {effects:?}"
    );
    let persist = persist_of(&effects).expect("the change is stored first");
    let effects = hub.handle(Input::Stored(persist));
    let to: Vec<_> = sends(&effects)
        .iter()
        .map(|(to, _)| to.peer.clone())
        .collect();
    assert!(
        to.contains(&a.peer) && to.contains(&b.peer),
        "both hear once it is stored: {to:?}"
    );
}

#[test]
fn one_batch_is_one_persist() {
    let mut hub = TestHub::with_run();
    let (a, b) = (client("a", 1), client("b", 2));
    let (mut pa, mut pb) = (Peer::new(&a, 3), Peer::new(&b, 4));
    hub.connect(&mut pa, &a);
    hub.connect(&mut pb, &b);
    pa.graft("AgentA");
    pb.graft("AgentB");
    let effects = hub.handle_batch(vec![pa.sync_input(&a), pb.sync_input(&b)]);
    let persists = effects
        .iter()
        .filter(|e| matches!(e, Effect::Persist(_)))
        .count();
    assert_eq!(persists, 1, "{effects:?}");
}

#[test]
fn an_operation_is_answered_once_its_change_is_stored_and_an_error_at_once() {
    let mut hub = TestHub::with_run();
    let effects = hub.handle(op(1, graft("step1", "Agent")));
    assert!(
        replies(&effects).is_empty(),
        "no answer before the store: {effects:?}"
    );
    let persist = persist_of(&effects).unwrap();
    let effects = hub.handle(Input::Stored(persist));
    assert_eq!(replies(&effects), vec![(1, Ok(true))]);
    let effects = hub.handle(op(2, graft("nowhere", "Agent")));
    let answered = replies(&effects);
    assert!(
        matches!(answered[..], [(2, Err(ref e))] if e.contains("unknown anchor")),
        "{answered:?}"
    );
}

#[test]
fn an_answer_goes_when_its_own_persist_is_stored_even_with_newer_changes_pending() {
    let mut hub = TestHub::with_run();
    let first = persist_of(&hub.handle(op(1, graft("step1", "One")))).unwrap();
    // While the first persist is in flight, another change arrives.
    let effects = hub.handle(op(2, graft("step1", "Two")));
    assert!(persist_of(&effects).is_none(), "one persist at a time");
    let effects = hub.handle(Input::Stored(first));
    assert_eq!(replies(&effects), vec![(1, Ok(true))]);
    let second = persist_of(&effects).expect("the newer change is stored next");
    let effects = hub.handle(Input::StoreFailed(second, "disk full".into()));
    let answered = replies(&effects);
    assert!(
        matches!(answered[..], [(2, Err(ref e))] if e.contains("disk full")),
        "{answered:?}"
    );
}

#[test]
fn a_failed_store_drops_the_unstored_changes_and_asks_the_peers_again() {
    let mut hub = TestHub::with_run();
    let (a, b) = (client("a", 1), client("b", 2));
    hub.join(&b);
    let mut peer = Peer::new(&a, 3);
    hub.connect(&mut peer, &a);
    peer.graft("Lost");
    let mut effects = hub.handle(peer.sync_input(&a));
    effects.extend(hub.handle(op(7, graft("step1", "AlsoLost"))));
    let persist = persist_of(&effects).unwrap();
    let effects = hub.handle(Input::StoreFailed(persist, "disk full".into()));
    assert!(
        matches!(replies(&effects)[..], [(7, Err(_))]),
        "{effects:?}"
    );
    assert!(
        sends(&effects).is_empty(),
        "nothing leaves before the reload"
    );
    assert!(
        effects.iter().any(|e| matches!(e, Effect::Load)),
        "{effects:?}"
    );
    let effects = hub.handle(Input::Loaded(Ok(hub.stored.clone())));
    let names = hub.names();
    assert!(
        !names.contains(&"Lost".to_owned()) && !names.contains(&"AlsoLost".to_owned()),
        "{names:?}"
    );
    // Every peer is asked to start over: the one whose change was dropped counts it as
    // sent, and would otherwise never send it again.
    let mut reset: Vec<String> = sends(&effects)
        .into_iter()
        .filter_map(|(to, m)| match m {
            WireMessage::Sync { data, .. } => {
                let sync = automerge::sync::Message::decode(&data).unwrap();
                sync.heads.is_empty().then(|| to.peer.to_string())
            }
            _ => None,
        })
        .collect();
    reset.sort();
    assert_eq!(reset, ["a", "b"], "{effects:?}");
    // The peer answers with everything, its lost graft included, and the hub has it back.
    let (_, message) = sends(&effects)
        .into_iter()
        .find(|(to, _)| to.peer == a.peer)
        .unwrap();
    let WireMessage::Sync { data, .. } = message else {
        unreachable!()
    };
    peer.receive_and_answer(&data, &a, &mut hub);
    assert!(
        hub.names().contains(&"Lost".to_owned()),
        "{:?}",
        hub.names()
    );
}

#[test]
fn a_client_request_for_an_unknown_run_asks_the_mesh_first() {
    let mut hub = TestHub::empty();
    let (m1, m2) = (mesh("m1", 1), mesh("m2", 2));
    hub.handle(Input::Mesh(vec![m1.clone(), m2.clone()]));
    let c = client("c", 3);
    let effects = hub.handle(Peer::bare().request_input(&c));
    let asked: Vec<_> = sends(&effects)
        .iter()
        .filter(|(_, m)| matches!(m, WireMessage::Request { .. }))
        .map(|(to, _)| to.peer.clone())
        .collect();
    assert_eq!(asked, vec![m1.peer.clone(), m2.peer.clone()]);
    assert!(unavailable_to(&effects).is_empty());
    assert!(unavailable_to(&hub.handle(Input::Unavailable { from: m1 })).is_empty());
    let effects = hub.handle(Input::Unavailable { from: m2 });
    assert_eq!(unavailable_to(&effects), vec![c.peer]);
}

#[test]
fn a_lookup_gives_up_at_its_deadline() {
    let mut hub = TestHub::empty();
    hub.handle(Input::Mesh(vec![mesh("m1", 1)]));
    let c = client("c", 3);
    hub.handle(Peer::bare().request_input(&c));
    let deadline = hub.hub.next_wake().expect("the hub asks to be woken");
    hub.now = deadline - 1;
    assert!(unavailable_to(&hub.handle(Input::Tick)).is_empty());
    hub.now = deadline;
    assert_eq!(unavailable_to(&hub.handle(Input::Tick)), vec![c.peer]);
    assert_eq!(hub.hub.next_wake(), None);
}

#[test]
fn a_mesh_peer_s_request_is_never_passed_on() {
    let mut hub = TestHub::empty();
    let (m1, m2) = (mesh("m1", 1), mesh("m2", 2));
    hub.handle(Input::Mesh(vec![m1.clone(), m2]));
    let effects = hub.handle(Peer::bare().request_input(&m1));
    assert_eq!(unavailable_to(&effects), vec![m1.peer], "answered at once");
    assert!(
        !sends(&effects)
            .iter()
            .any(|(_, m)| matches!(m, WireMessage::Request { .. })),
        "{effects:?}"
    );
}

#[test]
fn an_unreadable_run_is_unavailable_to_peers_and_refused_to_operations() {
    let mut hub = TestHub::unreadable();
    let c = client("c", 1);
    let mut peer = Peer::new(&c, 2);
    peer.graft("X");
    let effects = hub.handle(peer.sync_input(&c));
    assert_eq!(unavailable_to(&effects), vec![c.peer]);
    let effects = hub.handle(op(1, graft("step1", "X")));
    assert!(matches!(replies(&effects)[..], [(1, Err(ref e))] if e.contains("unreadable")));
}

#[test]
fn changes_past_the_size_limit_are_refused_and_not_applied() {
    let mut hub = TestHub::with_limit(8_000);
    let c = client("c", 1);
    let mut peer = Peer::new(&c, 2);
    hub.connect(&mut peer, &c);
    for i in 0..20 {
        peer.graft(&format!("Agent number {i} with a long enough name"));
    }
    let heads = hub.hub.heads();
    let effects = hub.handle(peer.sync_input(&c));
    let refused = sends(&effects).iter().any(
        |(_, m)| matches!(m, WireMessage::Error { message, .. } if message.contains("--max-document-bytes")),
    );
    assert!(refused, "{effects:?}");
    assert_eq!(hub.hub.heads(), heads, "nothing applied");
    let effects = hub.handle(op(1, graft("step1", "X")));
    assert!(matches!(replies(&effects)[..], [(1, Err(ref e))] if e.contains("limit")));
}

#[test]
fn ephemeral_messages_reach_the_others_once_with_their_sender() {
    let mut hub = TestHub::with_run();
    let (a, b, m) = (client("a", 1), client("b", 2), mesh("m", 3));
    hub.join(&b);
    hub.handle(Input::Mesh(vec![m.clone()]));
    let presence = |from: &runmesh_core::hub::Link, sender: &str| Input::Ephemeral {
        from: from.clone(),
        presence: runmesh_core::hub::Presence {
            sender: sender.into(),
            session_id: "s1".into(),
            count: 1,
            data: vec![1],
        },
    };
    let effects = hub.handle(presence(&a, "a"));
    let mut to: Vec<_> = sends(&effects)
        .iter()
        .map(|(l, _)| l.peer.to_string())
        .collect();
    to.sort();
    assert_eq!(to, ["b", "m"]);
    assert!(sends(&effects).iter().all(
        |(_, msg)| matches!(msg, WireMessage::Ephemeral { sender_id, .. } if sender_id.as_str() == "a")
    ));
    // The same message coming back round the mesh goes nowhere.
    assert!(sends(&hub.handle(presence(&m, "a"))).is_empty());
}

#[test]
fn a_reconnecting_peer_starts_a_fresh_sync_session() {
    let mut hub = TestHub::with_run();
    let a = client("a", 1);
    hub.join(&a);
    let again = runmesh_core::hub::Link {
        session: runmesh_core::hub::SessionId(99),
        ..a.clone()
    };
    let effects = hub.handle(Peer::new(&again, 5).sync_input(&again));
    let answered = sends(&effects)
        .iter()
        .any(|(to, _)| to.session == again.session);
    assert!(answered, "the new connection is answered: {effects:?}");
    // A late `Left` for the old connection leaves the new one attached.
    hub.handle(Input::Left {
        peer: a.peer.clone(),
        session: a.session,
    });
    assert!(!hub.hub.is_idle(), "the new connection still holds the run");
}

#[test]
fn mesh_links_are_attached_and_their_divergence_reported_when_it_changes() {
    let mut hub = TestHub::with_run();
    let m = mesh("m", 1);
    let effects = hub.handle(Input::Mesh(vec![m.clone()]));
    assert_eq!(sends(&effects).len(), 1, "the run is offered: {effects:?}");
    let differs: Vec<_> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Divergence { differs, .. } => Some(*differs),
            _ => None,
        })
        .collect();
    assert_eq!(differs, vec![true], "it has not said what it holds");
    let again = hub.handle(Input::Tick);
    assert!(
        !again.iter().any(|e| matches!(e, Effect::Divergence { .. })),
        "only news is reported"
    );
    hub.handle(Input::Mesh(Vec::new()));
    assert!(
        hub.hub.is_idle(),
        "a run with only mesh peers may be unloaded"
    );
}

#[test]
fn a_snapshot_is_written_every_n_persists() {
    let mut hub = TestHub::with_run();
    let mut snapshots = 0;
    for i in 0..8 {
        let effects = hub.handle(op(i, graft("step1", &format!("A{i}"))));
        let Some(Effect::Persist(persist)) =
            effects.iter().find(|e| matches!(e, Effect::Persist(_)))
        else {
            panic!("{effects:?}")
        };
        snapshots += usize::from(persist.snapshot.is_some());
        let id = persist.id;
        hub.handle(Input::Stored(id));
    }
    assert_eq!(snapshots, 2, "every {SNAPSHOT_EVERY} persists");
}

#[test]
fn inputs_that_arrive_while_loading_wait_for_the_load() {
    let mut hub = TestHub::loading();
    let effects = hub.handle(op(1, graft("step1", "Early")));
    assert!(effects.is_empty(), "{effects:?}");
    let effects = hub.handle(Input::Loaded(Ok(None)));
    let persist = persist_of(&effects).expect("the operation ran after the load");
    let effects = hub.handle(Input::Stored(persist));
    assert_eq!(replies(&effects), vec![(1, Ok(true))]);
    assert!(hub.names().contains(&"Early".to_owned()));
}

#[test]
fn create_on_an_existing_run_is_a_conflict() {
    let mut hub = TestHub::with_run();
    let effects = hub.handle(op(
        1,
        RunOp::Create {
            title: "again".into(),
            steps: Vec::new(),
        },
    ));
    let answered = replies(&effects);
    assert!(matches!(answered[..], [(1, Err(ref e))] if e == &OpError::Exists.to_string()));
}

#[test]
fn a_run_holding_a_change_that_waits_for_its_dependency_stays_in_memory() {
    use automerge::sync::{ChunkList, Message, MessageVersion};
    let mut hub = TestHub::with_run();
    let m = mesh("m", 1);
    hub.handle(Input::Mesh(vec![m.clone()]));
    assert!(hub.hub.is_idle());
    // The peer made two changes; only the second reaches the hub.
    let mut peer = Peer::new(&m, 3);
    peer.graft("First");
    peer.graft("Second");
    let doc = peer.doc();
    let second = doc.get_heads()[0];
    let bytes = doc
        .get_change_by_hash(&second)
        .unwrap()
        .raw_bytes()
        .to_vec();
    let message = Message {
        heads: vec![second],
        need: Vec::new(),
        have: Vec::new(),
        changes: ChunkList::from(vec![bytes]),
        flags: None,
        version: MessageVersion::V1,
    };
    let effects = hub.handle(Input::Sync {
        from: m,
        message,
        request: false,
    });
    assert!(persist_of(&effects).is_none(), "nothing applied yet");
    assert!(
        !hub.hub.is_idle(),
        "unloading now would lose a change the peer counts as sent"
    );
}
