//! Data a run's view skips is listed in its state, at most `MAX_ISSUES_SHOWN` lines: a
//! few kilobytes of changes once put a million nulls in a run's steps, and every read of
//! it was 58 MB.

use automerge::transaction::Transactable;
use automerge::{ROOT, ReadDoc, ScalarValue};
use runmesh_core::{MAX_ISSUES_SHOWN, RunDoc};
use runmesh_testkit::fixtures::*;

#[test]
fn a_thousand_null_steps_are_listed_as_a_hundred_lines_and_a_count() {
    let mut run = RunDoc::create(run_id(), who(1, "eu", "a"), "T", &steps(&["s1"]), 1).unwrap();
    let bytes = {
        let doc = run.automerge_mut();
        let (_, steps) = doc.get(ROOT, "steps").unwrap().unwrap();
        for _ in 0..1_000 {
            doc.insert(&steps, 1, ScalarValue::Null).unwrap();
        }
        doc.commit();
        run.save()
    };
    let state = RunDoc::load(run_id(), who(2, "eu", "b"), &bytes)
        .unwrap()
        .state();
    assert_eq!(state.steps.len(), 1, "the real step stays");
    assert_eq!(state.issues.len(), MAX_ISSUES_SHOWN + 1);
    assert!(
        state.issues[0].contains("expected a map"),
        "{:?}",
        state.issues[0]
    );
    assert_eq!(state.issues[MAX_ISSUES_SHOWN], "… and 900 more skipped");
}
