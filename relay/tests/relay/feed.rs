//! The change feed, `GET /api/crdt/runs/{runId}/events` (Server-Sent Events): a consumer
//! gets each stored change once with what it did, and one that disconnects and comes back
//! with `Last-Event-ID` misses nothing and sees nothing twice.

use std::time::Duration;

use serde_json::Value;

use crate::common::*;

/// One consumer of the feed: the events parsed off the stream as they arrive.
struct Consumer {
    events: tokio::sync::mpsc::UnboundedReceiver<(String, Value)>,
    task: tokio::task::JoinHandle<()>,
}

impl Consumer {
    async fn open(url: &str, last_event_id: Option<&str>) -> Self {
        let mut request = reqwest::Client::new().get(url);
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        let (tx, events) = tokio::sync::mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            let mut response = response;
            let mut buffer = String::new();
            while let Ok(Some(chunk)) = response.chunk().await {
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buffer.find("\n\n") {
                    let block: String = buffer.drain(..end + 2).collect();
                    let (mut id, mut data) = (None, None);
                    for line in block.lines() {
                        if let Some(v) = line.strip_prefix("id: ") {
                            id = Some(v.to_owned());
                        } else if let Some(v) = line.strip_prefix("data: ") {
                            data = Some(serde_json::from_str(v).unwrap());
                        }
                    }
                    if let (Some(id), Some(data)) = (id, data) {
                        let _ = tx.send((id, data));
                    }
                }
            }
        });
        Self { events, task }
    }

    async fn next(&mut self) -> (String, Value) {
        tokio::time::timeout(Duration::from_secs(10), self.events.recv())
            .await
            .expect("an event within 10 s")
            .expect("the stream is open")
    }

    /// Nothing more arrives for a while.
    async fn quiet(&mut self) {
        let more = tokio::time::timeout(Duration::from_millis(300), self.events.recv()).await;
        assert!(more.is_err(), "unexpected event: {more:?}");
    }

    fn close(self) {
        self.task.abort();
    }
}

async fn graft(relay: &TestRelay, agent: &str) {
    let (status, body) = post(
        &relay.http(&format!("/app/runs/{RUN}/graft")),
        format!(r#"{{"after": "step1", "agentName": "{agent}"}}"#),
    )
    .await;
    assert_eq!(status, 201, "{body}");
}

const RUN: &str = "123e4567-e89b-12d3-a456-426614174000";

fn agent(event: &Value) -> &str {
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
