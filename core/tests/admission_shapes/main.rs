//! Changes whose ops Automerge's own API never writes, built from their parts (Automerge's
//! expanded form, encoded by Automerge) or taken from an outside attack, each of which
//! passed the first admission checks: maps nested in reverse order (op i inside the map
//! op i+1 makes), an op into an object nobody made, ops that do not come after their
//! dependencies', and a change encoded otherwise than Automerge encodes it. Each is
//! refused with nothing applied; without the check the first killed a 4 GiB relay, the
//! second panicked Automerge mid-apply, and the last two left a run whose next save could
//! not be loaded. Ops that name ops or elements the run does not hold are found after
//! Automerge takes them (it takes them without an error, or panics): the change is
//! refused, nothing is stored, and a relay loads the run again (`tests/hub/admission.rs`).

#![cfg(not(target_arch = "wasm32"))]

use std::num::NonZeroU64;

use automerge::legacy::{ElementId, Key, MarkData, ObjectId, Op, OpId, OpType, SortedVec};
use automerge::{ActorId, Change, ChangeHash, ExpandedChange, ObjType, ReadDoc, ScalarValue};
use runmesh_core::{MAX_DEPTH, RunDoc, RunError};
use runmesh_testkit::chunks::{forge, hash_of};
use runmesh_testkit::fixtures::*;

mod references;

use references::steps_list;

pub(crate) fn actor(n: u8) -> ActorId {
    ActorId::from(&[n; 16][..])
}

