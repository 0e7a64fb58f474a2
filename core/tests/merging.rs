//! Two or more replicas editing concurrently, then merging.

use automerge::transaction::Transactable;
use automerge::{ObjType, ROOT, ReadDoc};
use runmesh_core::{FlagValue, GENESIS, RunDoc};
use runmesh_testkit::fixtures::*;

fn pair() -> (RunDoc, RunDoc) {
    let mut us = three_step_run();
    let eu = RunDoc::load(run_id(), who(2, "eu-central-1", "bob"), &us.save()).unwrap();
    (us, eu)
}

fn sync(a: &mut RunDoc, b: &mut RunDoc) {
    a.merge(b).unwrap();
    b.merge(a).unwrap();
}

#[test]
fn concurrent_creation_of_one_run_loses_no_graft() {
    // Two relays each receive the first graft for a run they have never seen, during a
    // partition: each creates the run on its own.
    let mut a = RunDoc::genesis(run_id(), who(1, "us-east-1", "alice"));
    let mut b = RunDoc::genesis(run_id(), who(2, "eu-central-1", "bob"));
    a.graft("step1", "SecurityAgent", 1).unwrap();
    b.graft("step1", "ReliabilityAgent", 1).unwrap();
    b.set_flag("mode", FlagValue::Str("safe".into()), 1)
        .unwrap();
    sync(&mut a, &mut b);
    assert_eq!(a.state(), b.state());
    let mut agents: Vec<String> = a
        .state()
        .grafts
        .iter()
        .map(|g| g.agent_name.clone())
        .collect();
    agents.sort();
    assert_eq!(agents, ["ReliabilityAgent", "SecurityAgent"]);
    assert_eq!(a.state().flags["mode"], FlagValue::Str("safe".into()));

    // The same through `create` with a title and steps on one side.
    let mut c =
        RunDoc::create(run_id(), who(3, "ap", "carol"), "T", &steps(&["step1"]), 1).unwrap();
    c.graft("step1", "C", 1).unwrap();
    sync(&mut a, &mut c);
    assert_eq!(a.state().grafts.len(), 3);
    assert_eq!(a.state().title, "T");
}

#[test]
fn without_a_shared_genesis_one_side_would_lose_its_grafts() {
    // What the genesis prevents: two replicas that make their own `grafts` map.
    let mut a = automerge::AutoCommit::new();
    let mut b = automerge::AutoCommit::new();
    for (doc, name) in [(&mut a, "A"), (&mut b, "B")] {
        let grafts = doc.put_object(ROOT, "grafts", ObjType::Map).unwrap();
        doc.put(&grafts, name, "x").unwrap();
    }
    a.merge(&mut b).unwrap();
    let (_, grafts) = a.get(ROOT, "grafts").unwrap().unwrap();
    assert_eq!(
        a.keys(&grafts).count(),
        1,
        "one side's map wins; the other's grafts vanish"
    );
    // And the genesis really is one shared change.
    assert_eq!(
        RunDoc::genesis(run_id(), who(1, "r", "u")).heads(),
        RunDoc::genesis(run_id(), who(2, "r", "u")).heads()
    );
    assert!(!GENESIS.is_empty());
}

#[test]
fn the_seed_scenario_keeps_both_grafts_in_one_order() {
    let (mut us, mut eu) = pair();
    us.graft("step1", "SecurityAgent", 2).unwrap();
    eu.graft("step1", "PerformanceAgent", 2).unwrap();
    sync(&mut us, &mut eu);
    assert_eq!(us.state(), eu.state());
    assert_eq!(us.heads(), eu.heads());
    // Same lamport: ordered by region, "eu-central-1" < "us-east-1".
    assert_eq!(us.state().grafts[0].lamport, us.state().grafts[1].lamport);
    assert_eq!(
        names(&us),
        [
            "step1",
            "PerformanceAgent",
            "SecurityAgent",
            "step2",
            "step3"
        ]
    );
    // A later graft after step1 has a higher lamport, so it follows both.
    us.graft("step1", "Later", 3).unwrap();
    let grafts = us.state().grafts;
    assert!(grafts[2].lamport > grafts[1].lamport);
    assert_eq!(names(&us)[3], "Later");
}

