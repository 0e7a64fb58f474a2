//! The change feed, `GET /api/crdt/runs/{runId}/events` (Server-Sent Events): a consumer
//! gets each stored change once with what it did, and one that disconnects and comes back
//! with `Last-Event-ID` misses nothing and sees nothing twice.

use serde_json::Value;

use crate::sse::Consumer;
use runmesh_testkit::relay::*;

pub async fn graft(relay: &TestRelay, agent: &str) {
    let (status, body) = post(
        &relay.http(&format!("/app/runs/{RUN}/graft")),
        format!(r#"{{"after": "step1", "agentName": "{agent}"}}"#),
    )
    .await;
    assert_eq!(status, 201, "{body}");
}

pub const RUN: &str = "123e4567-e89b-12d3-a456-426614174000";

pub fn agent(event: &Value) -> &str {
    event["diff"]["graftsAdded"][0]["agentName"]
        .as_str()
        .unwrap()
}

#[tokio::test]
async fn a_consumer_that_disconnects_resumes_without_gaps_or_repeats() {
    let relay = TestRelay::start("eu-central-1").await;
    graft(&relay, "Before").await;
    let url = relay.http(&format!("/api/crdt/runs/{RUN}/events"));

    // Without an id, the feed starts now.
    let mut first = Consumer::open(&url, None).await;
    first.quiet().await;
    graft(&relay, "One").await;
    let (one_id, one) = first.next().await;
    assert_eq!(agent(&one), "One");
    assert_eq!(one["change"]["op"], "graft");
    assert_eq!(one["diff"]["graftsAdded"][0]["region"], "eu-central-1");
    graft(&relay, "Two").await;
    let (_, two) = first.next().await;
    assert_eq!(agent(&two), "Two");
    first.close();

    // Gone after "One" was seen (say it crashed before handling "Two"); two more while away.
    graft(&relay, "Three").await;
    let (status, _) = post(
        &relay.http(&format!("/app/runs/{RUN}/prune")),
        r#"{"nodeId": "step2"}"#,
    )
    .await;
    assert_eq!(status, 200);
    let mut again = Consumer::open(&url, Some(&one_id)).await;
    let (_, two) = again.next().await;
    let (_, three) = again.next().await;
    let (_, pruned) = again.next().await;
    assert_eq!((agent(&two), agent(&three)), ("Two", "Three"));
    assert_eq!(pruned["diff"]["pruned"][0]["id"], "step2");
    again.quiet().await;
    // And live again.
    graft(&relay, "Four").await;
    let (last_id, four) = again.next().await;
    assert_eq!(agent(&four), "Four");
    let (_, heads) = get(&relay.http(&format!("/api/crdt/runs/{RUN}/heads"))).await;
    let heads: Vec<&str> = heads["heads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    assert_eq!(
        last_id,
        heads.join(","),
        "an event's id is the heads after it"
    );
    again.close();

    // A bad or unknown id is refused by name before any stream starts.
    let bad = reqwest::Client::new()
        .get(&url)
        .header("last-event-id", "nope")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("Last-Event-ID: "),
        "{body}"
    );
    let unknown = reqwest::Client::new()
        .get(&url)
        .header("last-event-id", "ab".repeat(32))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 422);
    relay.stop().await;
}
