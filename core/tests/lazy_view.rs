//! The view is read on first use, not on load: a replica that only syncs a run never
//! reads it, and one that reads it late sees the same run as one that read it at once.

use runmesh_core::{FlagValue, RunDoc};
use runmesh_testkit::fixtures::*;

fn full_read(run: &mut RunDoc) -> String {
    RunDoc::load(run_id(), who(99, "r", "u"), &run.save())
        .unwrap()
        .state()
        .to_json()
}

#[test]
fn a_run_that_only_syncs_never_reads_its_view() {
    let mut us = three_step_run();
    let mut relay = RunDoc::load(run_id(), who(2, "eu-central-1", "relay"), &us.save()).unwrap();
    assert!(!relay.view_is_built(), "load read the view");
    us.graft("step1", "SecurityAgent", 1).unwrap();
    us.set_flag("mode", FlagValue::Str("safe".into()), 2)
        .unwrap();
    relay.apply_bytes(&us.save_incremental()).unwrap();
    assert!(!relay.view_is_built(), "applying changes read the view");
    assert_eq!(relay.lamport(), us.lamport(), "the clock needs no view");

    // First use: the whole document is read, and later changes arrive as patches.
    assert_eq!(relay.state().to_json(), full_read(&mut relay));
    assert!(relay.view_is_built());
    us.prune("step2", 3).unwrap();
    relay.apply_bytes(&us.save_incremental()).unwrap();
    let state = relay.state();
    assert_eq!(state.to_json(), full_read(&mut relay));
    assert_eq!(state.pruned_steps.len(), 1);
}

#[test]
fn an_operation_on_an_unread_run_reads_it_first() {
    let mut us = three_step_run();
    let graft = us.graft("step1", "SecurityAgent", 1).unwrap();
    let mut eu = RunDoc::load(run_id(), who(2, "eu-central-1", "bob"), &us.save()).unwrap();
    // The anchor is checked against the run's contents, so the view is read here.
    eu.graft(graft.as_str(), "ReliabilityAgent", 2).unwrap();
    assert!(eu.view_is_built());
    assert_eq!(eu.state().to_json(), full_read(&mut eu));
    assert_eq!(eu.state().grafts.len(), 2);
}

#[test]
fn a_view_read_between_a_sync_change_and_its_refresh_stays_right() {
    let mut us = three_step_run();
    let mut eu = RunDoc::load(run_id(), who(2, "eu-central-1", "bob"), &us.save()).unwrap();
    us.prune("step1", 1).unwrap();
    let pruned = us.save_incremental();
    us.restore("step1", 2).unwrap();
    let restored = us.save_incremental();

    // A sync engine changes the document directly; someone reads the view before it
    // calls refresh, then a second change (undoing the first) arrives.
    eu.automerge_mut().load_incremental(&pruned).unwrap();
    assert_eq!(eu.state().pruned_steps.len(), 1);
    eu.automerge_mut().load_incremental(&restored).unwrap();
    eu.refresh();
    // The view was read with the prune in it; whatever the patches since the last
    // refresh say about step1, the restore must show.
    assert!(eu.state().pruned_steps.is_empty(), "the restore was lost");
    assert_eq!(eu.state().to_json(), full_read(&mut eu));

    // And it goes on from patches afterwards.
    us.graft("step3", "LateAgent", 3).unwrap();
    eu.apply_bytes(&us.save_incremental()).unwrap();
    assert_eq!(eu.state().to_json(), full_read(&mut eu));
}
