//! The REST API over real HTTP: the seed's curl commands verbatim, round trips, health,
//! metrics and the size limit. Every error case is in `router.rs`, without a socket.

use runmesh_testkit::relay::*;
use serde_json::{Value, json};

const RUN: &str = "123e4567-e89b-12d3-a456-426614174000";

#[tokio::test]
async fn the_seed_commands_work_verbatim() {
    let relay = TestRelay::start("us-east-1").await;
    // With a Content-Type header, then without one (as the seed's partition test does).
    let resp = reqwest::Client::new()
        .post(relay.http(&format!("/app/runs/{RUN}/graft")))
        .header("Content-Type", "application/json")
        .body(r#"{"after": "step1", "agentName": "SecurityAgent"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let (status, _) = post(
        &relay.http(&format!("/app/runs/{RUN}/graft")),
        r#"{"after": "step2", "agentName": "PerformanceAgent"}"#,
    )
    .await;
    assert_eq!(status, 201);
    let (status, state) = get(&relay.http(&format!("/api/crdt/runs/{RUN}/state"))).await;
    assert_eq!(status, 200);
    assert_eq!(state["runId"], RUN);
    assert_eq!(state["region"], "us-east-1");
    let agents: Vec<&str> = state["grafts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["agentName"].as_str().unwrap())
        .collect();
    assert_eq!(agents, ["SecurityAgent", "PerformanceAgent"]);
    for key in ["grafts", "prunedSteps", "flags", "pipeline"] {
        assert!(state.get(key).is_some(), "state lacks {key}");
    }
    let (status, mesh) = get(&relay.http("/api/crdt/mesh/status")).await;
    assert_eq!(
        (status, mesh["region"].as_str(), mesh["status"].as_str()),
        (200, Some("us-east-1"), Some("active"))
    );

    // Disaster recovery: GET …/changes from here, POST …/sync into a brand-new relay.
    let snapshot = reqwest::get(relay.http(&format!("/api/crdt/runs/{RUN}/changes")))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let fresh = TestRelay::start("us-west-2").await;
    use base64::Engine;
    let body = json!({
        "changes": base64::engine::general_purpose::STANDARD.encode(&snapshot),
        "sourceRegion": "eu-central-1",
        "lamportTimestamp": 12345
    });
    let (status, reply) = post(
        &fresh.http(&format!("/api/crdt/runs/{RUN}/sync")),
        &body.to_string(),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["applied"], true);
    let (_, restored) = get(&fresh.http(&format!("/api/crdt/runs/{RUN}/state"))).await;
    assert_eq!(restored["grafts"], state["grafts"]);
    assert_eq!(restored["pipeline"], state["pipeline"]);
    relay.stop().await;
    fresh.stop().await;
}

#[tokio::test]
async fn create_prune_restore_and_flags_round_trip() {
    let relay = TestRelay::start("eu-central-1").await;
    let body = json!({ "runId": RUN, "title": "Nightly", "steps": ["fetch", {"id": "build", "name": "Build", "agent": "Builder"}] });
    let whole = relay.http("/api/crdt/runs?return=representation");
    let (status, created) = post(&whole, &body.to_string()).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["state"]["steps"][1]["name"], "Build");
    assert!(created["url"].as_str().unwrap().starts_with("automerge:"));
    let (status, again) = post(&relay.http("/api/crdt/runs"), &body.to_string()).await;
    assert_eq!((status, again["error"].as_str()), (409, Some("conflict")));

    let (status, _) = post(
        &relay.http(&format!("/app/runs/{RUN}/prune")),
        r#"{"nodeId":"fetch"}"#,
    )
    .await;
    assert_eq!(status, 200);
    let (_, state) = get(&relay.http(&format!("/api/crdt/runs/{RUN}/state"))).await;
    assert_eq!(state["prunedSteps"][0]["id"], "fetch");
    let (status, restored) = post(
        &relay.http(&format!("/app/runs/{RUN}/restore?return=representation")),
        r#"{"nodeId":"fetch"}"#,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(restored["state"]["prunedSteps"], json!([]));

    let resp = reqwest::Client::new()
        .put(relay.http(&format!("/app/runs/{RUN}/flags/retries")))
        .header(runmesh_relay::USER_HEADER, "carol")
        .header("Prefer", "return=representation")
        .body(r#"{"value": 3}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let set: Value = resp.json().await.unwrap();
    assert_eq!(set["state"]["flags"]["retries"], 3);
    let resp = reqwest::Client::new()
        .delete(relay.http(&format!("/app/runs/{RUN}/flags/retries")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let (_, history) = get(&relay.http(&format!("/api/crdt/runs/{RUN}/history"))).await;
    let ops: Vec<&str> = history["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["op"].as_str().unwrap())
        .collect();
    assert_eq!(ops, ["create", "prune", "restore", "setFlag", "clearFlag"]);
    assert_eq!(history["history"][3]["by"], "carol");
    assert_eq!(history["history"][3]["region"], "eu-central-1");
    let (_, list) = get(&relay.http("/api/crdt/runs")).await;
    assert_eq!(list["runs"][0]["runId"], RUN);
    relay.stop().await;
}

#[tokio::test]
async fn health_and_metrics_answer() {
    // Run ids label the lamport clock only when asked (`--metrics-run-labels`).
    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start_in(tmp.path(), "ap-southeast-1", |c| {
        c.lamport_series = runmesh_relay::metrics::LamportSeries::PerRun
    })
    .await;
    assert_eq!(get(&relay.http("/health/live")).await.0, 200);
    let (status, ready) = get(&relay.http("/health/ready")).await;
    assert_eq!((status, ready["status"].as_str()), (200, Some("ready")));
    post(
        &relay.http(&format!("/app/runs/{RUN}/graft")),
        r#"{"after":"s","agentName":"A"}"#,
    )
    .await;
    let text = relay.metrics().await;
    assert!(
        text.contains(&format!(
            "crdt_lamport_clock{{region=\"ap-southeast-1\",run_id=\"{RUN}\"}}"
        )),
        "{text}"
    );
    assert!(
        text.contains("runmesh_runs_loaded{region=\"ap-southeast-1\"} 1"),
        "{text}"
    );
    relay.stop().await;
}

#[tokio::test]
async fn a_run_stops_growing_at_the_document_size_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start_in(tmp.path(), "size", |c| c.max_document_bytes = 4096).await;
    let run = runmesh_core::RunId::random();
    let url = relay.http(&format!("/app/runs/{run}/graft"));
    let mut refused = None;
    for i in 0..200 {
        let (status, body) = post(
            &url,
            format!(
                r#"{{"after": "step1", "agentName": "{}{i}"}}"#,
                "x".repeat(150)
            ),
        )
        .await;
        if status != 201 {
            refused = Some((i, status, body));
            break;
        }
    }
    let (at, status, body) = refused.expect("the limit never applied");
    assert_eq!(status, 413, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("--max-document-bytes"),
        "{body}"
    );
    let (_, state) = get(&relay.http(&format!("/api/crdt/runs/{run}/state"))).await;
    assert_eq!(
        state["grafts"].as_array().unwrap().len(),
        at,
        "nothing of the refused change was kept"
    );
    relay.stop().await;
}

/// `GET /api/crdt/runs` pages through every run once, in run id order, with its title,
/// and names a bad parameter.
#[tokio::test]
async fn the_run_listing_pages() {
    let relay = TestRelay::start("eu-central-1").await;
    let mut made: Vec<String> = Vec::new();
    for i in 0..7 {
        let body = json!({ "title": format!("run {i}"), "steps": ["s"] });
        let (status, created) = post(&relay.http("/api/crdt/runs"), &body.to_string()).await;
        assert_eq!(status, 201, "{created}");
        made.push(created["runId"].as_str().unwrap().to_owned());
    }
    made.sort();
    let mut listed = Vec::new();
    let mut titles = Vec::new();
    let mut url = relay.http("/api/crdt/runs?limit=3");
    loop {
        let (status, page) = get(&url).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["total"], 7);
        let runs = page["runs"].as_array().unwrap();
        assert!(runs.len() <= 3);
        listed.extend(runs.iter().map(|r| r["runId"].as_str().unwrap().to_owned()));
        titles.extend(runs.iter().map(|r| r["title"].as_str().unwrap().to_owned()));
        match page["next"].as_str() {
            Some(next) => url = relay.http(&format!("/api/crdt/runs?limit=3&after={next}")),
            None => break,
        }
    }
    assert_eq!(listed, made);
    titles.sort();
    assert_eq!(
        titles,
        (0..7).map(|i| format!("run {i}")).collect::<Vec<_>>()
    );
    let (status, all) = get(&relay.http("/api/crdt/runs")).await;
    assert_eq!((status, all["runs"].as_array().unwrap().len()), (200, 7));
    assert!(all["next"].is_null());
    for (query, named) in [
        ("limit=0", "limit"),
        ("after=x", "after"),
        ("page=2", "page"),
    ] {
        let (status, body) = get(&relay.http(&format!("/api/crdt/runs?{query}"))).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body["message"].as_str().unwrap().contains(named), "{body}");
    }
    relay.stop().await;
}

/// `GET …/changes` after each graft: the answer is the save shared by every reader
/// plus the changes since (tenth attack, E28), and each loads as the whole run.
#[tokio::test]
async fn the_changes_read_after_each_graft_load_as_the_whole_run() {
    let relay = TestRelay::start("us-east-1").await;
    let run: runmesh_core::RunId = RUN.parse().unwrap();
    for i in 0..5 {
        let (status, _) = post(
            &relay.http(&format!("/app/runs/{RUN}/graft")),
            &json!({ "after": "step1", "agentName": format!("Agent{i}") }).to_string(),
        )
        .await;
        assert_eq!(status, 201);
        let resp = reqwest::get(relay.http(&format!("/api/crdt/runs/{RUN}/changes")))
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let declared = resp.content_length();
        let bytes = resp.bytes().await.unwrap();
        assert_eq!(declared, Some(bytes.len() as u64));
        let identity = runmesh_core::Identity::random("eu", "reader").unwrap();
        let doc = runmesh_core::RunDoc::load(run, identity, &bytes).unwrap();
        assert_eq!(doc.state().grafts.len(), i + 1, "after graft {i}");
    }
    relay.stop().await;
}

/// The eighth attack's E19: listing runs loaded every run of the page to read its title
/// (a list of 40 heavy runs cost 8.9 s of CPU, each time). Titles come from what the
/// runs' tasks noted: a run read once is listed without loading it again.
#[tokio::test]
async fn listing_runs_reads_noted_titles_without_loading_them_again() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start_in(tmp.path(), "titles", |c| {
        c.idle_unload = std::time::Duration::from_millis(200);
        c.mesh_idle_unload = std::time::Duration::from_millis(200);
    })
    .await;
    for _ in 0..3 {
        crate::memory_share::heavy_run(&relay, None).await;
    }
    eventually("the runs leaving memory", || async {
        (relay.runs_loaded().await == 0).then_some(())
    })
    .await;
    let (status, list) = get(&relay.http("/api/crdt/runs")).await;
    assert_eq!(status, 200, "{list}");
    let titles: Vec<&str> = list["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].as_str().unwrap_or("(none)"))
        .collect();
    assert_eq!(titles, vec!["T", "T", "T"]);
    assert_eq!(relay.runs_loaded().await, 0, "listing loaded no run");
    relay.stop().await;
}
