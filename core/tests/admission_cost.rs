//! What checking many changes sent together costs stays near one step a change for the
//! shapes changes have (a sixth outside attack stalled a relay with a 640-byte body of a
//! 64,000-change chain, each inserting into a list the first made), and an input whose
//! changes name ops far back in their own history is refused with a bounded cost.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ROOT, ReadDoc, ScalarValue};
use runmesh_core::{RunDoc, RunError};
use runmesh_testkit::fixtures::*;

/// `n` changes on top of the three-step run, made by Automerge: `write(doc, k)` is the
/// k-th. Returns the run and the changes' bytes.
fn changes(n: usize, write: impl Fn(&mut AutoCommit, usize)) -> (RunDoc, Vec<u8>) {
    let run = three_step_run();
    let mut doc = AutoCommit::load(&run.clone().save()).unwrap();
    let before = doc.get_heads();
    for k in 0..n {
        write(&mut doc, k);
        doc.commit();
    }
    let bytes = doc
        .get_changes(&before)
        .iter()
        .flat_map(|c| c.raw_bytes().to_vec())
        .collect();
    (run, bytes)
}

#[test]
fn a_chain_inserting_into_a_list_its_first_change_made_is_taken() {
    let (mut run, bytes) = changes(4_000, |doc, k| {
        let list = match doc.get(ROOT, "l").unwrap() {
            Some((_, list)) => list,
            None => doc.put_object(ROOT, "l", ObjType::List).unwrap(),
        };
        doc.insert(&list, k, ScalarValue::Int(k as i64)).unwrap();
    });
    assert!(run.apply_bytes(&bytes).unwrap());
}

#[test]
fn changes_naming_ops_far_back_in_their_history_are_refused_at_a_bounded_cost() {
    // Change k makes map k and writes into map k/2: each names a different change, half
    // its history back.
    let (mut run, bytes) = changes(4_000, |doc, k| {
        doc.put_object(ROOT, format!("m{k}"), ObjType::Map).unwrap();
        let (_, older) = doc.get(ROOT, format!("m{}", k / 2)).unwrap().unwrap();
        doc.put(&older, format!("k{k}"), 1).unwrap();
    });
    let heads = run.heads();
    let err = run.apply_bytes(&bytes).unwrap_err();
    assert!(
        matches!(err, RunError::TooTangled { changes: 4_000 }),
        "{err:?}"
    );
    assert!(err.to_string().contains("smaller batches"), "{err}");
    assert_eq!(run.heads(), heads, "nothing applied");
    // Sent a few at a time, the same changes are taken.
    let (mut run, small) = changes(300, |doc, k| {
        doc.put_object(ROOT, format!("m{k}"), ObjType::Map).unwrap();
        let (_, older) = doc.get(ROOT, format!("m{}", k / 2)).unwrap().unwrap();
        doc.put(&older, format!("k{k}"), 1).unwrap();
    });
    assert!(run.apply_bytes(&small).unwrap());
}