#[test]
fn concurrent_prune_and_restore_resolve_to_pruned_everywhere() {
    let (mut us, mut eu) = pair();
    us.prune("step2", 1).unwrap();
    sync(&mut us, &mut eu);
    // us restores while eu, not having seen the restore, prunes again: eu's prune was
    // written with the mark already present, so it is a no-op... make it a real conflict:
    // eu restores then prunes anew, concurrently with us restoring.
    eu.restore("step2", 2).unwrap();
    eu.prune("step2", 3).unwrap();
    us.restore("step2", 2).unwrap();
    sync(&mut us, &mut eu);
    assert_eq!(us.state(), eu.state());
    assert!(
        us.state()
            .pipeline
            .iter()
            .any(|n| n.id.as_str() == "step2" && n.pruned),
        "prune wins"
    );
}

#[test]
fn concurrent_flag_values_stay_visible_as_conflicts() {
    let (mut us, mut eu) = pair();
    us.set_flag("mode", FlagValue::Str("fast".into()), 1)
        .unwrap();
    eu.set_flag("mode", FlagValue::Str("safe".into()), 1)
        .unwrap();
    sync(&mut us, &mut eu);
    let (a, b) = (us.state(), eu.state());
    assert_eq!(a, b);
    let all = &a.flag_conflicts["mode"];
    assert_eq!(all.len(), 2);
    assert_eq!(all[0], a.flags["mode"], "the winner comes first");
    // A later write resolves the conflict.
    us.set_flag("mode", FlagValue::Str("fast".into()), 2)
        .unwrap();
    assert!(us.state().flag_conflicts.is_empty());
}

#[test]
fn foreign_data_is_skipped_and_reported_never_a_panic() {
    let mut run = three_step_run();
    run.graft("step1", "Good", 1).unwrap();
    {
        let doc = run.automerge_mut();
        let (_, outer) = doc.get(ROOT, "grafts").unwrap().unwrap();
        doc.put(&outer, "g-outside", "{}").unwrap();
        let (_, grafts) = doc.get(&outer, "00").unwrap().unwrap();
        doc.put(&grafts, "g-num", 42).unwrap();
        doc.put(&grafts, "g-json", "{not json").unwrap();
        doc.put(
            &grafts,
            "g-dangling",
            r#"{"after":"ghost","agentName":"Lost","by":"x","region":"r","lamport":9,"at":0}"#,
        )
        .unwrap();
        doc.put(
            &grafts,
            "g-c1",
            r#"{"after":"g-c2","agentName":"C1","by":"x","region":"r","lamport":1,"at":0}"#,
        )
        .unwrap();
        doc.put(
            &grafts,
            "g-c2",
            r#"{"after":"g-c1","agentName":"C2","by":"x","region":"r","lamport":1,"at":0}"#,
        )
        .unwrap();
        doc.put_object(&grafts, "g-map", ObjType::Map).unwrap();
        let (_, flags) = doc.get(ROOT, "flags").unwrap().unwrap();
        doc.put(&flags, "blob", automerge::ScalarValue::Bytes(vec![1, 2]))
            .unwrap();
        let (_, pruned) = doc.get(ROOT, "pruned").unwrap().unwrap();
        doc.put(&pruned, "step1", true).unwrap();
        let (_, steps) = doc.get(ROOT, "steps").unwrap().unwrap();
        doc.insert(&steps, 0, "not a step").unwrap();
        doc.put(ROOT, "title", 7).unwrap();
        doc.commit();
    }
    run.refresh();
    let state = run.state();
    assert_eq!(names(&run), ["step1", "Good", "step2", "step3"]);
    let issues = state.issues.join("\n");
    for expected in [
        "grafts/g-outside",
        "grafts/g-num",
        "grafts/g-json",
        "grafts/g-map",
        "anchored to unknown node \"ghost\"",
        "grafts/g-c1",
        "grafts/g-c2",
        "flags/blob",
        "pruned/step1",
        "steps/0",
        "title",
    ] {
        assert!(
            issues.contains(expected),
            "missing {expected:?} in:\n{issues}"
        );
    }
    // Reloading from bytes reads the same view.
    let copy = RunDoc::load(run_id(), who(5, "r", "u"), &run.save()).unwrap();
    assert_eq!(copy.state(), state);
}

