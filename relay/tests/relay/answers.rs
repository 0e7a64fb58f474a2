//! What a change answers (issue 37): what it did — ids and the run's new heads, small
//! whatever the run's size — by default, and the whole run only when the client asks with
//! `Prefer: return=representation` or `?return=representation`; and `…/history` paged the
//! way the run listing is.

use reqwest::Method;
use runmesh_testkit::relay::*;
use serde_json::{Value, json};

/// A change's status, `Preference-Applied` header, body size and JSON answer.
struct Answer {
    status: u16,
    applied: Option<String>,
    bytes: usize,
    body: Value,
}

async fn send(method: Method, url: &str, prefer: Option<&str>, body: Value) -> Answer {
    let mut request = reqwest::Client::new().request(method, url);
    if let Some(prefer) = prefer {
        request = request.header("Prefer", prefer);
    }
    if !body.is_null() {
        request = request.body(body.to_string());
    }
    let resp = request.send().await.unwrap();
    let status = resp.status().as_u16();
    let applied = resp
        .headers()
        .get("preference-applied")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = resp.text().await.unwrap();
    Answer {
        status,
        applied,
        bytes: text.len(),
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    }
}

async fn heads(relay: &TestRelay, run: &str) -> Value {
    get(&relay.http(&format!("/api/crdt/runs/{run}/heads")))
        .await
        .1["heads"]
        .clone()
}

/// Every change to a run, asked nothing: its status as before, the ids it made or
/// touched, the heads it left (those `GET …/heads` then shows), no state, under 1 KB —
/// on a run whose whole state is far larger.
#[tokio::test]
async fn a_change_answers_what_it_did_not_the_whole_run() {
    let relay = TestRelay::start("eu-central-1").await;
    let run = "6f1c0c1e-0000-4000-8000-000000000037";
    let app = |path: &str| relay.http(&format!("/app/runs/{run}/{path}"));
    let api = |path: &str| relay.http(&format!("/api/crdt/runs/{run}/{path}"));
    let created = send(
        Method::POST,
        &relay.http("/api/crdt/runs"),
        None,
        json!({ "runId": run, "title": "Big", "steps": ["step1"] }),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["documentId"].as_str().map(str::len), Some(28));
    // Enough grafts that the whole state is well over the 1 KB a change may answer.
    let mut graft = None;
    for i in 0..30 {
        let body = json!({ "after": "step1", "agentName": format!("Agent{i}") });
        graft = Some(send(Method::POST, &app("graft"), None, body).await);
    }
    let graft = graft.unwrap();
    let (_, whole) = get(&api("state")).await;
    assert!(whole.to_string().len() > 4096, "the run is not big enough");
    let graft_id = graft.body["graftId"].as_str().unwrap().to_owned();

    let node = json!({ "nodeId": graft_id });
    let flag = json!({ "value": true });
    let history = get(&api("history")).await.1;
    let first = history["history"][1]["hash"].clone();
    let changes = [
        ("graft", graft, 201, vec!["graftId"]),
        (
            "prune",
            send(Method::POST, &app("prune"), None, node.clone()).await,
            200,
            vec!["nodeId", "changed"],
        ),
        (
            "restore",
            send(Method::POST, &app("restore"), None, node).await,
            200,
            vec!["nodeId", "changed"],
        ),
        (
            "set flag",
            send(Method::PUT, &app("flags/ok"), None, flag).await,
            200,
            vec!["key", "changed"],
        ),
        (
            "clear flag",
            send(Method::DELETE, &app("flags/ok"), None, Value::Null).await,
            200,
            vec!["key", "changed"],
        ),
        (
            "undo",
            send(Method::POST, &api("undo"), None, json!({ "change": first })).await,
            200,
            vec!["undone", "change"],
        ),
        (
            "merge",
            {
                let fork = send(Method::POST, &api("fork"), None, Value::Null).await;
                assert_eq!(fork.status, 201, "{}", fork.body);
                assert!(fork.body.get("state").is_none(), "{}", fork.body);
                assert_eq!(fork.body["forkOf"]["runId"], run);
                assert_eq!(fork.body["heads"].as_array().map(Vec::len), Some(1));
                assert!(fork.bytes < 1024, "fork: {} bytes", fork.bytes);
                let from = fork.body["runId"].as_str().unwrap().to_owned();
                let tried = json!({ "after": "step1", "agentName": "Tried" });
                let url = relay.http(&format!("/app/runs/{from}/graft"));
                assert_eq!(send(Method::POST, &url, None, tried).await.status, 201);
                send(Method::POST, &api("merge"), None, json!({ "from": from })).await
            },
            200,
            vec!["from", "merged"],
        ),
    ];
    for (what, answer, status, fields) in changes {
        let body = &answer.body;
        assert_eq!(answer.status, status, "{what}: {body}");
        assert!(
            body.get("state").is_none(),
            "{what} answered the run: {body}"
        );
        assert!(answer.applied.is_none(), "{what}: nothing was preferred");
        assert!(answer.bytes < 1024, "{what}: {} bytes", answer.bytes);
        assert_eq!(body["runId"], run, "{what}: {body}");
        for field in fields {
            assert!(!body[field].is_null(), "{what} lacks {field}: {body}");
        }
        assert_eq!(body["heads"].as_array().map(Vec::len), Some(1), "{what}");
    }
    // The last change's heads are the run's heads now.
    let merged = send(Method::POST, &api("merge"), None, json!({ "from": run })).await;
    assert_eq!(merged.status, 400, "a run cannot merge from itself");
    let again = send(
        Method::POST,
        &app("prune"),
        None,
        json!({ "nodeId": "step1" }),
    )
    .await;
    assert_eq!(again.body["heads"], heads(&relay, run).await);
    relay.stop().await;
}

