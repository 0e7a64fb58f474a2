//! Ops that name ops or elements the run does not hold, or ops of a change the new one
//! does not depend on: Automerge takes them (without an error, or panics), so they are
//! found after it takes them, and the change is refused with nothing stored.

use super::*;

/// The run's `steps` list as an op id.
pub(crate) fn steps_list(run: &mut RunDoc) -> OpId {
    let (_, id) = run
        .automerge_mut()
        .get(automerge::ROOT, "steps")
        .unwrap()
        .unwrap();
    let text = id.to_string();
    let (ctr, actor) = text.split_once('@').unwrap();
    let actor = (0..actor.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&actor[i..i + 2], 16).unwrap())
        .collect::<Vec<u8>>();
    OpId(ctr.parse().unwrap(), ActorId::from(actor))
}

/// Ops that Automerge takes without an error (or panics on) but cannot save as they
/// came, each found by trying them on a run: the save of a run holding any of them did
/// not load ("mismatching heads").
fn misfits(run: &mut RunDoc) -> Vec<(&'static str, Op)> {
    let steps = ObjectId::Id(steps_list(run));
    let writer = run.automerge_mut().get_actor().clone();
    let missing = || OpId(999, writer.clone());
    let put = OpType::Put(ScalarValue::Int(1));
    vec![
        (
            "an overwrite naming an op nobody made",
            Op {
                action: put.clone(),
                obj: ObjectId::Root,
                key: Key::Map("title".into()),
                pred: vec![missing()].into(),
                insert: false,
            },
        ),
        (
            "a deletion of an element the list does not hold",
            Op {
                action: OpType::Delete,
                obj: steps.clone(),
                key: Key::Seq(ElementId::Id(missing())),
                pred: vec![missing()].into(),
                insert: false,
            },
        ),
        (
            "a map key in a list",
            Op {
                action: put.clone(),
                obj: steps.clone(),
                key: Key::Map("x".into()),
                pred: SortedVec::new(),
                insert: false,
            },
        ),
        (
            "an insertion after an element the list does not hold",
            Op {
                action: put,
                obj: steps,
                key: Key::Seq(ElementId::Id(missing())),
                pred: SortedVec::new(),
                insert: true,
            },
        ),
    ]
}

#[test]
fn ops_naming_ops_or_elements_the_run_does_not_hold_are_refused() {
    let mut base = three_step_run();
    let heads = base.heads();
    for (what, misfit) in misfits(&mut base) {
        let mut run = RunDoc::load(run_id(), who(3, "us", "y"), &base.save()).unwrap();
        let evil = change(&actor(0x36), heads.clone(), START, vec![misfit]);
        let err = run.apply_bytes(&evil).unwrap_err();
        assert!(
            matches!(err, RunError::ApplyFailed { .. }),
            "{what}: {err:?}"
        );
        assert!(
            err.to_string()
                .contains("could not apply these changes as they came"),
            "{what}: {err}"
        );
    }
}

/// An insertion into the run's steps list after `after` (the head if `None`).
fn insert(steps: &OpId, after: Option<OpId>, value: i64) -> Op {
    Op {
        action: OpType::Put(ScalarValue::Int(value)),
        obj: ObjectId::Id(steps.clone()),
        key: Key::Seq(after.map_or(ElementId::Head, ElementId::Id)),
        pred: SortedVec::new(),
        insert: true,
    }
}

#[test]
fn an_op_naming_an_op_of_a_change_it_does_not_depend_on_is_refused() {
    // From an outside attack: B inserts into a list; A, not depending on B's change,
    // inserts after B's element. Each applied, and the run read, but it could not be
    // loaded again from its store: every read answered 500 after a restart.
    let mut run = three_step_run();
    let heads = run.heads();
    let steps = steps_list(&mut run);
    let (a, b) = (actor(0x3a), actor(0x3b));
    let by_b = change(&b, heads.clone(), START, vec![insert(&steps, None, 1)]);
    let by_a = change(
        &a,
        heads.clone(),
        START,
        vec![insert(&steps, Some(OpId(START, b.clone())), 2)],
    );
    assert!(run.apply_bytes(&by_b).unwrap());
    let after_b = run.heads();
    let err = run.apply_bytes(&by_a).unwrap_err();
    assert!(
        matches!(&err, RunError::UnseenOp { op, .. } if op.starts_with(&format!("{START}@"))),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("belongs to a change it does not depend on"),
        "{err}"
    );
    still_sound(&mut run, &after_b);
    // Sent together, the same.
    let mut run = three_step_run();
    let err = run.apply_bytes(&[by_b.clone(), by_a].concat()).unwrap_err();
    assert!(matches!(err, RunError::UnseenOp { .. }), "{err:?}");
    // Depending on B's change, A's insertion applies, and the run loads again.
    let mut run = three_step_run();
    let by_a = change(
        &a,
        vec![hash_of(&by_b)],
        START + 1,
        vec![insert(&steps, Some(OpId(START, b)), 2)],
    );
    assert!(run.apply_bytes(&[by_b, by_a].concat()).unwrap());
    RunDoc::load(run_id(), who(9, "us", "x"), &run.save()).unwrap();
}
