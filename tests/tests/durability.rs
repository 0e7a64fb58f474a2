//! Which regions' stores hold a run's changes (`GET …/durability`), on a line of three
//! relays on loopback: A dials B, B dials C, so A learns what C stored only through B.

use runmesh_testkit::relay::*;
use serde_json::{Value, json};

const RUN: &str = "7e1f0c55-0b1a-4c8e-9d40-2b6f1c3a9e77";

async fn line() -> Vec<TestRelay> {
    let mut listeners = Vec::new();
    for _ in 0..3 {
        listeners.push(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap());
    }
    let urls: Vec<String> = listeners
        .iter()
        .map(|l| format!("ws://{}/ws", l.local_addr().unwrap()))
        .collect();
    let dials = [vec![urls[1].clone()], vec![urls[2].clone()], vec![]];
    let mut relays = Vec::new();
    for ((listener, region), peers) in listeners.into_iter().zip(["a", "b", "c"]).zip(dials) {
        let dir = tempfile::tempdir().unwrap().keep();
        relays.push(TestRelay::start_on(listener, &dir, region, |c| c.mesh_peers = peers).await);
    }
    relays
}

async fn get(relay: &TestRelay, path: &str) -> Option<Value> {
    let resp = reqwest::get(relay.http(path)).await.ok()?;
    (resp.status() == 200).then_some(())?;
    resp.json().await.ok()
}

async fn graft(relay: &TestRelay, agent: &str) -> Vec<String> {
    graft_waiting(relay, agent, "").await.0
}

/// Grafts with `query` (e.g. `?durable=regions:3`): the heads after it, and the answer.
async fn graft_waiting(relay: &TestRelay, agent: &str, query: &str) -> (Vec<String>, Value) {
    let (status, body) = post(
        &relay.http(&format!("/app/runs/{RUN}/graft{query}")),
        json!({"after": "step1", "agentName": agent}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let heads = get(relay, &format!("/api/crdt/runs/{RUN}/heads"))
        .await
        .unwrap();
    (
        serde_json::from_value(heads["heads"].clone()).unwrap(),
        body,
    )
}

/// The regions `relay` says hold `heads`.
async fn regions(relay: &TestRelay, heads: &[String]) -> Option<Vec<String>> {
    let path = format!("/api/crdt/runs/{RUN}/durability?heads={}", heads.join(","));
    let body = get(relay, &path).await?;
    serde_json::from_value(body["regions"].clone()).ok()
}

#[tokio::test]
async fn a_change_is_known_stored_in_a_region_only_once_that_region_stored_it() {
    let mut relays = line().await;
    let first = graft(&relays[0], "FirstAgent").await;
    eventually(
        "A to know the first graft is in all three regions",
        || async {
            let held = regions(&relays[0], &first).await?;
            (held == ["a", "b", "c"]).then_some(())
        },
    )
    .await;
    // C stops: a second graft reaches B but not C, and A never counts C for it.
    let c = relays.pop().unwrap();
    c.stop().await;
    let second = graft(&relays[0], "SecondAgent").await;
    eventually("A to know B stored the second graft", || async {
        let held = regions(&relays[0], &second).await?;
        (held == ["a", "b"]).then_some(())
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        regions(&relays[0], &second).await.unwrap(),
        ["a", "b"],
        "a stopped region is never counted for what it did not store"
    );
    // What C stored before it stopped is still counted.
    assert_eq!(regions(&relays[0], &first).await.unwrap(), ["a", "b", "c"]);
    // A change no relay has seen is held nowhere.
    let unknown = vec!["ab".repeat(32)];
    assert_eq!(
        regions(&relays[0], &unknown).await.unwrap(),
        Vec::<String>::new()
    );
    for relay in relays {
        relay.stop().await;
    }
}

#[tokio::test]
async fn a_change_can_be_answered_once_enough_regions_hold_it() {
    let mut relays = line().await;
    // The first graft makes the run (and the links settle) before waiting on one.
    let first = graft(&relays[0], "Warm").await;
    eventually("the run in all three regions", || async {
        let held = regions(&relays[0], &first).await?;
        (held.len() == 3).then_some(())
    })
    .await;
    let (_, answer) = graft_waiting(&relays[0], "Safe", "?durable=regions:3").await;
    assert_eq!(answer["durability"]["reached"], true, "{answer}");
    assert_eq!(answer["durability"]["regions"], json!(["a", "b", "c"]));
    // With C stopped, three regions are not reached in time; the answer says which hold it.
    relays.pop().unwrap().stop().await;
    let (_, answer) = graft_waiting(
        &relays[0],
        "Waiting",
        "?durable=regions:3&durableTimeoutMs=500",
    )
    .await;
    assert_eq!(answer["durability"]["reached"], false, "{answer}");
    assert_eq!(answer["durability"]["regions"], json!(["a", "b"]));
    assert_eq!(answer["durability"]["wanted"], 3);
    // A bad wait is refused before anything is changed.
    let (status, body) = post(
        &relays[0].http(&format!("/app/runs/{RUN}/graft?durable=everywhere")),
        json!({"after": "step1", "agentName": "Never"}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("durable"), "{body}");
    for relay in relays {
        relay.stop().await;
    }
}
