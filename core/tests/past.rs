//! A run's past: the run as it was at some heads, and what changed between two points.

use runmesh_core::{ChangeHash, FlagValue, RunDoc, RunError};
use runmesh_testkit::fixtures::{run_id, three_step_run, who};

fn agents(state: &runmesh_core::RunState) -> Vec<String> {
    state.grafts.iter().map(|g| g.agent_name.clone()).collect()
}

#[test]
fn the_state_at_earlier_heads_is_the_run_as_it_was() {
    let mut run = three_step_run();
    let created = run.heads();
    let a = run.graft("step1", "Alpha", 2_000).unwrap();
    let after_alpha = run.heads();
    run.graft("step2", "Beta", 3_000).unwrap();
    run.prune(a.as_str(), 4_000).unwrap();
    run.set_flag("urgent", FlagValue::Bool(true), 5_000)
        .unwrap();

    let then = run.state_at(&after_alpha).unwrap();
    assert_eq!(agents(&then), ["Alpha"]);
    assert!(then.pruned_steps.is_empty() && then.flags.is_empty());
    assert!(run.state_at(&created).unwrap().grafts.is_empty());
    let now = run.heads();
    assert_eq!(run.state_at(&now).unwrap(), run.state());
    // Reading the past leaves the present alone.
    assert_eq!(agents(&run.state()), ["Alpha", "Beta"]);
}

/// Replaying a copy up to a point reads the same run as reading in place, at every point
/// of a history with concurrent branches, prunes, retractions and flags.
#[test]
fn the_state_by_replay_is_the_state_read_in_place() {
    let mut run = three_step_run();
    let a = run.graft("step1", "Alpha", 2_000).unwrap();
    let mut other = RunDoc::load(run.run_id(), who(2, "eu-west-1", "bob"), &run.save()).unwrap();
    other.graft("step1", "Gamma", 2_100).unwrap();
    other.prune("step2", 2_200).unwrap();
    run.graft(a.as_str(), "Beta", 2_300).unwrap();
    run.set_flag("urgent", FlagValue::Bool(true), 2_400)
        .unwrap();
    run.apply_bytes(&other.save()).unwrap();
    run.prune(a.as_str(), 3_000).unwrap();
    let history = run.history();
    assert!(history.len() >= 7, "{}", history.len());
    for entry in &history {
        let at = [entry.hash.parse().unwrap()];
        assert_eq!(
            run.state_at_by_replay(&at).unwrap(),
            run.state_at(&at).unwrap(),
            "at {} ({})",
            entry.hash,
            entry.op
        );
    }
    let branches = [
        history[3].hash.parse().unwrap(),
        history[5].hash.parse().unwrap(),
    ];
    assert_eq!(
        run.state_at_by_replay(&branches).unwrap(),
        run.state_at(&branches).unwrap()
    );
    let unknown = ChangeHash([7; 32]);
    assert!(matches!(
        run.state_at_by_replay(&[unknown]),
        Err(RunError::UnknownHeads { .. })
    ));
}

#[test]
fn a_diff_says_what_changed_and_who_did_it() {
    let mut run = three_step_run();
    run.set_flag("stage", FlagValue::Str("draft".into()), 1_500)
        .unwrap();
    let a = run.graft("step1", "Alpha", 2_000).unwrap();
    let from = run.heads();
    run.graft("step2", "Beta", 3_000).unwrap();
    run.prune(a.as_str(), 4_000).unwrap();
    run.prune("step3", 4_100).unwrap();
    run.restore("step3", 4_200).unwrap();
    run.set_flag("stage", FlagValue::Str("final".into()), 5_000)
        .unwrap();
    let to = run.heads();

    let diff = run.diff(&from, &to).unwrap();
    assert_eq!(agents_of(&diff.grafts_added), ["Beta"]);
    assert_eq!(diff.grafts_added[0].by.as_ref(), "alice");
    assert!(diff.grafts_removed.is_empty());
    let pruned: Vec<&str> = diff.pruned.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(
        pruned,
        [a.as_str()],
        "step3 was pruned and restored: no net change"
    );
    assert!(diff.restored.is_empty());
    assert_eq!(diff.flags.len(), 1);
    assert_eq!(diff.flags[0].before, Some(FlagValue::Str("draft".into())));
    assert_eq!(diff.flags[0].after, Some(FlagValue::Str("final".into())));
    assert_eq!(diff.flags[0].by.as_ref().unwrap().region, "us-east-1");
    let ops: Vec<&str> = diff.changes.iter().map(|c| c.op.as_str()).collect();
    assert_eq!(ops, ["graft", "prune", "prune", "restore", "setFlag"]);

    // Backwards, the same facts the other way round.
    let back = run.diff(&to, &from).unwrap();
    assert_eq!(agents_of(&back.grafts_removed), ["Beta"]);
    let restored: Vec<&str> = back.restored.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(restored, [a.as_str()]);
    assert!(
        back.changes.is_empty(),
        "`from` includes every change of `to`"
    );
}

#[test]
fn a_diff_to_one_branch_leaves_out_the_concurrent_one() {
    let mut base = three_step_run();
    let fork = base.heads();
    let mut bob = RunDoc::load(run_id(), who(2, "eu", "bob"), &base.save()).unwrap();
    base.graft("step1", "Alices", 2_000).unwrap();
    bob.graft("step1", "Bobs", 2_000).unwrap();
    let bobs_heads = bob.heads();
    base.merge(&mut bob).unwrap();
    let diff = base.diff(&fork, &bobs_heads).unwrap();
    assert_eq!(agents_of(&diff.grafts_added), ["Bobs"]);
    assert_eq!(diff.changes.len(), 1);
    assert_eq!(diff.changes[0].by, "bob");
    // Every replica with these heads answers the same.
    let mut other = RunDoc::load(run_id(), who(3, "ap", "carol"), &base.save()).unwrap();
    assert_eq!(other.diff(&fork, &bobs_heads).unwrap(), diff);
}

