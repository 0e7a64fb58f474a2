//! Two relays reconcile their stored runs by digest when a link comes up: an empty
//! relay copies every run (none of them in memory on the other side), two relays in step
//! re-link without loading a run, and a run changed while one was down is the only one
//! synced when it comes back. Once with B on a data directory, once on PostgreSQL (when
//! `RUNMESH_TEST_DATABASE_URL` is set), whose fingerprints must survive B's restart too.

use std::path::Path;
use std::time::Duration;

use runmesh_core::RunId;
use runmesh_testkit::pg;
use runmesh_testkit::relay::*;
use serde_json::{Value, json};

const RUNS: usize = 40;

async fn relay(dir: &Path, region: &str, peers: Vec<String>) -> TestRelay {
    relay_on(None, dir, region, peers).await
}

/// A relay on `database` (a URL), or on its data directory.
async fn relay_on(
    database: Option<&str>,
    dir: &Path,
    region: &str,
    peers: Vec<String>,
) -> TestRelay {
    TestRelay::start_in(dir, region, |c| {
        c.mesh_peers = peers;
        c.idle_unload = Duration::from_millis(300);
        c.database_url = database.map(str::to_owned);
    })
    .await
}

async fn graft(relay: &TestRelay, run: &RunId, agent: &str) {
    let url = relay.http(&format!("/app/runs/{run}/graft"));
    let (status, body) = post(&url, json!({"after": "step1", "agentName": agent})).await;
    assert_eq!(status, 201, "{body}");
}

async fn agents(relay: &TestRelay, run: &RunId) -> Option<Vec<String>> {
    let (status, state) = get(&relay.http(&format!("/api/crdt/runs/{run}/state"))).await;
    (status == 200).then_some(())?;
    let names = state["pipeline"].as_array()?.iter();
    Some(
        names
            .filter(|n| n["kind"] == "graft")
            .map(|n| n["name"].as_str().unwrap_or_default().to_owned())
            .collect(),
    )
}

/// A metric's value for this relay's region (0 if absent).
async fn metric(relay: &TestRelay, name: &str) -> f64 {
    let text = relay.metrics().await;
    text.lines()
        .filter(|l| l.starts_with(name) && !l.starts_with(&format!("{name}_")))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn loaded(relay: &TestRelay) -> f64 {
    metric(relay, "runmesh_runs_loaded").await
}

async fn until_unloaded(relay: &TestRelay) {
    eventually("every run unloaded", || async {
        (loaded(relay).await == 0.0).then_some(())
    })
    .await;
}

#[tokio::test]
async fn relays_sync_only_the_runs_that_differ_when_a_link_comes_up() {
    sync_only_what_differs(None).await;
}

#[tokio::test]
async fn a_relay_on_postgres_knows_what_it_holds_across_a_restart() {
    let Some(url) = pg::database_url() else {
        return;
    };
    let schema = pg::Schema::create(&url).await;
    sync_only_what_differs(Some(&schema.url)).await;
    schema.drop_all().await;
}

/// A on a data directory holds the runs; B (on `b_database`, else a data directory) starts
/// empty, catches up, restarts in step, and restarts again after one run changed.
async fn sync_only_what_differs(b_database: Option<&str>) {
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = relay(a_dir.path(), "us-east-1", vec![]).await;
    let runs: Vec<RunId> = (0..RUNS).map(|_| RunId::random()).collect();
    for run in &runs {
        graft(&a, run, "SecurityAgent").await;
    }
    until_unloaded(&a).await;

    // An empty relay dials A: A offers it every run, a few at a time.
    let b = relay_on(b_database, b_dir.path(), "eu-central-1", vec![a.ws()]).await;
    let synced = eventually("A's catch-up to B", || async {
        let done = a.catch_up().await?;
        (done["synced"].as_u64()? == RUNS as u64).then_some(done)
    })
    .await;
    assert_eq!(synced["runsToSync"], RUNS as u64, "{synced}");
    for run in &runs {
        assert_eq!(
            agents(&b, run).await.unwrap(),
            ["SecurityAgent"],
            "run {run}"
        );
    }
    until_unloaded(&a).await;
    until_unloaded(&b).await;
    b.stop().await;

    // In step: B comes back, the two reconcile, and no run is offered or loaded.
    let b = relay_on(b_database, b_dir.path(), "eu-central-1", vec![a.ws()]).await;
    eventually("the new link", || async { b.catch_up().await.map(|_| ()) }).await;
    let frames_before = metric(&a, "crdt_sync_messages_total").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        a.catch_up().await.unwrap(),
        Value::Null,
        "A offered runs to an in-step peer"
    );
    assert_eq!(
        b.catch_up().await.unwrap(),
        Value::Null,
        "B offered runs to an in-step peer"
    );
    assert_eq!(
        (loaded(&a).await, loaded(&b).await),
        (0.0, 0.0),
        "a run was loaded"
    );
    assert_eq!(metric(&a, "crdt_sync_messages_total").await, frames_before);
    b.stop().await;

    // One run changes while B is down: only that run is offered when B is back.
    graft(&a, &runs[7], "ReliabilityAgent").await;
    until_unloaded(&a).await;
    let b = relay_on(b_database, b_dir.path(), "eu-central-1", vec![a.ws()]).await;
    // The side that holds it differently and is asked to say so offers it.
    let synced = |v: &Value| v["synced"].as_u64().unwrap_or(0);
    let queued = |v: &Value| v["runsToSync"].as_u64().unwrap_or(0);
    let (on_a, on_b) = eventually("the catch-up of the changed run", || async {
        let (on_a, on_b) = (a.catch_up().await?, b.catch_up().await?);
        (synced(&on_a) + synced(&on_b) == 1).then_some((on_a, on_b))
    })
    .await;
    assert_eq!(queued(&on_a) + queued(&on_b), 1, "A: {on_a}, B: {on_b}");
    let names = agents(&b, &runs[7]).await.unwrap();
    assert_eq!(names.len(), 2, "{names:?}");
    b.stop().await;
    a.stop().await;
}
