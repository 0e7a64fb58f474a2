//! A run's past over REST: the run at some heads, the diff between two points, undo,
//! fork and merge; each refusal names what was wrong.

use runmesh_testkit::relay::*;
use serde_json::{Value, json};

const RUN: &str = "123e4567-e89b-12d3-a456-426614174000";

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
