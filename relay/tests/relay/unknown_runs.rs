//! Reads and undos of runs the relay does not hold (issue 32): they load nothing and
//! keep nothing in memory, on the directory store and on PostgreSQL.

use runmesh_core::RunId;
use runmesh_relay::Config;

use crate::accounting::GRAFT;

use runmesh_testkit::relay::*;

#[tokio::test]
async fn reads_of_runs_the_relay_does_not_hold_load_nothing() {
    let relay = TestRelay::start("eu").await;
    let held = run_id();
    assert_eq!(
        post(&relay.http(&format!("/app/runs/{held}/graft")), GRAFT)
            .await
            .0,
        201
    );
    let loaded = relay.runs_loaded().await;
    assert_eq!(loaded, 1);
    for _ in 0..200 {
        let run = RunId::random();
        for read in ["state", "history", "changes", "events"] {
            let (status, _) = get(&relay.http(&format!("/api/crdt/runs/{run}/{read}"))).await;
            assert_eq!(status, 404, "{read}");
        }
        let (status, heads) = get(&relay.http(&format!("/api/crdt/runs/{run}/heads"))).await;
        assert_eq!(
            (status, heads["heads"].clone()),
            (200, serde_json::json!([]))
        );
        let (status, _) = post(&relay.http(&format!("/api/crdt/runs/{run}/fork")), "").await;
        assert_eq!(status, 404, "fork of an unknown run");
        let merge = format!(r#"{{"from":"{run}"}}"#);
        let (status, body) =
            post(&relay.http(&format!("/api/crdt/runs/{held}/merge")), merge).await;
        assert_eq!(status, 404, "{body}");
    }
    assert_eq!(
        relay.runs_loaded().await,
        loaded,
        "no unknown run was loaded"
    );
    assert!(
        relay
            .metrics()
            .await
            .contains("runmesh_runs_loaded{region=\"eu\"} 1")
    );
    relay.stop().await;
}

#[tokio::test]
async fn undo_on_a_run_the_relay_does_not_hold_is_a_404() {
    let relay = TestRelay::start("eu").await;
    let run = RunId::random();
    let undo = format!(r#"{{"change":"{}"}}"#, "ab".repeat(32));
    let (status, body) = post(&relay.http(&format!("/api/crdt/runs/{run}/undo")), undo).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("not_found")),
        "{body}"
    );
    let (status, _) = get(&relay.http(&format!("/api/crdt/runs/{run}/state"))).await;
    assert_eq!(status, 404, "the undo created nothing");
    relay.stop().await;
}

#[tokio::test]
async fn with_postgres_a_read_of_a_run_not_stored_loads_nothing() {
    let Some(url) = runmesh_testkit::pg::database_url() else {
        return;
    };
    let schema = runmesh_testkit::pg::Schema::create(&url).await;
    let on_schema = |c: &mut Config| c.database_url = Some(schema.url.clone());
    let (dx, dy) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let x = TestRelay::start_in(dx.path(), "pg", on_schema).await;
    let y = TestRelay::start_in(dy.path(), "pg", on_schema).await;
    let run = run_id();
    assert_eq!(
        post(&x.http(&format!("/app/runs/{run}/graft")), GRAFT)
            .await
            .0,
        201
    );
    // The other relay on the same database finds it in the store…
    let (status, _) = get(&y.http(&format!("/api/crdt/runs/{run}/state"))).await;
    assert_eq!(status, 200);
    let loaded = y.runs_loaded().await;
    // …and answers runs the database does not hold without loading them.
    for _ in 0..100 {
        let unknown = RunId::random();
        let (status, _) = get(&y.http(&format!("/api/crdt/runs/{unknown}/state"))).await;
        assert_eq!(status, 404);
    }
    assert_eq!(y.runs_loaded().await, loaded);
    x.stop().await;
    y.stop().await;
    schema.drop_all().await;
}
