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

/// `GET …/state?at=` shows the run as it was; `GET …/diff?from=&to=` says what changed
/// since, and who did it; bad and unknown heads are refused by name.
#[tokio::test]
async fn the_past_of_a_run_over_rest() {
    let relay = TestRelay::start("eu-central-1").await;
    let run = RUN;
    let graft = |agent: &'static str| {
        let url = relay.http(&format!("/app/runs/{run}/graft"));
        async move {
            let (status, body) = post(
                &url,
                format!(r#"{{"after": "step1", "agentName": "{agent}"}}"#),
            )
            .await;
            assert_eq!(status, 201, "{body}");
            body
        }
    };
    let alpha = graft("Alpha").await;
    let (_, heads) = get(&relay.http(&format!("/api/crdt/runs/{run}/heads"))).await;
    let then: Vec<&str> = heads["heads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    let then = then.join(",");
    graft("Beta").await;
    let alpha_id = alpha["graftId"].as_str().unwrap().to_owned();
    let (status, _) = post(
        &relay.http(&format!("/app/runs/{run}/prune")),
        format!(r#"{{"nodeId": "{alpha_id}"}}"#),
    )
    .await;
    assert_eq!(status, 200);

    let (status, past) = get(&relay.http(&format!("/api/crdt/runs/{run}/state?at={then}"))).await;
    assert_eq!(status, 200, "{past}");
    let agents: Vec<&str> = past["grafts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["agentName"].as_str().unwrap())
        .collect();
    assert_eq!(agents, ["Alpha"]);
    assert!(past["prunedSteps"].as_array().unwrap().is_empty());

    let (status, diff) = get(&relay.http(&format!("/api/crdt/runs/{run}/diff?from={then}"))).await;
    assert_eq!(status, 200, "{diff}");
    assert_eq!(diff["graftsAdded"][0]["agentName"], "Beta");
    assert_eq!(diff["pruned"][0]["id"], alpha_id.as_str());
    let ops: Vec<&str> = diff["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["op"].as_str().unwrap())
        .collect();
    assert_eq!(ops, ["graft", "prune"]);
    let (_, none) =
        get(&relay.http(&format!("/api/crdt/runs/{run}/diff?from={then}&to={then}"))).await;
    assert!(none["changes"].as_array().unwrap().is_empty(), "{none}");

    let unknown = "ab".repeat(32);
    for (query, status, names) in [
        ("state?at=nothex".to_owned(), 400, "at: "),
        (format!("state?at={unknown}"), 422, unknown.as_str()),
        (format!("state?when={then}"), 400, "\"when\""),
        (format!("diff?to={then}"), 400, "from is required"),
        (format!("diff?from={then}&to=zz"), 400, "to: "),
    ] {
        let (got, body) = get(&relay.http(&format!("/api/crdt/runs/{run}/{query}"))).await;
        assert_eq!(got, status, "{query}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains(names),
            "{query}: {body}"
        );
    }
    relay.stop().await;
}

/// `POST …/undo`, `…/fork` and `…/merge`: undo a graft, fork the run before it, edit
/// the fork and merge it back; each refusal names what was wrong.
#[tokio::test]
async fn undo_fork_and_merge_over_rest() {
    let relay = TestRelay::start("eu-central-1").await;
    let run = RUN;
    let api = |path: &str| relay.http(&format!("/api/crdt/runs/{run}/{path}"));
    let whole = |path: &str| api(&format!("{path}?return=representation"));
    let (status, body) = post(
        &relay.http(&format!("/app/runs/{run}/graft")),
        r#"{"after": "step1", "agentName": "Alpha"}"#,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (_, history) = get(&api("history")).await;
    let grafted = history["history"].as_array().unwrap().last().unwrap()["hash"]
        .as_str()
        .unwrap()
        .to_owned();

    let (status, undone) = post(&whole("undo"), json!({ "change": grafted })).await;
    assert_eq!(status, 200, "{undone}");
    assert_eq!(undone["undone"], grafted.as_str());
    let pipeline = undone["state"]["pipeline"].as_array().unwrap();
    assert!(pipeline.iter().all(|n| n["name"] != "Alpha"), "{undone}");
    assert_eq!(undone["state"]["grafts"][0]["retracted"]["by"], "anonymous");
    let undo_change = undone["change"].as_str().unwrap().to_owned();

    let unknown = "ab".repeat(32);
    for (body, status, names) in [
        (json!({ "change": "nothex" }), 400, "change: "),
        (
            json!({ "change": format!("{unknown},{unknown}") }),
            400,
            "not several",
        ),
        (json!({ "hash": grafted }), 400, "unknown field"),
        (json!({ "change": unknown }), 422, unknown.as_str()),
        (json!({ "change": grafted }), 409, "retracted since"),
    ] {
        let (got, answer) = post(&api("undo"), &body).await;
        assert_eq!(got, status, "{body}: {answer}");
        assert!(
            answer["message"].as_str().unwrap().contains(names),
            "{body}: {answer}"
        );
    }

    // Fork the run as it was before the undo, graft on the fork, merge it back.
    let (status, fork) = post(&whole("fork"), json!({ "at": grafted })).await;
    assert_eq!(status, 201, "{fork}");
    let fork_id = fork["runId"].as_str().unwrap().to_owned();
    assert_eq!(fork["forkOf"]["runId"], run);
    let names = |state: &Value| -> Vec<String> {
        state["pipeline"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(
        names(&fork["state"]).contains(&"Alpha".to_owned()),
        "{fork}"
    );
    let (status, body) = post(
        &relay.http(&format!("/app/runs/{fork_id}/graft")),
        r#"{"after": "step2", "agentName": "Tried"}"#,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, merged) = post(&whole("merge"), json!({ "from": fork_id })).await;
    assert_eq!(status, 200, "{merged}");
    assert_eq!(merged["merged"], true);
    let after = names(&merged["state"]);
    assert!(after.contains(&"Tried".to_owned()), "{after:?}");
    assert!(
        !after.contains(&"Alpha".to_owned()),
        "the undo still holds: {after:?}"
    );
    let (_, state) = get(&api("state")).await;
    assert_eq!(state["runId"], run, "the parent keeps its id");
    // The undo itself can be undone after the merge.
    let (status, body) = post(&whole("undo"), json!({ "change": undo_change })).await;
    assert_eq!(status, 200, "{body}");
    assert!(names(&body["state"]).contains(&"Alpha".to_owned()));

    let other = "00000000-0000-4000-8000-00000000abcd";
    let (status, _) = post(
        &relay.http("/api/crdt/runs"),
        json!({ "runId": other, "title": "Other", "steps": ["x"] }),
    )
    .await;
    assert_eq!(status, 201);
    let missing = "00000000-0000-4000-8000-00000000dead";
    for (path, body, status, names) in [
        ("merge", json!({ "from": other }), 422, "shares no history"),
        ("merge", json!({ "from": missing }), 404, missing),
        ("merge", json!({ "from": run }), 400, "itself"),
        ("merge", json!({ "from": "nope" }), 400, "from: "),
        ("fork", json!({ "at": "zz" }), 400, "at: "),
        ("fork", json!({ "runId": other }), 409, "exists"),
        ("fork", json!({ "runId": run }), 400, "new run id"),
    ] {
        let (got, answer) = post(&api(path), &body).await;
        assert_eq!(got, status, "{path} {body}: {answer}");
        assert!(
            answer["message"].as_str().unwrap().contains(names),
            "{path} {body}: {answer}"
        );
    }
    // With no body, a fork starts from now under a new id.
    let (status, fork) = post(&api("fork"), "").await;
    assert_eq!(status, 201, "{fork}");
    assert_ne!(fork["runId"], run);
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