/// The whole run when asked: by `Prefer: return=representation` (answered with
/// `Preference-Applied`) or by `?return=representation`; `return=minimal` is honoured and
/// said so; a `Prefer` the relay does not understand is ignored (RFC 7240); a bad
/// `?return=` is a 400 naming it.
#[tokio::test]
async fn the_whole_run_only_when_asked() {
    let relay = TestRelay::start("eu-central-1").await;
    let run = "6f1c0c1e-0000-4000-8000-000000000038";
    let graft = relay.http(&format!("/app/runs/{run}/graft"));
    let body = |agent: &str| json!({ "after": "step1", "agentName": agent });

    let asked = send(
        Method::POST,
        &graft,
        Some("respond-async, return=representation"),
        body("A"),
    )
    .await;
    assert_eq!(asked.status, 201, "{}", asked.body);
    assert_eq!(asked.applied.as_deref(), Some("return=representation"));
    assert_eq!(asked.body["state"]["grafts"][0]["agentName"], "A");
    assert_eq!(asked.body["state"]["region"], "eu-central-1");
    assert!(asked.body["graftId"].is_string() && asked.body["heads"].is_array());

    let flagged = send(
        Method::POST,
        &format!("{graft}?return=representation"),
        None,
        body("B"),
    )
    .await;
    assert_eq!(flagged.status, 201, "{}", flagged.body);
    assert_eq!(
        flagged.body["state"]["grafts"].as_array().map(Vec::len),
        Some(2)
    );

    let minimal = send(Method::POST, &graft, Some("return=minimal"), body("C")).await;
    assert_eq!(minimal.status, 201);
    assert_eq!(minimal.applied.as_deref(), Some("return=minimal"));
    assert!(minimal.body.get("state").is_none(), "{}", minimal.body);

    for ignored in [
        "return=everything",
        "return",
        "wait=5; return=representation",
        ";;=,",
    ] {
        let answer = send(Method::POST, &graft, Some(ignored), body("D")).await;
        assert_eq!(answer.status, 201, "{ignored}: {}", answer.body);
        assert!(answer.applied.is_none(), "{ignored}");
        assert!(
            answer.body.get("state").is_none(),
            "{ignored}: {}",
            answer.body
        );
    }

    let bad = send(
        Method::POST,
        &format!("{graft}?return=all"),
        None,
        body("E"),
    )
    .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(
        bad.body["message"]
            .as_str()
            .unwrap()
            .starts_with("return must be"),
        "{}",
        bad.body
    );
    let (_, state) = get(&relay.http(&format!("/api/crdt/runs/{run}/state"))).await;
    assert_eq!(
        state["grafts"].as_array().map(Vec::len),
        Some(7),
        "the refused graft was not made"
    );
    relay.stop().await;
}

/// `GET …/history?limit=&after=` pages through every change once, in the agreed order,
/// as the run listing pages (`next` is the `after` of the next page, `null` on the last);
/// a bad parameter is a 400 naming it, a change the run lacks a 422.
#[tokio::test]
async fn the_history_pages_like_the_run_list() {
    let relay = TestRelay::start("eu-central-1").await;
    let run = "6f1c0c1e-0000-4000-8000-000000000039";
    for i in 0..7 {
        let body = json!({ "after": "step1", "agentName": format!("A{i}") });
        let (status, _) = post(&relay.http(&format!("/app/runs/{run}/graft")), body).await;
        assert_eq!(status, 201);
    }
    let history = |query: String| relay.http(&format!("/api/crdt/runs/{run}/history{query}"));
    let (status, all) = get(&history(String::new())).await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(
        (all["total"].as_u64(), all["next"].is_null()),
        (Some(7), true)
    );
    let every: Vec<Value> = all["history"].as_array().unwrap().clone();
    assert_eq!(every.len(), 7);

    let mut paged = Vec::new();
    let mut query = "?limit=3".to_owned();
    loop {
        let (status, page) = get(&history(query.clone())).await;
        assert_eq!(status, 200, "{query}: {page}");
        assert_eq!(page["total"], 7);
        let entries = page["history"].as_array().unwrap();
        assert!(entries.len() <= 3, "{page}");
        paged.extend(entries.iter().cloned());
        match page["next"].as_str() {
            Some(next) => {
                assert_eq!(entries.last().unwrap()["hash"], next);
                query = format!("?limit=3&after={next}");
            }
            None => break,
        }
    }
    assert_eq!(paged, every);

    let unknown = "ab".repeat(32);
    for (query, status, named) in [
        ("?limit=0".to_owned(), 400, "limit"),
        ("?limit=1001".to_owned(), 400, "limit"),
        ("?after=abc".to_owned(), 400, "after"),
        ("?page=2".to_owned(), 400, "\"page\""),
        (format!("?after={unknown}"), 422, "after: "),
    ] {
        let (got, body) = get(&history(query.clone())).await;
        assert_eq!(got, status, "{query}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains(named),
            "{query}: {body}"
        );
    }
    relay.stop().await;
}
