//! Forks and merges: a fork shares its parent's history up to a point, and either can
//! take the other's changes; merged while both keep editing, every replica converges.
//!
//! The property runs 64 seeds by default (`RUNMESH_PROPTEST_CASES` for more).

#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use runmesh_core::{ChangeHash, FlagValue, Identity, RunDoc, RunError, RunId};
use runmesh_testkit::fixtures::*;
use runmesh_testkit::rng::{Rng, proptest_cases};

fn fork_id() -> RunId {
    "00000000-0000-4000-8000-0000000000f0".parse().unwrap()
}

#[test]
fn a_fork_starts_from_the_point_named_and_merges_back() {
    let mut parent = three_step_run();
    parent.graft("step1", "A", 2_000).unwrap();
    let point = parent.heads();
    parent.graft("step2", "Later", 3_000).unwrap();
    let mut fork = parent.fork(fork_id(), Some(&point), 4_000).unwrap();
    assert_eq!(fork.run_id(), fork_id());
    assert_eq!(fork.stored_run_id(), Some(fork_id()));
    let origin = fork.fork_of().unwrap();
    assert_eq!(origin.run, run_id());
    assert_eq!(origin.at, vec![point[0].to_string()]);
    assert_eq!(names(&fork), ["step1", "A", "step2", "step3"]);
    assert_eq!(fork.history().last().unwrap().op, "fork");
    // Bytes of the fork open as the fork.
    let opened = RunDoc::open(who(9, "r", "u"), &fork.save()).unwrap();
    assert_eq!(opened.run_id(), fork_id());

    fork.graft("step3", "Tried", 5_000).unwrap();
    assert!(parent.merge_from(&mut fork, 6_000).unwrap());
    assert_eq!(
        names(&parent),
        ["step1", "A", "step2", "Later", "step3", "Tried"]
    );
    assert_eq!(
        parent.stored_run_id(),
        Some(run_id()),
        "the parent keeps its id"
    );
    assert_eq!(parent.fork_of(), None, "and is no fork");
    assert_eq!(parent.history().last().unwrap().op, "merge");
    // Nothing new: nothing written.
    let heads = parent.heads();
    assert!(!parent.merge_from(&mut fork, 7_000).unwrap());
    assert_eq!(parent.heads(), heads);
    // The fork takes the parent's changes too, and stays the fork.
    assert!(fork.merge_from(&mut parent, 8_000).unwrap());
    assert_eq!(fork.stored_run_id(), Some(fork_id()));
    assert_eq!(fork.fork_of().unwrap().run, run_id());
    assert_eq!(names(&fork), names(&parent));
}

#[test]
fn one_replica_editing_a_run_and_its_fork_can_merge_them() {
    // The same replica (one actor id) writes to both: each run gets its own actor, so
    // the merged document never holds one actor's sequence number twice.
    let me = who(1, "us-east-1", "alice");
    let mut parent = RunDoc::create(run_id(), me.clone(), "T", &steps(&["s1"]), 0).unwrap();
    let mut fork = parent.fork(fork_id(), None, 1).unwrap();
    let mut fork = RunDoc::load(fork_id(), me.clone(), &fork.save()).unwrap();
    parent.graft("s1", "P", 2).unwrap();
    fork.graft("s1", "F", 3).unwrap();
    parent.merge_from(&mut fork, 4).unwrap();
    let reread = RunDoc::load(run_id(), me, &parent.save()).unwrap();
    assert_eq!(reread.state(), parent.state());
    assert_eq!(parent.graft_count(), 2);
}

#[test]
fn runs_that_share_no_history_do_not_merge() {
    let mut a = three_step_run();
    let other_id: RunId = "00000000-0000-4000-8000-0000000000aa".parse().unwrap();
    let mut b = RunDoc::create(other_id, who(2, "eu", "bob"), "B", &steps(&["x"]), 0).unwrap();
    let heads = a.heads();
    let err = a.merge_from(&mut b, 1).unwrap_err();
    assert!(matches!(err, RunError::Unrelated { .. }), "{err}");
    assert!(err.to_string().contains("shares no history"), "{err}");
    assert_eq!(a.heads(), heads);
    let unknown: ChangeHash = "11".repeat(32).parse().unwrap();
    assert!(matches!(
        a.fork(fork_id(), Some(&[unknown]), 1),
        Err(RunError::UnknownHeads { .. })
    ));
}

