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
    let (status, body) = post(
        &relay.http(&format!("/app/runs/{RUN}/graft")),
        json!({"after": "step1", "agentName": agent}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let heads = get(relay, &format!("/api/crdt/runs/{RUN}/heads"))
        .await
        .unwrap();
    serde_json::from_value(heads["heads"].clone()).unwrap()
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
