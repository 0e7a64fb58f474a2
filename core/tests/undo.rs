//! Undo: one new change reversing one earlier change, refused when a later change
//! superseded it, converging when replicas undo concurrently.

#![cfg(not(target_arch = "wasm32"))]

use runmesh_core::{ChangeHash, FlagValue, RunDoc, RunError};
use runmesh_testkit::fixtures::*;

fn last_change(run: &mut RunDoc) -> ChangeHash {
    run.history().last().unwrap().hash.parse().unwrap()
}

fn replica(of: &mut RunDoc, actor: u8, user: &str) -> RunDoc {
    RunDoc::load(run_id(), who(actor, "eu-west-1", user), &of.save()).unwrap()
}

#[test]
fn undoing_a_graft_retracts_it_and_its_grafts_take_its_place() {
    let mut run = three_step_run();
    let a = run.graft("step1", "A", 2_000).unwrap();
    let made_a = last_change(&mut run);
    run.graft(a.as_str(), "B", 3_000).unwrap();
    run.act_as("bob").unwrap();
    let undo = run.undo(&made_a, 4_000).unwrap();
    assert_eq!(names(&run), ["step1", "B", "step2", "step3"]);
    let state = run.state();
    let b = state.pipeline.iter().find(|n| n.name == "B").unwrap();
    assert_eq!(b.depth, 1, "B takes A's depth");
    let retracted = state
        .grafts
        .iter()
        .find(|g| g.id.as_str() == a.as_str())
        .unwrap();
    let mark = retracted
        .retracted
        .as_ref()
        .expect("A stays, marked retracted");
    assert_eq!((mark.by.as_str(), mark.at), ("bob", 4_000));
    let entry = run.history().pop().unwrap();
    assert_eq!(entry.hash, undo.to_string());
    assert_eq!(entry.op, "retract");
    assert_eq!(entry.undoes, Some(made_a.to_string()));
    // A full read agrees with the view kept from patches.
    let reread = RunDoc::load(run_id(), who(9, "r", "u"), &run.save()).unwrap();
    assert_eq!(reread.state(), run.state());
    // Nothing may be grafted after a retracted graft.
    assert!(matches!(
        run.graft(a.as_str(), "C", 5_000),
        Err(RunError::RetractedAnchor { .. })
    ));
    // Undoing the undo puts A back, with B after it again.
    run.undo(&undo, 6_000).unwrap();
    assert_eq!(names(&run), ["step1", "A", "B", "step2", "step3"]);
    assert_eq!(run.history().pop().unwrap().op, "reinstate");
    // Undoing the first undo again is refused: A is back in the pipeline.
    let err = run.undo(&undo, 7_000).unwrap_err();
    assert!(
        matches!(err, RunError::Superseded { .. }) && err.to_string().contains("reinstated"),
        "{err}"
    );
}

#[test]
fn undoing_a_prune_restores_and_undoing_a_restore_prunes() {
    let mut run = three_step_run();
    run.prune("step2", 2_000).unwrap();
    let pruned = last_change(&mut run);
    run.undo(&pruned, 3_000).unwrap();
    assert!(run.state().pruned_steps.is_empty());
    let restored = last_change(&mut run);
    run.undo(&restored, 4_000).unwrap();
    assert_eq!(run.state().pruned_steps[0].id.as_str(), "step2");
    // The first prune was restored and pruned again since: it cannot be undone now.
    let err = run.undo(&pruned, 5_000).unwrap_err();
    assert!(matches!(err, RunError::Superseded { .. }), "{err}");
    assert!(err.to_string().contains("pruned again"), "{err}");
}

