//! A run stays a run through the hub: a change outside the run's lineage that a client
//! sends is refused with an `error` and nothing is stored; what a mesh peer or the store
//! holds from before the rule is taken and read.

use automerge::sync::{ChunkList, Message, MessageVersion};
use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, ObjType, ROOT};
use runmesh_core::GENESIS;
use runmesh_core::hub::{Effect, Input, RunOp};
use runmesh_core::sync::WireMessage;

use runmesh_core::hub::Link;
use runmesh_testkit::run_hub::*;

/// A small valid document of its own whose root has `title` and `steps`.
fn foreign() -> AutoCommit {
    let mut doc = AutoCommit::new().with_actor(ActorId::from(&[66u8; 16][..]));
    doc.put(ROOT, "title", "pwned").unwrap();
    doc.put_object(ROOT, "steps", ObjType::Map).unwrap();
    doc.commit_with(CommitOptions::default().with_time(0));
    doc
}

/// The base run after a `/sync` of [`foreign`] before the rule: what is on disk.
fn damaged() -> Vec<u8> {
    let mut doc = AutoCommit::load(&base_run().save()).unwrap();
    doc.merge(&mut foreign()).unwrap();
    doc.save()
}

pub(crate) fn errors(effects: &[Effect<u64>]) -> Vec<String> {
    sends(effects)
        .into_iter()
        .filter_map(|(_, m)| match m {
            WireMessage::Error { message, .. } => Some(message),
            _ => None,
        })
        .collect()
}

/// A sync message carrying `changes` as they are.
pub(crate) fn carrying(from: &Link, changes: Vec<Vec<u8>>) -> Input<u64> {
    let message = Message {
        heads: Vec::new(),
        need: Vec::new(),
        have: Vec::new(),
        changes: ChunkList::from(changes),
        flags: None,
        version: MessageVersion::V1,
    };
    Input::Sync {
        from: from.clone(),
        message,
        request: false,
    }
}

#[test]
fn a_client_s_change_without_the_genesis_is_refused_and_nothing_is_stored() {
    let mut hub = TestHub::with_run();
    let a = client("a", 1);
    let mut peer = Peer::new(&a, 3);
    hub.connect(&mut peer, &a);
    let heads = hub.hub.heads();
    peer.doc().merge(&mut foreign()).unwrap();
    let effects = hub.handle(peer.sync_input(&a));
    assert!(persist_of(&effects).is_none(), "{effects:?}");
    let errors = errors(&effects);
    assert!(
        matches!(&errors[..], [e] if e.contains("not the run's genesis")),
        "{errors:?}"
    );
    assert_eq!(hub.hub.heads(), heads);
    assert_eq!(hub.names(), ["step1", "step2", "step3"]);
}

#[test]
fn rest_sync_of_a_document_of_its_own_is_refused_into_a_run_or_none() {
    let apply = |bytes: Vec<u8>| RunOp::ApplyBytes {
        bytes,
        source_region: "elsewhere".into(),
    };
    let mut hub = TestHub::with_run();
    let answered = replies(&hub.handle(op(1, apply(foreign().save()))));
    assert!(
        matches!(&answered[..], [(1, Err(e))] if e.contains("not the run's genesis")),
        "{answered:?}"
    );
    let mut hub = TestHub::empty();
    let answered = replies(&hub.handle(op(2, apply(damaged()))));
    assert!(
        matches!(&answered[..], [(2, Err(e))] if e.contains("not the run's genesis")),
        "{answered:?}"
    );
    assert!(hub.hub.state().is_err(), "nothing was created");
}

#[test]
fn a_run_damaged_before_the_rule_loads_from_the_store_and_reads() {
    let mut hub = TestHub::with_stored(damaged());
    let state = hub
        .hub
        .state()
        .expect("a run, not \"document is not a run\"");
    assert_eq!(hub.names(), ["step1", "step2", "step3"]);
    assert!(
        state.issues.iter().any(|i| i.starts_with("steps: ")),
        "{:?}",
        state.issues
    );
    let effects = hub.handle(op(1, graft("step1", "Still")));
    let persist = persist_of(&effects).unwrap();
    assert_eq!(
        replies(&hub.handle(Input::Stored(persist))),
        [(1, Ok(true))]
    );
    assert_eq!(hub.names(), ["step1", "Still", "step2", "step3"]);
}

#[test]
fn a_mesh_peer_s_run_from_before_the_rule_is_taken_and_read() {
    let mut hub = TestHub::with_run();
    let m = mesh("m", 1);
    let mut peer = Peer::new(&m, 3);
    hub.connect(&mut peer, &m);
    peer.doc().merge(&mut foreign()).unwrap();
    let effects = hub.handle(peer.sync_input(&m));
    assert!(errors(&effects).is_empty(), "{effects:?}");
    assert!(persist_of(&effects).is_some(), "{effects:?}");
    assert_eq!(hub.names(), ["step1", "step2", "step3"]);
    let issues = hub.hub.state().unwrap().issues;
    assert!(
        issues.iter().any(|i| i.starts_with("steps: ")),
        "{issues:?}"
    );
}

#[test]
fn a_genesis_sent_into_another_document_is_refused() {
    let mut hub = TestHub::empty();
    let a = client("a", 1);
    let mut other = foreign();
    let own = other.get_last_local_change().unwrap().raw_bytes().to_vec();
    // A stock client's own document is stored like any.
    let effects = hub.handle(carrying(&a, vec![own.clone()]));
    assert!(errors(&effects).is_empty(), "{effects:?}");
    let effects = hub.handle(carrying(&a, vec![GENESIS.to_vec()]));
    let said = errors(&effects);
    assert!(
        matches!(&said[..], [e] if e.contains("cannot become one")),
        "{said:?}"
    );
    // Nor may one message bring both.
    let mut hub = TestHub::empty();
    let effects = hub.handle(carrying(&a, vec![GENESIS.to_vec(), own]));
    assert!(!errors(&effects).is_empty(), "{effects:?}");
}
