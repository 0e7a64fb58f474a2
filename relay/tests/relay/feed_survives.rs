//! The change feed survives what writers do (issue 32, item 3): a change with no
//! dependencies, concurrent branches, a fork merged back; every id it sent resumes; a
//! feed that must end (shutdown) says why; and open feeds are capped.

use std::time::Duration;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT};
use base64::Engine;
use runmesh_core::{Identity, RunDoc};
use serde_json::{Value, json};

use crate::feed::{RUN, agent, graft};
use crate::sse::Consumer;
use runmesh_testkit::relay::*;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

async fn sync(relay: &TestRelay, bytes: &[u8]) -> (u16, Value) {
    let url = relay.http(&format!("/api/crdt/runs/{RUN}/sync"));
    post(&url, json!({ "changes": b64(bytes) })).await
}

/// Events from `consumer` until the graft of `last`, which is included.
async fn until(consumer: &mut Consumer, last: &str) -> Vec<(String, Value)> {
    let mut events = Vec::new();
    loop {
        let (id, event) = consumer.next().await;
        let done = event["diff"]["graftsAdded"][0]["agentName"] == last;
        events.push((id, event));
        if done {
            return events;
        }
    }
}

#[tokio::test]
async fn a_change_with_no_dependencies_keeps_feeds_open_and_ids_from_before_it_resume() {
    let relay = TestRelay::start("eu-central-1").await;
    graft(&relay, "Before").await;
    let url = relay.http(&format!("/api/crdt/runs/{RUN}/events"));
    let mut live = Consumer::open(&url, None).await;
    live.quiet().await;
    graft(&relay, "One").await;
    let (one_id, _) = live.next().await;

    // A change made in a document of its own: it depends on nothing.
    let mut other = AutoCommit::new();
    other.put(ROOT, "title", "written elsewhere").unwrap();
    other.commit();
    let rootless = other.get_heads()[0].to_string();
    let (status, body) = sync(&relay, &other.save()).await;
    // A rule of the run may refuse it (it does not descend from the run's genesis);
    // accepted or refused, the feed goes on.
    assert!(
        status == 200 || (400..500).contains(&status),
        "{status}: {body}"
    );
    let accepted = status == 200;
    graft(&relay, "Two").await;
    let seen = until(&mut live, "Two").await;
    let hashes: Vec<&Value> = seen.iter().map(|(_, e)| &e["change"]["hash"]).collect();
    assert_eq!(hashes.contains(&&json!(rootless)), accepted, "{hashes:?}");
    live.quiet().await;

    // From the id before it, and from every id since, the rest follows once.
    let mut ids = vec![one_id];
    ids.extend(seen.iter().map(|(id, _)| id.clone()));
    for (i, id) in ids.iter().enumerate() {
        let mut again = Consumer::open(&url, Some(id)).await;
        for (want, _) in &seen[i..] {
            assert_eq!(&again.next().await.0, want, "resuming from id {i}");
        }
        again.quiet().await;
        again.close();
    }
    live.close();
    relay.stop().await;
}