#[test]
fn unknown_or_missing_heads_are_refused_by_name() {
    let mut run = three_step_run();
    let unknown = ChangeHash([7; 32]);
    let e = run.state_at(&[unknown]).unwrap_err();
    assert!(
        matches!(e, RunError::UnknownHeads { what: "at", .. }),
        "{e}"
    );
    assert!(e.to_string().contains(&unknown.to_string()), "{e}");
    let now = run.heads();
    let e = run.diff(&now, &[unknown]).unwrap_err();
    assert!(e.to_string().starts_with("to: "), "{e}");
    assert!(matches!(
        run.diff(&[], &now),
        Err(RunError::NoHeads("from"))
    ));
}

fn agents_of(grafts: &[runmesh_core::Graft]) -> Vec<String> {
    grafts.iter().map(|g| g.agent_name.clone()).collect()
}

#[test]
fn a_follower_gets_each_change_once_and_resumes_where_it_left_off() {
    let mut run = three_step_run();
    let start = run.heads();
    run.graft("step1", "Alpha", 2_000).unwrap();
    run.prune("step3", 3_000).unwrap();
    run.set_flag("stage", FlagValue::Str("final".into()), 4_000)
        .unwrap();

    let events = run.changes_since(&start).unwrap();
    let ops: Vec<&str> = events.iter().map(|e| e.change.op.as_str()).collect();
    assert_eq!(ops, ["graft", "prune", "setFlag"]);
    assert_eq!(agents_of(&events[0].diff.grafts_added), ["Alpha"]);
    assert_eq!(events[1].diff.pruned[0].id.as_str(), "step3");
    assert_eq!(events[2].diff.flags[0].by.as_ref().unwrap().by, "alice");
    let now: Vec<String> = run.heads().iter().map(ToString::to_string).collect();
    assert_eq!(events[2].id, now, "the last event's id is the run's heads");

    // Resuming after the first event gives exactly the other two.
    let first: Vec<ChangeHash> = events[0].id.iter().map(|h| h.parse().unwrap()).collect();
    let rest = run.changes_since(&first).unwrap();
    assert_eq!(rest, events[1..]);
    let heads = run.heads();
    assert!(run.changes_since(&heads).unwrap().is_empty());
}

#[test]
fn a_follower_of_merged_branches_sees_both_and_ends_at_the_merged_heads() {
    let mut base = three_step_run();
    let start = base.heads();
    let mut bob = RunDoc::load(run_id(), who(2, "eu", "bob"), &base.save()).unwrap();
    base.graft("step1", "Alices", 2_000).unwrap();
    bob.graft("step2", "Bobs", 2_000).unwrap();
    base.merge(&mut bob).unwrap();
    let events = base.changes_since(&start).unwrap();
    assert_eq!(events.len(), 2);
    let mut last = events[1].id.clone();
    last.sort();
    let mut heads: Vec<String> = base.heads().iter().map(ToString::to_string).collect();
    heads.sort();
    assert_eq!(last, heads);
    let mut added: Vec<String> = events
        .iter()
        .flat_map(|e| agents_of(&e.diff.grafts_added))
        .collect();
    added.sort();
    assert_eq!(added, ["Alices", "Bobs"]);
}

/// The history read in two parts, at some heads and after them, is the history read
/// whole, whenever the part after follows the heads; a concurrent change asks for a
/// whole read.
#[test]
fn the_history_after_some_heads_extends_the_history_at_them() {
    let mut run = three_step_run();
    let created = run.heads();
    let at_start = run.history();
    run.graft("step1", "Alpha", 2_000).unwrap();
    run.prune("step2", 3_000).unwrap();
    let mut extended = at_start.clone();
    extended.extend(run.history_after(&created).unwrap());
    assert_eq!(extended, run.history());
    let now = run.heads();
    assert_eq!(run.history_after(&now), Some(Vec::new()));

    // Another replica writes after seeing everything: its change follows too.
    let mut other = RunDoc::load(run_id(), who(2, "eu", "bob"), &run.save()).unwrap();
    other.graft("step3", "Beta", 4_000).unwrap();
    run.merge(&mut other).unwrap();
    let mut extended = run.history();
    extended.truncate(extended.len() - 1);
    extended.extend(run.history_after(&now).unwrap());
    assert_eq!(extended, run.history());

    // Two replicas write at once: the one not yet seen may sort before the one seen.
    let seen = run.heads();
    let mut other = RunDoc::load(run_id(), who(2, "eu", "bob"), &run.save()).unwrap();
    other.graft("step1", "Early", 1_000).unwrap();
    run.graft("step1", "Late", 9_000).unwrap();
    let late = run.heads();
    run.merge(&mut other).unwrap();
    assert_eq!(run.history_after(&late), None);
    let history = run.history();
    assert_eq!(history[history.len() - 2].detail, "Early after step1");
    assert!(
        run.history_after(&seen).is_some(),
        "both follow the heads before them"
    );

    // Heads this replica never had.
    let stranger: ChangeHash = "00".repeat(32).parse().unwrap();
    assert_eq!(run.history_after(&[stranger]), None);
}
