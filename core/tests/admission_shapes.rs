//! Changes whose ops Automerge's own API never writes, built from their parts (Automerge's
//! expanded form, encoded by Automerge) or taken from an outside attack, each of which
//! passed the first admission checks: maps nested in reverse order (op i inside the map
//! op i+1 makes), an op into an object nobody made, ops that do not come after their
//! dependencies', and a change encoded otherwise than Automerge encodes it. Each is
//! refused with nothing applied; without the check the first killed a 4 GiB relay, the
//! second panicked Automerge mid-apply, and the last two left a run whose next save could
//! not be loaded.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::num::NonZeroU64;

use automerge::legacy::{Key, ObjectId, Op, OpId, OpType, SortedVec};
use automerge::{ActorId, Change, ChangeHash, ExpandedChange, ObjType, ScalarValue};
use common::*;
use runmesh_core::{MAX_DEPTH, RunDoc, RunError};

fn actor(n: u8) -> ActorId {
    ActorId::from(&[n; 16][..])
}

fn op(obj: Option<(u64, &ActorId)>, action: OpType) -> Op {
    Op {
        action,
        obj: match obj {
            None => ObjectId::Root,
            Some((ctr, a)) => ObjectId::Id(OpId(ctr, a.clone())),
        },
        key: Key::Map("x".into()),
        pred: SortedVec::new(),
        insert: false,
    }
}

/// A change by `by` (its change 1) on `deps`, starting at op `start`, encoded by
/// Automerge.
fn change(by: &ActorId, deps: Vec<ChangeHash>, start: u64, ops: Vec<Op>) -> Vec<u8> {
    let expanded = ExpandedChange {
        operations: ops,
        actor_id: by.clone(),
        hash: None,
        seq: 1,
        start_op: NonZeroU64::new(start).unwrap(),
        time: 0,
        message: None,
        deps,
        extra_bytes: Vec::new(),
        author: None,
    };
    Change::from(expanded).raw_bytes().to_vec()
}

/// The run after a refusal: nothing applied; it still saves, loads and grafts.
fn still_sound(run: &mut RunDoc, heads: &[ChangeHash]) {
    assert_eq!(run.heads(), heads, "nothing applied");
    let saved = run.save();
    RunDoc::load(run_id(), who(9, "us", "x"), &saved).unwrap();
    run.graft("step1", "After", 9_000).unwrap();
}

#[test]
fn maps_nested_in_reverse_order_are_counted_all_together() {
    let mut run = three_step_run();
    let heads = run.heads();
    let by = actor(0x31);
    let start = 1_000;
    let nest = |n: u64| -> Vec<Op> {
        // Op i makes a map inside the one op i+1 makes; the last is made at the root.
        (0..n)
            .map(|i| {
                let parent = (i + 1 < n).then(|| (start + i + 1, &by));
                op(parent, OpType::Make(ObjType::Map))
            })
            .collect()
    };
    let deep = change(&by, heads.clone(), start, nest(MAX_DEPTH as u64 + 1));
    let err = run.apply_bytes(&deep).unwrap_err();
    assert!(matches!(err, RunError::TooDeep { .. }), "{err:?}");
    still_sound(&mut run, &heads);
    let mut run = three_step_run();
    let fits = change(&by, heads.clone(), start, nest(MAX_DEPTH as u64));
    assert!(run.apply_bytes(&fits).unwrap());
}

#[test]
fn an_op_into_an_object_nobody_made_is_refused() {
    let mut run = three_step_run();
    // An object of the new writer itself, and one of the run's own writer, that nobody
    // made.
    let writer = run.automerge_mut().get_actor().clone();
    for owner in [actor(0x33), writer] {
        let heads = run.heads();
        let put = op(Some((999, &owner)), OpType::Put(ScalarValue::Int(1)));
        let evil = change(&actor(0x33), heads.clone(), 1_000, vec![put]);
        let err = run.apply_bytes(&evil).unwrap_err();
        assert!(
            matches!(&err, RunError::UnknownObject { object, .. } if object.starts_with("999@")),
            "{err:?}"
        );
        assert!(err.to_string().contains("writes into object 999@"), "{err}");
        still_sound(&mut run, &heads);
    }
}

#[test]
fn a_change_whose_ops_do_not_come_after_its_dependencies_is_refused() {
    let mut run = three_step_run();
    let heads = run.heads();
    let put = || vec![op(None, OpType::Put(ScalarValue::Int(1)))];
    let first = change(&actor(0x34), heads.clone(), 1_000, put());
    for start in [999, 1_000] {
        let heads = run.heads();
        let second = change(&actor(0x35), vec![hash_of(&first)], start, put());
        let err = run
            .apply_bytes(&[first.clone(), second].concat())
            .unwrap_err();
        assert!(
            matches!(err, RunError::OpsOutOfOrder { start_op, dep_max_op: 1_000, .. } if start_op == start),
            "{err:?}"
        );
        still_sound(&mut run, &heads);
    }
    let mut run = three_step_run();
    let second = change(&actor(0x35), vec![hash_of(&first)], 1_001, put());
    assert!(run.apply_bytes(&[first, second].concat()).unwrap());
    let saved = run.save();
    RunDoc::load(run_id(), who(9, "us", "x"), &saved).unwrap();
}

#[test]
fn a_change_not_encoded_as_automerge_encodes_it_is_refused() {
    // From an outside attack: two map ops whose equal values are written as literal runs
    // of one. Accepted, it left a run whose save failed to load ("mismatching heads").
    let mut run = three_step_run();
    let heads = run.heads();
    let attack = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/noncanonical_change.bin"
    ))
    .unwrap();
    let evil = forge(&attack, &heads, 1);
    let err = run.apply_bytes(&evil).unwrap_err();
    assert!(
        matches!(err, RunError::NotCanonical { seq: 1, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("not encoded as Automerge encodes it"),
        "{err}"
    );
    still_sound(&mut run, &heads);
    // The same ops as Automerge encodes them apply.
    let fine = Change::from(Change::try_from(&evil[..]).unwrap().decode());
    assert!(run.apply_bytes(fine.raw_bytes()).unwrap());
    let saved = run.save();
    RunDoc::load(run_id(), who(9, "us", "x"), &saved).unwrap();
}
