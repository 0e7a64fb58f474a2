//! The change feed over any history a writer can produce: changes with no dependencies,
//! concurrent branches, merges, many heads, a fork merged back. From every point a
//! follower was ever told, it resumes with exactly the changes after it.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT};
use runmesh_core::{ChangeEvent, ChangeHash, RunDoc, RunId};
use runmesh_testkit::fixtures::{run_id, three_step_run, who};

fn heads_of(event: &ChangeEvent) -> Vec<ChangeHash> {
    event.id.iter().map(|h| h.parse().unwrap()).collect()
}

fn sorted(heads: &[ChangeHash]) -> Vec<String> {
    let mut heads: Vec<String> = heads.iter().map(ToString::to_string).collect();
    heads.sort();
    heads
}

/// Every event's id resumes with exactly the events after it, and the last is the run's
/// heads.
fn assert_resumable(run: &mut RunDoc, start: &[ChangeHash], events: &[ChangeEvent]) {
    for (i, event) in events.iter().enumerate() {
        let after = run
            .changes_since(&heads_of(event))
            .unwrap_or_else(|e| panic!("resuming after event {i}: {e}"));
        assert_eq!(after, events[i + 1..], "resuming after event {i}");
    }
    let last = events.last().expect("some events");
    assert_eq!(sorted(&heads_of(last)), sorted(&run.heads()));
    assert_eq!(run.changes_since(start).unwrap(), events);
}

/// A change made in a document of its own: it depends on nothing.
fn rootless_change(key: &str) -> Vec<automerge::Change> {
    let mut other = AutoCommit::new();
    other.put(ROOT, key, "written elsewhere").unwrap();
    other.commit();
    other.get_changes(&[])
}

#[test]
fn a_change_with_no_dependencies_is_told_and_followed_past() {
    let mut run = three_step_run();
    let start = run.heads();
    run.graft("step1", "Before", 2_000).unwrap();
    // Applied as Automerge takes it, whatever rule a relay puts in front of it.
    let rootless = rootless_change("title");
    let hash = rootless[0].hash();
    run.automerge_mut().apply_changes(rootless).unwrap();
    run.graft("step2", "After", 3_000).unwrap();

    let events = run
        .changes_since(&start)
        .expect("a feed over a rootless change");
    assert_eq!(events.len(), 3);
    let told: Vec<&str> = events.iter().map(|e| e.change.hash.as_str()).collect();
    assert!(told.contains(&hash.to_string().as_str()), "{told:?}");
    assert_resumable(&mut run, &start, &events);
}

#[test]
fn many_heads_merges_raw_writes_and_a_fork_merged_back_are_followed() {
    let mut run = three_step_run();
    let start = run.heads();
    let saved = run.save();
    // Five replicas graft at once: five heads.
    let mut others: Vec<RunDoc> = (2..7)
        .map(|actor| RunDoc::load(run_id(), who(actor, "eu", "bob"), &saved).unwrap())
        .collect();
    for (i, other) in others.iter_mut().enumerate() {
        other
            .graft("step1", &format!("Branch{i}"), 2_000 + i as u64)
            .unwrap();
    }
    // A change without a runmesh note (another tool), concurrent with them.
    let raw = run.automerge_mut();
    raw.put(ROOT, "scratch", 1).unwrap();
    raw.commit();
    for other in &mut others {
        run.merge(other).unwrap();
    }
    assert!(run.heads().len() >= 5, "many heads: {:?}", run.heads());
    // Two rootless changes, one on top of the other, and a merge over everything.
    run.automerge_mut()
        .apply_changes(rootless_change("a"))
        .unwrap();
    run.graft("step2", "Merging", 9_000).unwrap();
    // A fork of the run (made by another replica), changed, merged back.
    let mut carol = RunDoc::load(run_id(), who(9, "us", "carol"), &run.save()).unwrap();
    let mut fork = carol.fork(RunId::random(), None, 10_000).unwrap();
    fork.graft("step3", "FromFork", 11_000).unwrap();
    run.graft("step1", "Meanwhile", 11_500).unwrap();
    assert!(run.merge_from(&mut fork, 12_000).unwrap());

    let events = run.changes_since(&start).expect("a feed over every branch");
    let grafted: Vec<String> = events
        .iter()
        .flat_map(|e| e.diff.grafts_added.iter().map(|g| g.agent_name.clone()))
        .collect();
    for name in ["Branch0", "Branch4", "Merging", "FromFork", "Meanwhile"] {
        assert!(grafted.contains(&name.to_owned()), "{name} in {grafted:?}");
    }
    assert_resumable(&mut run, &start, &events);
}

#[test]
fn a_backlog_read_in_parts_is_the_backlog_read_whole() {
    let mut run = three_step_run();
    let start = run.heads();
    for i in 0..7 {
        run.graft("step1", &format!("G{i}"), 2_000 + i).unwrap();
    }
    let now = run.heads();
    let whole = run.changes_between(&start, &now).unwrap();
    let mut parts = Vec::new();
    let mut from = start;
    loop {
        let part = run.changes_between_at_most(&from, &now, 3).unwrap();
        assert!(part.len() <= 3);
        let Some(last) = part.last() else { break };
        from = heads_of(last);
        parts.extend(part);
    }
    assert_eq!(parts, whole);
}