#[tokio::test]
async fn branches_and_a_fork_merged_back_keep_the_feed_in_step() {
    let relay = TestRelay::start("eu-central-1").await;
    graft(&relay, "Base").await;
    let url = relay.http(&format!("/api/crdt/runs/{RUN}/events"));
    let mut live = Consumer::open(&url, None).await;
    let saved = reqwest::get(relay.http(&format!("/api/crdt/runs/{RUN}/changes")))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();

    // Four writers branch from the same point: four heads at once.
    for i in 0..4 {
        let who = Identity::random("eu-central-1", &format!("writer{i}")).unwrap();
        let mut replica = RunDoc::load(RUN.parse().unwrap(), who, &saved).unwrap();
        replica
            .graft("step1", &format!("Branch{i}"), 2_000 + i)
            .unwrap();
        let (status, body) = sync(&relay, &replica.save()).await;
        assert_eq!(status, 200, "{body}");
    }
    let (_, heads) = get(&relay.http(&format!("/api/crdt/runs/{RUN}/heads"))).await;
    assert_eq!(heads["heads"].as_array().unwrap().len(), 4, "{heads}");

    // A fork, changed, merged back while the run changed too.
    let (status, fork) = post(&relay.http(&format!("/api/crdt/runs/{RUN}/fork")), "").await;
    assert_eq!(status, 201, "{fork}");
    let fork = fork["runId"].as_str().unwrap().to_owned();
    let (status, _) = post(
        &relay.http(&format!("/app/runs/{fork}/graft")),
        r#"{"after": "step2", "agentName": "InFork"}"#,
    )
    .await;
    assert_eq!(status, 201);
    graft(&relay, "Meanwhile").await;
    let merge = relay.http(&format!("/api/crdt/runs/{RUN}/merge"));
    let (status, body) = post(&merge, json!({ "from": fork })).await;
    assert_eq!(status, 200, "{body}");
    graft(&relay, "Last").await;

    let seen = until(&mut live, "Last").await;
    let mut grafted: Vec<&str> = seen
        .iter()
        .filter(|(_, e)| e["change"]["op"] == "graft")
        .map(|(_, e)| agent(e))
        .collect();
    grafted.sort();
    assert_eq!(
        grafted,
        [
            "Branch0",
            "Branch1",
            "Branch2",
            "Branch3",
            "InFork",
            "Last",
            "Meanwhile"
        ]
    );
    let (_, heads) = get(&relay.http(&format!("/api/crdt/runs/{RUN}/heads"))).await;
    let mut now: Vec<&str> = heads["heads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    now.sort();
    assert_eq!(seen.last().unwrap().0, now.join(","), "ends at the heads");

    // Every id the feed sent resumes with exactly the changes that followed it: live,
    // concurrent changes came in the order they were stored; resumed, in the order every
    // replica agrees on. Either way each once, none missed.
    let hash = |event: &Value| event["change"]["hash"].as_str().unwrap().to_owned();
    for (i, (id, _)) in seen.iter().enumerate() {
        let mut again = Consumer::open(&url, Some(id)).await;
        let mut want: Vec<String> = seen[i + 1..].iter().map(|(_, e)| hash(e)).collect();
        let mut got = Vec::new();
        for _ in &want {
            got.push(hash(&again.next().await.1));
        }
        again.quiet().await;
        want.sort();
        got.sort();
        assert_eq!(got, want, "resuming after event {i}");
        again.close();
    }
    live.close();
    relay.stop().await;
}

#[tokio::test]
async fn shutdown_ends_every_feed_with_a_reason_and_the_relay_exits() {
    let relay = TestRelay::start("eu-central-1").await;
    graft(&relay, "Before").await;
    let url = relay.http(&format!("/api/crdt/runs/{RUN}/events"));
    let mut feeds = Vec::new();
    for _ in 0..3 {
        feeds.push(Consumer::open(&url, None).await);
    }
    let stopping = tokio::spawn(relay.stop());
    for feed in &mut feeds {
        let end = feed.ended().await;
        assert_eq!(end["code"], "shutdown", "{end}");
        assert!(end["reason"].as_str().unwrap().contains("shutting down"));
    }
    tokio::time::timeout(Duration::from_secs(10), stopping)
        .await
        .expect("the relay exits once its feeds have ended")
        .unwrap();
}

#[tokio::test]
async fn feeds_over_the_caps_are_refused_naming_the_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start_in(tmp.path(), "eu-central-1", |c| {
        c.max_sse_subscribers = 3;
        c.max_sse_subscribers_per_run = 2;
    })
    .await;
    let other = "223e4567-e89b-12d3-a456-426614174000";
    for run in [RUN, other] {
        let (status, _) = post(
            &relay.http(&format!("/app/runs/{run}/graft")),
            r#"{"after": "step1", "agentName": "A"}"#,
        )
        .await;
        assert_eq!(status, 201);
    }
    let events = |run: &str| relay.http(&format!("/api/crdt/runs/{run}/events"));
    let open = |run: &str| Consumer::try_open(reqwest::Client::new().get(events(run)));
    let _first = open(RUN).await.unwrap();
    let _second = open(RUN).await.unwrap();
    let Err((status, body)) = open(RUN).await else {
        panic!("a third feed of one run was let in past the cap of 2");
    };
    assert_eq!(status, 503);
    assert_eq!(body["error"], "unavailable");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains(
            "already has 2 change-feed subscribers, the limit (--max-sse-subscribers-per-run)"
        ),
        "{message}"
    );
    let _third = open(other).await.unwrap();
    let Err((status, body)) = open(other).await else {
        panic!("a fourth feed was let in past the cap of 3");
    };
    assert_eq!(status, 503);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("3 change feeds, the limit (--max-sse-subscribers)"),
        "{body}"
    );
    relay.stop().await;
}

#[tokio::test]
async fn a_consumer_far_behind_gets_the_whole_backlog_in_order() {
    let relay = TestRelay::start("eu-central-1").await;
    graft(&relay, "Base").await;
    let (_, heads) = get(&relay.http(&format!("/api/crdt/runs/{RUN}/heads"))).await;
    let from = heads["heads"][0].as_str().unwrap().to_owned();
    let saved = reqwest::get(relay.http(&format!("/api/crdt/runs/{RUN}/changes")))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    // More changes than the feed reads from the run at once (256).
    let who = Identity::random("eu-central-1", "batch").unwrap();
    let mut replica = RunDoc::load(RUN.parse().unwrap(), who, &saved).unwrap();
    for i in 0..600 {
        replica.graft("step1", &format!("G{i}"), 2_000 + i).unwrap();
    }
    let (status, body) = sync(&relay, &replica.save()).await;
    assert_eq!(status, 200, "{body}");

    let url = relay.http(&format!("/api/crdt/runs/{RUN}/events"));
    let mut behind = Consumer::open(&url, Some(&from)).await;
    for i in 0..600 {
        let (_, event) = behind.next().await;
        assert_eq!(agent(&event), format!("G{i}"));
    }
    behind.quiet().await;
    graft(&relay, "Live").await;
    assert_eq!(agent(&behind.next().await.1), "Live");
    behind.close();
    relay.stop().await;
}