#[test]
fn undoing_a_flag_write_brings_back_the_value_before_it() {
    let mut run = three_step_run();
    run.set_flag("mode", FlagValue::Str("fast".into()), 2_000)
        .unwrap();
    let first = last_change(&mut run);
    run.set_flag("mode", FlagValue::Str("safe".into()), 3_000)
        .unwrap();
    let second = last_change(&mut run);
    // The first write was overwritten: refused, and nothing is written.
    let heads = run.heads();
    let err = run.undo(&first, 4_000).unwrap_err();
    assert!(matches!(err, RunError::Superseded { .. }), "{err}");
    assert!(err.to_string().contains(r#"it is set to "safe""#), "{err}");
    assert_eq!(run.heads(), heads, "a refused undo writes nothing");
    run.undo(&second, 5_000).unwrap();
    assert_eq!(
        run.state().flags.get("mode"),
        Some(&FlagValue::Str("fast".into()))
    );
    run.undo(&first, 6_000).unwrap();
    assert!(run.state().flags.is_empty(), "the flag was not set before");
}

#[test]
fn what_cannot_be_undone_says_why() {
    let mut run = three_step_run();
    let create = last_change(&mut run);
    let err = run.undo(&create, 2_000).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("change {create} cannot be undone: it creates the run")
    );
    let unknown: ChangeHash = "00".repeat(32).parse().unwrap();
    let err = run.undo(&unknown, 2_000).unwrap_err();
    assert!(matches!(err, RunError::UnknownHeads { .. }), "{err}");
}

#[test]
fn the_diff_of_an_undo_names_the_retracted_graft() {
    let mut run = three_step_run();
    run.graft("step1", "A", 2_000).unwrap();
    let made = last_change(&mut run);
    let before = run.heads();
    run.undo(&made, 3_000).unwrap();
    let after = run.heads();
    let diff = run.diff(&before, &after).unwrap();
    assert_eq!(diff.retracted.len(), 1, "{diff:?}");
    assert_eq!(diff.retracted[0].agent_name, "A");
    assert!(diff.grafts_added.is_empty() && diff.grafts_removed.is_empty());
    let back = run.diff(&after, &before).unwrap();
    assert_eq!(back.reinstated.len(), 1, "{back:?}");
    // From before the graft to after its undo: nothing to show.
    let created: ChangeHash = run.history()[0].hash.parse().unwrap();
    let whole = run.diff(&[created], &after).unwrap();
    assert!(
        whole.grafts_added.is_empty() && whole.retracted.is_empty(),
        "{whole:?}"
    );
}

#[test]
fn two_replicas_undoing_one_change_at_once_converge() {
    let mut a = three_step_run();
    a.graft("step1", "A", 2_000).unwrap();
    a.prune("step3", 2_500).unwrap();
    let mut b = replica(&mut a, 2, "bob");
    let history = a.history();
    let made = history[history.len() - 2].hash.parse().unwrap();
    let pruned = history[history.len() - 1].hash.parse().unwrap();
    a.undo(&made, 3_000).unwrap();
    b.undo(&made, 3_001).unwrap();
    // One replica restores the prune while the other prunes the step again on top.
    a.undo(&pruned, 3_002).unwrap();
    b.set_flag("mode", FlagValue::Bool(true), 3_003).unwrap();
    a.merge(&mut b).unwrap();
    b.merge(&mut a).unwrap();
    assert_eq!(a.heads(), b.heads());
    assert_eq!(a.state(), b.state());
    assert_eq!(names(&a), ["step1", "step2", "step3"]);
    assert!(a.state().pruned_steps.is_empty());
}

#[test]
fn a_change_another_tool_wrote_is_undone_from_what_it_changed() {
    use automerge::ReadDoc;
    use automerge::transaction::Transactable;
    let mut run = three_step_run();
    let doc = run.automerge_mut();
    let (_, flags) = doc.get(automerge::ROOT, "flags").unwrap().unwrap();
    doc.put(&flags, "mode", "foreign").unwrap();
    doc.commit();
    run.refresh();
    let foreign = last_change(&mut run);
    assert_eq!(run.history().last().unwrap().op, "change");
    run.undo(&foreign, 2_000).unwrap();
    assert!(run.state().flags.is_empty(), "{:?}", run.state().flags);
}