/// Parent replicas 0..p and fork replicas p..p+f edit at random, sync within their run,
/// and now and then merge one run into the other; at the end the fork is merged back and
/// every parent replica syncs. All parent replicas then agree, and hold every change.
fn simulate(seed: u64) -> Result<(), String> {
    let mut rng = Rng(seed);
    let (p, f) = (2 + rng.below(2), 1 + rng.below(2));
    let mut parent: Vec<RunDoc> = Vec::new();
    let first = RunDoc::create(
        run_id(),
        who(1, "us", "alice"),
        "T",
        &steps(&["s1", "s2"]),
        0,
    )
    .map_err(|e| e.to_string())?;
    parent.push(first);
    for i in 1..p {
        let bytes = parent[0].save();
        parent.push(RunDoc::load(run_id(), who(1 + i as u8, "eu", "bob"), &bytes).unwrap());
    }
    for step in 0..rng.below(5) {
        edit(&mut parent[0], &mut rng, step as u64);
    }
    let bytes = parent[0]
        .fork(fork_id(), None, 10)
        .map_err(|e| e.to_string())?
        .save();
    let mut forks: Vec<RunDoc> = (0..f)
        .map(|i| {
            let identity: Identity = who(20 + i as u8, "ap", "carol");
            RunDoc::load(fork_id(), identity, &bytes).unwrap()
        })
        .collect();
    for step in 0..30 + rng.below(30) {
        let now = 100 + step as u64;
        match rng.below(10) {
            0..=3 => edit(&mut parent[rng.below(p)], &mut rng, now),
            4..=6 => edit(&mut forks[rng.below(f)], &mut rng, now),
            7 => sync_some(&mut parent, &mut rng),
            8 => sync_some(&mut forks, &mut rng),
            _ => {
                let (a, b) = (rng.below(p), rng.below(f));
                if rng.chance(50) {
                    parent[a].merge_from(&mut forks[b], now)
                } else {
                    forks[b].merge_from(&mut parent[a], now)
                }
                .map_err(|e| format!("merge failed: {e}"))?;
            }
        }
    }
    for fork in &mut forks {
        parent[0]
            .merge_from(fork, 1_000)
            .map_err(|e| e.to_string())?;
    }
    for _ in 0..2 {
        for i in 0..p {
            for j in 0..p {
                if i != j {
                    let mut other = RunDoc::load(run_id(), who(99, "r", "u"), &parent[j].save())
                        .map_err(|e| e.to_string())?;
                    parent[i].merge(&mut other).map_err(|e| e.to_string())?;
                }
            }
        }
    }
    let view = parent[0].state();
    for (i, run) in parent.iter_mut().enumerate() {
        if run.state() != view {
            return Err(format!("parent replica {i} shows another run"));
        }
        if run.stored_run_id() != Some(run_id()) || run.fork_of().is_some() {
            return Err(format!(
                "parent replica {i} no longer says it is the parent"
            ));
        }
        let reread = RunDoc::load(run_id(), who(98, "r", "u"), &run.save()).unwrap();
        if reread.state() != run.state() {
            return Err(format!(
                "parent replica {i}: its view differs from a full read"
            ));
        }
    }
    for (i, fork) in forks.iter_mut().enumerate() {
        let missing = fork
            .history()
            .iter()
            .filter(|e| e.op != "fork")
            .any(|e| parent[0].state_at(&[e.hash.parse().unwrap()]).is_err());
        if missing {
            return Err(format!("fork replica {i} has a change the parent lacks"));
        }
    }
    Ok(())
}

fn edit(run: &mut RunDoc, rng: &mut Rng, now: u64) {
    let nodes: Vec<String> = run
        .state()
        .pipeline
        .iter()
        .map(|n| n.id.to_string())
        .collect();
    let node = nodes[rng.below(nodes.len())].clone();
    let _ = match rng.below(5) {
        0 | 1 => run.graft(&node, &format!("Agent{now}"), now).map(|_| ()),
        2 => run.prune(&node, now).map(|_| ()),
        3 => run.set_flag("mode", FlagValue::Int(rng.below(3) as i64), now),
        _ => {
            let history = run.history();
            let hash = history[history.len() - 1].hash.parse().unwrap();
            run.undo(&hash, now).map(|_| ())
        }
    };
}

fn sync_some(runs: &mut [RunDoc], rng: &mut Rng) {
    let (i, j) = (rng.below(runs.len()), rng.below(runs.len()));
    if i != j {
        let bytes = runs[j].save();
        runs[i].apply_bytes(&bytes).unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: proptest_cases(64), ..ProptestConfig::default() })]

    #[test]
    fn a_fork_merged_while_both_sides_edit_converges(seed in any::<u64>()) {
        if let Err(why) = simulate(seed) {
            prop_assert!(false, "seed {seed}: {why}");
        }
    }
}
