//! The limits on what changes from outside may do to a run (`lineage/admission.rs`),
//! each from the outside attack that found it: objects nested thousands deep (A04),
//! thousands of concurrent heads (A05), changes piling up while they wait for a
//! dependency (A08), and a change forged to wait on another writer's change so that the
//! change releasing it would panic Automerge. Each is refused with nothing applied, and
//! the run stays readable, savable and writable.

#![cfg(not(target_arch = "wasm32"))]

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ChangeHash, ObjType, ROOT};
use runmesh_core::{MAX_DEPTH, MAX_HEADS, MAX_WAITING, RunDoc, RunError};
use runmesh_testkit::chunks::{forge, hash_of};
use runmesh_testkit::fixtures::*;

/// A document holding what `run` holds, writing as actor `n`.
fn writer(run: &mut RunDoc, n: u32) -> AutoCommit {
    let mut actor = [0xa0; 16];
    actor[..4].copy_from_slice(&n.to_be_bytes());
    AutoCommit::load(&run.save())
        .unwrap()
        .with_actor(ActorId::from(&actor[..]))
}

fn last(doc: &mut AutoCommit) -> Vec<u8> {
    doc.get_last_local_change().unwrap().raw_bytes().to_vec()
}

/// One change by a new writer making `depth` maps, each inside the one before, below
/// `at` (the root if `None`). Returns the change and the innermost map.
fn nested(doc: &mut AutoCommit, at: Option<automerge::ObjId>, depth: usize) -> automerge::ObjId {
    let mut obj = at.unwrap_or(ROOT);
    for _ in 0..depth {
        obj = doc.put_object(&obj, "x", ObjType::Map).unwrap();
    }
    doc.commit();
    obj
}

/// The run after a refusal: nothing applied, and it still reads, saves and grafts.
fn still_sound(run: &mut RunDoc, heads: &[ChangeHash]) {
    assert_eq!(run.heads(), heads, "nothing applied");
    assert_eq!(names(run), ["step1", "step2", "step3"]);
    let saved = run.save();
    RunDoc::load(run_id(), who(9, "us", "x"), &saved).unwrap();
    run.graft("step1", "After", 9_000).unwrap();
}

#[test]
fn objects_nested_past_the_limit_are_refused_in_one_change_or_across_changes() {
    let mut run = three_step_run();
    let heads = run.heads();
    let mut w = writer(&mut run, 1);
    nested(&mut w, None, MAX_DEPTH + 1);
    let err = run.apply_bytes(&last(&mut w)).unwrap_err();
    assert!(
        matches!(err, RunError::TooDeep { limit, .. } if limit == MAX_DEPTH),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("nested more than 32 deep"),
        "{err}"
    );
    still_sound(&mut run, &heads);

    // Up to the limit applies; one more level in a later change does not.
    let mut run = three_step_run();
    let mut w = writer(&mut run, 2);
    let inner = nested(&mut w, None, MAX_DEPTH);
    assert!(run.apply_bytes(&last(&mut w)).unwrap());
    let heads = run.heads();
    nested(&mut w, Some(inner), 1);
    let err = run.apply_bytes(&last(&mut w)).unwrap_err();
    assert!(matches!(err, RunError::TooDeep { .. }), "{err:?}");
    assert_eq!(run.heads(), heads);
    run.graft("step1", "After", 9_000).unwrap();
}

/// `n` changes, each by its own new writer, all on the run's current heads.
fn concurrent(run: &mut RunDoc, n: u32) -> Vec<u8> {
    (0..n)
        .flat_map(|i| {
            let mut w = writer(run, 100 + i);
            w.put(ROOT, "k", i64::from(i)).unwrap();
            w.commit();
            last(&mut w)
        })
        .collect()
}

#[test]
fn changes_leaving_more_heads_than_the_limit_are_refused_and_fewer_apply() {
    let mut run = three_step_run();
    let heads = run.heads();
    let many = concurrent(&mut run, MAX_HEADS as u32 + 1);
    let err = run.apply_bytes(&many).unwrap_err();
    assert!(
        matches!(err, RunError::TooManyHeads { heads, limit } if heads == MAX_HEADS + 1 && limit == MAX_HEADS),
        "{err:?}"
    );
    still_sound(&mut run, &heads);
    let some = concurrent(&mut run, 20);
    assert!(run.apply_bytes(&some).unwrap());
    assert_eq!(run.heads().len(), 20);
    // A local change merges them.
    run.graft("step2", "Merged", 9_500).unwrap();
    assert_eq!(run.heads().len(), 1);
}