pub(crate) fn op(obj: Option<(u64, &ActorId)>, action: OpType) -> Op {
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

/// Where a change on the three-step run starts: right after its ops (1 to 79), as
/// Automerge starts every change (a gap is refused: `OpsSkipped`).
pub(crate) const START: u64 = 80;

/// Where a change on `run` as it is starts: right after its last op.
pub(crate) fn next_op(run: &mut RunDoc) -> u64 {
    let doc = run.automerge_mut();
    doc.get_changes_meta(&[])
        .iter()
        .map(|c| c.max_op)
        .max()
        .unwrap_or(0)
        + 1
}

/// A change by `by` (its change 1) on `deps`, starting at op `start`, encoded by
/// Automerge.
pub(crate) fn change(by: &ActorId, deps: Vec<ChangeHash>, start: u64, ops: Vec<Op>) -> Vec<u8> {
    change_n(by, 1, deps, start, ops, Vec::new())
}

/// Change `seq` by `by`, with `extra` bytes after its ops.
pub(crate) fn change_n(
    by: &ActorId,
    seq: u64,
    deps: Vec<ChangeHash>,
    start: u64,
    ops: Vec<Op>,
    extra: Vec<u8>,
) -> Vec<u8> {
    let expanded = ExpandedChange {
        operations: ops,
        actor_id: by.clone(),
        hash: None,
        seq,
        start_op: NonZeroU64::new(start).unwrap(),
        time: 0,
        message: None,
        deps,
        extra_bytes: extra,
        author: None,
    };
    Change::from(expanded).raw_bytes().to_vec()
}

/// The run after a refusal: nothing applied; it still saves, loads and grafts.
pub(crate) fn still_sound(run: &mut RunDoc, heads: &[ChangeHash]) {
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
    let start = START;
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
        let next = next_op(&mut run);
        let evil = change(&actor(0x33), heads.clone(), next, vec![put]);
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
    let first = change(&actor(0x34), heads.clone(), START, put());
    for start in [START - 1, START] {
        let heads = run.heads();
        let second = change(&actor(0x35), vec![hash_of(&first)], start, put());
        let err = run
            .apply_bytes(&[first.clone(), second].concat())
            .unwrap_err();
        assert!(
            matches!(err, RunError::OpsOutOfOrder { start_op, dep_max_op: d, .. } if start_op == start && d == START),
            "{err:?}"
        );
        still_sound(&mut run, &heads);
    }
    let mut run = three_step_run();
    let second = change(&actor(0x35), vec![hash_of(&first)], START + 1, put());
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
    // The same ops as Automerge encodes them apply (started where Automerge would).
    let mut expanded = Change::try_from(&evil[..]).unwrap().decode();
    expanded.start_op = NonZeroU64::new(START).unwrap();
    let fine = Change::from(expanded);
    assert!(run.apply_bytes(fine.raw_bytes()).unwrap());
    let saved = run.save();
    RunDoc::load(run_id(), who(9, "us", "x"), &saved).unwrap();
}

#[test]
fn a_writer_s_change_that_does_not_follow_its_previous_one_is_refused() {
    let mut run = three_step_run();
    let heads = run.heads();
    let by = actor(0x3c);
    let put = |key: &str| Op {
        action: OpType::Put(ScalarValue::Int(1)),
        obj: ObjectId::Root,
        key: Key::Map(key.into()),
        pred: SortedVec::new(),
        insert: false,
    };
    let first = change_n(&by, 1, heads.clone(), START, vec![put("a")], Vec::new());
    let second = change_n(&by, 2, heads.clone(), START + 1, vec![put("b")], Vec::new());
    let err = run
        .apply_bytes(&[first.clone(), second].concat())
        .unwrap_err();
    assert!(
        matches!(err, RunError::SkipsOwnChange { seq: 2, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("does not come after that actor's change 1"),
        "{err}"
    );
    still_sound(&mut run, &heads);
    let mut run = three_step_run();
    let second = change_n(
        &by,
        2,
        vec![hash_of(&first)],
        START + 1,
        vec![put("b")],
        Vec::new(),
    );
    assert!(run.apply_bytes(&[first, second].concat()).unwrap());
}

#[test]
fn mark_ops_and_large_trailing_bytes_are_refused() {
    let mut run = three_step_run();
    let heads = run.heads();
    let steps = steps_list(&mut run);
    let mark = Op {
        action: OpType::MarkBegin(MarkData {
            name: "bold".into(),
            value: ScalarValue::Boolean(true),
            expand: true,
        }),
        obj: ObjectId::Id(steps),
        key: Key::Seq(ElementId::Head),
        pred: SortedVec::new(),
        insert: true,
    };
    let err = run
        .apply_bytes(&change(&actor(0x3d), heads.clone(), START, vec![mark]))
        .unwrap_err();
    assert!(
        matches!(&err, RunError::Unsupported { what, .. } if what.contains("mark ops")),
        "{err:?}"
    );
    let put = Op {
        action: OpType::Put(ScalarValue::Int(1)),
        obj: ObjectId::Root,
        key: Key::Map("k".into()),
        pred: SortedVec::new(),
        insert: false,
    };
    let padded = change_n(
        &actor(0x3e),
        1,
        heads.clone(),
        START,
        vec![put],
        vec![0; 5_000],
    );
    let err = run.apply_bytes(&padded).unwrap_err();
    assert!(
        matches!(&err, RunError::Unsupported { what, .. } if what.contains("5000 bytes after its ops")),
        "{err:?}"
    );
    still_sound(&mut run, &heads);
}

#[test]
fn a_change_that_leaves_a_gap_after_its_dependencies_ops_is_refused() {
    // From the fifth attack: a change without ops starting 3 past its dependencies'
    // last op. Automerge took and saved it; the save did not load ("missing ops"): once
    // the relay wrote a snapshot, the run answered 500 for ever, its backup too.
    let mut run = three_step_run();
    assert_eq!(next_op(&mut run), START);
    for (ops, gap) in [
        (vec![], 3),
        (vec![op(None, OpType::Put(ScalarValue::Int(1)))], 1),
    ] {
        let heads = run.heads();
        let next = next_op(&mut run);
        let skips = change(&actor(0x3e), heads.clone(), next + gap, ops);
        let err = run.apply_bytes(&skips).unwrap_err();
        assert!(
            matches!(err, RunError::OpsSkipped { start_op, dep_max_op, .. } if start_op == next + gap && dep_max_op == next - 1),
            "{err:?}"
        );
        assert!(err.to_string().contains("starts right after them"), "{err}");
        still_sound(&mut run, &heads);
    }
    // Where Automerge starts it, an empty change applies and the run loads again.
    let mut run = three_step_run();
    let honest = change(&actor(0x3e), run.heads(), START, vec![]);
    assert!(run.apply_bytes(&honest).unwrap());
    RunDoc::load(run_id(), who(9, "us", "x"), &run.save()).unwrap();
}