#[test]
fn a_graft_key_in_two_buckets_reads_the_same_patched_or_loaded() {
    let mut run = three_step_run();
    // Past the first bucket's lamports, so the graft's bucket has one before it.
    for i in 0..130 {
        run.set_flag("n", FlagValue::Int(i), 1).unwrap();
    }
    let id = run.graft("step1", "Twin", 1).unwrap().to_string();
    run.graft(&id, "Child", 2).unwrap();
    // A foreign writer stores a different record under the same key in another bucket.
    let copy = r#"{"after":"step2","agentName":"Copy","by":"x","region":"r","lamport":1,"at":0}"#;
    let buckets: Vec<_> = {
        let doc = run.automerge_mut();
        let (_, outer) = doc.get(ROOT, "grafts").unwrap().unwrap();
        (0..64)
            .map(|b| doc.get(&outer, format!("{b:02x}")).unwrap().unwrap().1)
            .collect()
    };
    let home = buckets
        .iter()
        .position(|b| run.automerge_mut().get(b, &id).unwrap().is_some())
        .unwrap();
    let (before, after) = (&buckets[home - 1], &buckets[home + 1]);
    // Each step: one foreign edit, then the patched view must equal a fresh load's.
    let steps: [(&automerge::ObjId, Option<&str>, &[&str]); 4] = [
        (
            after,
            Some(copy),
            &["step1", "Twin", "Child", "step2", "step3"],
        ),
        (
            before,
            Some(copy),
            &["step1", "step2", "Copy", "Child", "step3"],
        ),
        (before, None, &["step1", "Twin", "Child", "step2", "step3"]),
        (
            &buckets[home],
            None,
            &["step1", "step2", "Copy", "Child", "step3"],
        ),
    ];
    for (at, (bucket, value, expected)) in steps.into_iter().enumerate() {
        {
            let doc = run.automerge_mut();
            match value {
                Some(value) => doc.put(bucket, &id, value).unwrap(),
                None => doc.delete(bucket, &id).unwrap(),
            }
            doc.commit();
        }
        run.refresh();
        let loaded = RunDoc::load(run_id(), who(5, "r", "u"), &run.save()).unwrap();
        assert_eq!(names(&run), expected, "step {at}");
        assert_eq!(run.state(), loaded.state(), "step {at}");
        let doubled = run
            .state()
            .issues
            .iter()
            .any(|i| i.contains("more than one bucket"));
        assert_eq!(doubled, at < 3, "step {at}: {:?}", run.state().issues);
    }
}

#[test]
fn a_deep_chain_of_grafts_does_not_overflow_the_stack() {
    let mut run = three_step_run();
    let mut after = "step1".to_owned();
    for i in 0..5_000 {
        after = run.graft(&after, &format!("A{i}"), i).unwrap().to_string();
    }
    let state = run.state();
    assert_eq!(state.pipeline.len(), 5_003);
    assert_eq!(state.pipeline[5_000].depth, 5_000);
}

#[test]
fn history_reads_the_same_on_every_replica() {
    let (mut us, mut eu) = pair();
    let mut ap = RunDoc::load(run_id(), who(3, "ap-south-1", "carol"), &us.save()).unwrap();
    // Three concurrent changes, which each replica receives in another order.
    us.graft("step1", "SecurityAgent", 5_000).unwrap();
    eu.graft("step1", "ReliabilityAgent", 5_000).unwrap();
    ap.set_flag("mode", FlagValue::Str("safe".into()), 4_000)
        .unwrap();
    us.merge(&mut eu).unwrap();
    us.merge(&mut ap).unwrap();
    eu.merge(&mut ap).unwrap();
    eu.merge(&mut us).unwrap();
    ap.merge(&mut eu).unwrap();
    let loaded = RunDoc::load(run_id(), who(4, "r", "u"), &ap.save()).unwrap();
    let history = us.history();
    for mut other in [eu, ap, loaded] {
        assert_eq!(other.history(), history);
    }
    // Concurrent changes in time order (the tie between the grafts broken by hash).
    let ops: Vec<&str> = history.iter().map(|h| h.op.as_str()).collect();
    assert_eq!(ops, ["create", "setFlag", "graft", "graft"]);
    // A change follows every change it saw, even when its writer's clock is behind.
    us.prune("step2", 1_000).unwrap();
    let after = us.history();
    assert_eq!(after.last().map(|h| h.op.as_str()), Some("prune"));
    assert_eq!(after[..4], history[..]);
}
