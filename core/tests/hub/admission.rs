//! The limits of `lineage/admission.rs` on a client's socket messages through the hub:
//! a change nesting maps past the depth limit (the attack's A04) and a message of more
//! concurrent changes than the heads limit (A05) are refused with an error naming the
//! limit; nothing is stored and other clients' changes still apply.

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ObjType, ROOT};
use runmesh_core::hub::Input;
use runmesh_core::{MAX_DEPTH, MAX_HEADS};

use crate::lineage::{carrying, errors};
use runmesh_testkit::run_hub::*;

/// A change by writer `n` on top of `doc`, made by `write`.
fn change(doc: &mut AutoCommit, n: u32, write: impl FnOnce(&mut AutoCommit)) -> Vec<u8> {
    let mut actor = [0xc0; 16];
    actor[..4].copy_from_slice(&n.to_be_bytes());
    let mut fork = doc.fork().with_actor(ActorId::from(&actor[..]));
    write(&mut fork);
    fork.commit();
    fork.get_last_local_change().unwrap().raw_bytes().to_vec()
}

#[test]
fn a_socket_message_nesting_maps_past_the_limit_is_refused() {
    let mut hub = TestHub::with_run();
    let a = client("a", 1);
    let mut peer = Peer::new(&a, 3);
    hub.connect(&mut peer, &a);
    let heads = hub.hub.heads();
    let deep = change(peer.doc(), 1, |d| {
        let mut obj = ROOT;
        for _ in 0..4 * MAX_DEPTH {
            obj = d.put_object(&obj, "x", ObjType::Map).unwrap();
        }
    });
    let effects = hub.handle(carrying(&a, vec![deep]));
    assert!(persist_of(&effects).is_none(), "{effects:?}");
    let errors = errors(&effects);
    assert!(
        matches!(&errors[..], [e] if e.contains(&format!("nested more than {MAX_DEPTH} deep"))),
        "{errors:?}"
    );
    assert_eq!(hub.hub.heads(), heads);
    let fine = change(peer.doc(), 2, |d| d.put(ROOT, "k", 1).unwrap());
    let effects = hub.handle(carrying(&a, vec![fine]));
    assert!(persist_of(&effects).is_some(), "{effects:?}");
}

#[test]
fn a_socket_message_of_more_concurrent_changes_than_the_heads_limit_is_refused() {
    let mut hub = TestHub::with_run();
    let a = client("a", 1);
    let mut peer = Peer::new(&a, 3);
    hub.connect(&mut peer, &a);
    let heads = hub.hub.heads();
    let many = (0..=MAX_HEADS as u32)
        .map(|n| change(peer.doc(), 100 + n, |d| d.put(ROOT, "k", 1).unwrap()))
        .collect();
    let effects = hub.handle(carrying(&a, many));
    assert!(persist_of(&effects).is_none(), "{effects:?}");
    let errors = errors(&effects);
    assert!(
        matches!(&errors[..], [e] if e.contains(&format!("{} concurrent heads", MAX_HEADS + 1))),
        "{errors:?}"
    );
    assert_eq!(hub.hub.heads(), heads);
}

#[test]
fn a_socket_message_automerge_cannot_keep_as_it_came_is_refused_and_the_run_reloaded() {
    use automerge::legacy::{Key, ObjectId, Op, OpId, OpType, SortedVec};
    use automerge::{Change, ExpandedChange, ReadDoc, ScalarValue};
    use runmesh_core::hub::{Effect, Stored};

    let mut hub = TestHub::with_run();
    let a = client("a", 1);
    let mut peer = Peer::new(&a, 3);
    hub.connect(&mut peer, &a);
    let heads = hub.hub.heads();
    // A map key in the run's `steps` list: Automerge takes it without an error, but a
    // save holding it does not load.
    let (_, steps) = peer.doc().get(ROOT, "steps").unwrap().unwrap();
    let steps = steps.to_string();
    let (ctr, owner) = steps.split_once('@').unwrap();
    let owner = (0..owner.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&owner[i..i + 2], 16).unwrap())
        .collect::<Vec<u8>>();
    let misfit = Op {
        action: OpType::Put(ScalarValue::Int(1)),
        obj: ObjectId::Id(OpId(ctr.parse().unwrap(), ActorId::from(owner))),
        key: Key::Map("x".into()),
        pred: SortedVec::new(),
        insert: false,
    };
    // Started right after the run's ops, as Automerge starts a change.
    let next = peer
        .doc()
        .get_changes_meta(&[])
        .iter()
        .map(|c| c.max_op)
        .max()
        .unwrap()
        + 1;
    let change = Change::from(ExpandedChange {
        operations: vec![misfit],
        actor_id: ActorId::from(&[0xc7; 16][..]),
        hash: None,
        seq: 1,
        start_op: std::num::NonZeroU64::new(next).unwrap(),
        time: 0,
        message: None,
        deps: heads.clone(),
        extra_bytes: Vec::new(),
        author: None,
    });
    let effects = hub.handle(carrying(&a, vec![change.raw_bytes().to_vec()]));
    assert!(persist_of(&effects).is_none(), "{effects:?}");
    let errors = errors(&effects);
    assert!(
        matches!(&errors[..], [e] if e.contains("could not apply these changes as they came")),
        "{errors:?}"
    );
    // The run as held is dropped and loaded again from the store.
    assert!(
        effects.iter().any(|e| matches!(e, Effect::Load)),
        "{effects:?}"
    );
    let stored = Stored {
        bytes: base_run().save(),
        chunks: 0,
    };
    hub.handle(Input::Loaded(Ok(Some(stored))));
    assert_eq!(hub.hub.heads(), heads);
    let effects = hub.handle(op(2, graft("step1", "After")));
    assert!(persist_of(&effects).is_some(), "{effects:?}");
}

#[test]
fn a_mesh_peer_s_changes_are_checked_unless_the_mesh_is_known() {
    let deep = |peer: &mut Peer| {
        change(peer.doc(), 9, |d| {
            let mut obj = ROOT;
            for _ in 0..2 * MAX_DEPTH {
                obj = d.put_object(&obj, "x", ObjType::Map).unwrap();
            }
        })
    };
    // Anyone may join an open relay without a mesh token as a "relay".
    let mut hub = TestHub::with_run_and_open_mesh();
    let m = mesh("claims-to-be-a-relay", 1);
    let mut peer = Peer::new(&m, 3);
    hub.connect(&mut peer, &m);
    let heads = hub.hub.heads();
    let effects = hub.handle(carrying(&m, vec![deep(&mut peer)]));
    assert!(persist_of(&effects).is_none(), "{effects:?}");
    assert!(
        matches!(&errors(&effects)[..], [e] if e.contains("nested more than")),
        "{effects:?}"
    );
    assert_eq!(hub.hub.heads(), heads);
    // A mesh known by its token: its relay checked what it sends.
    let mut hub = TestHub::with_run();
    let mut peer = Peer::new(&m, 3);
    hub.connect(&mut peer, &m);
    let effects = hub.handle(carrying(&m, vec![deep(&mut peer)]));
    assert!(persist_of(&effects).is_some(), "{effects:?}");
}