#[test]
fn changes_waiting_for_a_dependency_are_capped_across_inputs() {
    let mut run = three_step_run();
    let heads = run.heads();
    let missing = ChangeHash([0x5a; 32]);
    let waiting = |run: &mut RunDoc, from: u32, n: u32| -> Vec<u8> {
        (from..from + n)
            .flat_map(|i| {
                let mut w = writer(run, 1_000 + i);
                w.put(ROOT, "k", 1).unwrap();
                w.commit();
                forge(&last(&mut w), &[missing], 1)
            })
            .collect()
    };
    // Up to the limit wait (the input applies nothing, and is not refused).
    let half = (MAX_WAITING / 2) as u32;
    let first = waiting(&mut run, 0, half);
    assert!(!run.apply_bytes(&first).unwrap());
    let second = waiting(&mut run, half, half);
    assert!(!run.apply_bytes(&second).unwrap());
    // One more, in a later input, would pass it.
    let one_more = waiting(&mut run, 2 * half, 1);
    let err = run.apply_bytes(&one_more).unwrap_err();
    assert!(
        matches!(err, RunError::TooManyWaiting { changes, limit, .. } if changes == MAX_WAITING + 1 && limit == MAX_WAITING),
        "{err:?}"
    );
    still_sound(&mut run, &heads);
}

/// An honest change `run` has not seen yet, and a new writer's change 2 forged to wait on
/// it, applied: it passes, since its writer's change 1 could still come first.
fn forged_waiting_on_an_honest_change(run: &mut RunDoc) -> Vec<u8> {
    let mut honest = writer(run, 7);
    honest.put(ROOT, "honest", 1).unwrap();
    honest.commit();
    let m = last(&mut honest);
    let mut x = writer(run, 8);
    x.put(ROOT, "evil", 1).unwrap();
    x.commit();
    let evil = forge(&last(&mut x), &[hash_of(&m)], 2);
    assert!(!run.apply_bytes(&evil).unwrap(), "it waits");
    m
}

#[test]
fn a_change_forged_to_wait_on_another_writer_is_dropped_when_that_change_comes() {
    let mut run = three_step_run();
    let heads = run.heads();
    let m = forged_waiting_on_an_honest_change(&mut run);
    // The honest change applies; the forged one, which it would release, is dropped.
    assert!(run.apply_bytes(&m).unwrap());
    assert_eq!(run.heads(), vec![hash_of(&m)]);
    assert_ne!(run.heads(), heads);
    let saved = run.save();
    let mut again = RunDoc::load(run_id(), who(9, "us", "x"), &saved).unwrap();
    assert_eq!(again.heads(), vec![hash_of(&m)]);
    run.graft("step1", "After", 9_000).unwrap();
}

#[test]
fn changes_alone_naming_an_unknown_writer_are_refused_when_loaded_fresh() {
    // Loading changes without a document first puts them into a new document, where
    // Automerge would panic on the writer it does not know (a trap in wasm).
    let mut run = three_step_run();
    let mut x = writer(&mut run, 9);
    x.put(ROOT, "k", 1).unwrap();
    x.commit();
    let evil = forge(&last(&mut x), &[], 2);
    let err = RunDoc::load(run_id(), who(9, "us", "x"), &evil).unwrap_err();
    assert!(
        matches!(err, RunError::UnknownWriter { seq: 2, .. }),
        "{err:?}"
    );
}

#[test]
fn a_save_holds_no_change_still_waiting() {
    // A relay's snapshot once held a queued change forged to wait on another writer's;
    // loaded beside the log holding that writer's change, it was released on load, where
    // Automerge panicked: the run answered 500 for good.
    let mut run = three_step_run();
    let m = forged_waiting_on_an_honest_change(&mut run);
    let mut stored = run.save();
    stored.extend(&m);
    let mut loaded = RunDoc::load(run_id(), who(9, "us", "x"), &stored).unwrap();
    assert_eq!(loaded.heads(), vec![hash_of(&m)]);
    assert_eq!(names(&loaded), ["step1", "step2", "step3"]);
}
