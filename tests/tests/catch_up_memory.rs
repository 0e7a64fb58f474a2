//! A catch-up's memory is bounded by `--mesh-catch-up-bytes`, not by the mesh's idle
//! period: with runs that would stay in memory for ten minutes after the mesh last
//! touched them, both ends of a link that copies a relay's runs hold no more than the
//! bound's worth once the copy is done, and every run still arrives.

use std::path::Path;
use std::time::Duration;

use runmesh_core::RunId;
use runmesh_core::hub::MIN_RUN_WEIGHT;
use runmesh_testkit::relay::*;
use serde_json::json;

const RUNS: usize = 40;

/// Room for a few light runs.
const BOUND: usize = 6 * MIN_RUN_WEIGHT;

async fn relay(dir: &Path, region: &str, peers: Vec<String>) -> TestRelay {
    TestRelay::start_in(dir, region, |c| {
        c.mesh_peers = peers;
        c.idle_unload = Duration::from_millis(300);
        c.mesh_idle_unload = Duration::from_secs(600);
        c.mesh_catch_up_bytes = BOUND;
    })
    .await
}

#[tokio::test]
async fn runs_in_memory_only_for_the_mesh_weigh_no_more_than_the_bound() {
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = relay(a_dir.path(), "us-east-1", vec![]).await;
    let runs: Vec<RunId> = (0..RUNS).map(|_| RunId::random()).collect();
    for run in &runs {
        let url = a.http(&format!("/app/runs/{run}/graft"));
        let (status, body) = post(&url, json!({"after": "step1", "agentName": "Scout"})).await;
        assert_eq!(status, 201, "{body}");
    }
    eventually("A to unload the runs it made", || async {
        (a.runs_loaded().await == 0).then_some(())
    })
    .await;

    let b = relay(b_dir.path(), "eu-central-1", vec![a.ws()]).await;
    eventually("A's catch-up to B", || async {
        let done = a.catch_up().await?;
        let finished = done["synced"].as_u64()? + done["unsettled"].as_u64()?;
        (finished == RUNS as u64).then_some(())
    })
    .await;
    // Each run weighs at least MIN_RUN_WEIGHT, so this many fit under the bound.
    let most = (BOUND / MIN_RUN_WEIGHT) as u64;
    for (name, relay) in [("A", &a), ("B", &b)] {
        eventually(
            &format!("{name} to hold no more than the bound"),
            || async { (relay.runs_loaded().await <= most).then_some(()) },
        )
        .await;
    }
    // Read only now: a REST read is a use, and keeps a run in memory.
    let (_, listed) = get(&b.http("/api/crdt/runs?limit=1")).await;
    assert_eq!(listed["total"], RUNS, "B lists every run: {listed}");
    for run in &runs {
        let (status, state) = get(&b.http(&format!("/api/crdt/runs/{run}/state"))).await;
        assert_eq!(status, 200, "run {run} on B: {state}");
    }
}
