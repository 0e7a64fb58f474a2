//! Relays in several regions on loopback converge: full mesh, line topology, through a
//! partition, and after a restart (the seed's multi-region tests).

use std::time::{Duration, Instant};

use runmesh_testkit::proxy::Proxy;
use runmesh_testkit::relay::*;
use serde_json::{Value, json};

const RUN: &str = "123e4567-e89b-12d3-a456-426614174000";

/// Starts one relay per region; `dials[i]` lists the relays relay i dials (by index),
/// or an explicit URL when going through a proxy.
async fn start_mesh(regions: &[&str], dials: &[Vec<usize>]) -> Vec<TestRelay> {
    let listeners: Vec<tokio::net::TcpListener> = {
        let mut v = Vec::new();
        for _ in regions {
            v.push(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap());
        }
        v
    };
    let urls: Vec<String> = listeners
        .iter()
        .map(|l| format!("ws://{}/ws", l.local_addr().unwrap()))
        .collect();
    let mut relays = Vec::new();
    for (i, listener) in listeners.into_iter().enumerate() {
        let peers: Vec<String> = dials[i].iter().map(|j| urls[*j].clone()).collect();
        relays.push(start_with_peers(listener, regions[i], peers).await);
    }
    relays
}

async fn start_with_peers(
    listener: tokio::net::TcpListener,
    region: &str,
    peers: Vec<String>,
) -> TestRelay {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.keep();
    TestRelay::start_on(listener, &dir, region, |c| c.mesh_peers = peers).await
}

/// Relay A (us-east-1) dials relay B (eu-central-1) through a proxy the test controls;
/// B does not dial A, so cutting the proxy partitions them.
async fn pair_through_proxy() -> (TestRelay, TestRelay, Proxy) {
    let b_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = Proxy::start(b_listener.local_addr().unwrap()).await;
    let b = start_with_peers(b_listener, "eu-central-1", vec![]).await;
    let a = start_with_peers(
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        "us-east-1",
        vec![format!("ws://{}/ws", proxy.addr)],
    )
    .await;
    (a, b, proxy)
}

async fn graft(relay: &TestRelay, after: &str, agent: &str) {
    let (status, body) = post(
        &relay.http(&format!("/app/runs/{RUN}/graft")),
        json!({"after": after, "agentName": agent}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
}

async fn state(relay: &TestRelay) -> Option<Value> {
    let resp = reqwest::get(relay.http(&format!("/api/crdt/runs/{RUN}/state")))
        .await
        .ok()?;
    (resp.status() == 200).then_some(())?;
    resp.json().await.ok()
}

fn agents(state: &Value) -> Vec<String> {
    state["pipeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "graft")
        .map(|n| n["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Waits until `relay` shows a graft of `agent`; returns how long that took.
async fn until_has(relay: &TestRelay, agent: &str) -> Duration {
    let start = Instant::now();
    eventually(&format!("{agent} at {}", relay.addr), || async {
        let s = state(relay).await?;
        agents(&s).iter().any(|a| a == agent).then_some(())
    })
    .await;
    start.elapsed()
}

/// The relay's mesh status, if it answers with JSON.
async fn mesh_status(relay: &TestRelay) -> Option<Value> {
    reqwest::get(relay.http("/api/crdt/mesh/status"))
        .await
        .ok()?
        .json()
        .await
        .ok()
}

async fn until_connected(relay: &TestRelay, n: u64) {
    eventually("mesh links", || async {
        let status = mesh_status(relay).await?;
        (status["connectedPeers"].as_u64()? >= n).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_graft_in_one_region_shows_up_in_the_others() {
    let regions = ["us-east-1", "eu-central-1", "ap-southeast-1"];
    let relays = start_mesh(&regions, &[vec![1, 2], vec![0, 2], vec![0, 1]]).await;
    for r in &relays {
        until_connected(r, 2).await;
    }
    graft(&relays[0], "step1", "SecurityAgent").await;
    for (i, r) in relays.iter().enumerate().skip(1) {
        println!(
            "SecurityAgent reached {} in {:?}",
            regions[i],
            until_has(r, "SecurityAgent").await
        );
    }
    graft(&relays[2], "step1", "AuditAgent").await;
    until_has(&relays[0], "AuditAgent").await;
    until_has(&relays[1], "AuditAgent").await;

    // Each pair of relays dials both ways, so two connected peers can be the inbound
    // links while a dial out is still under way: wait for both dials to be up.
    let status: Value = eventually("both outbound links up", || async {
        let status = mesh_status(&relays[0]).await?;
        let peers = status["peers"].as_array()?;
        let up = peers
            .iter()
            .filter(|p| p["direction"] == "outbound" && p["connected"] == true)
            .count();
        (up == 2).then_some(status)
    })
    .await;
    assert_eq!(status["region"], "us-east-1");
    assert_eq!(status["status"], "active");
    let outbound: Vec<&Value> = status["peers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["direction"] == "outbound")
        .collect();
    assert_eq!(outbound.len(), 2);
    for p in &outbound {
        assert_eq!(p["connected"], true, "{p}");
        assert!(p["since"].as_u64().is_some() && p["url"].as_str().unwrap().starts_with("ws://"));
    }
    let mut regions_seen: Vec<&str> = outbound
        .iter()
        .map(|p| p["region"].as_str().unwrap())
        .collect();
    regions_seen.sort();
    assert_eq!(regions_seen, ["ap-southeast-1", "eu-central-1"]);
    eventually("no divergent runs", || async {
        let s = mesh_status(&relays[0]).await?;
        s["peers"]
            .as_array()?
            .iter()
            .all(|p| p["divergentRuns"].as_u64() == Some(0))
            .then_some(())
    })
    .await;
    let metrics = relays[0].metrics().await;
    assert!(
        metrics.contains("crdt_mesh_peers_connected{region=\"us-east-1\"} 2"),
        "relays that dial each other keep one link per pair:\n{metrics}"
    );
    assert!(metrics.contains("crdt_sync_messages_total{region=\"us-east-1\"}"));

    let (status, body) = post(
        &relays[0].http(&format!("/api/crdt/runs/{RUN}/register-peer")),
        json!({"peerRegion": "eu-central-1"}),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        body["peers"].as_array().unwrap().len(),
        1,
        "the one link to eu-central-1 resyncs: {body}"
    );
    for r in relays {
        r.stop().await;
    }
}

#[tokio::test]
async fn changes_cross_a_line_of_relays_both_ways() {
    // A dials B, B dials C; A and C never talk directly.
    let relays = start_mesh(&["a", "b", "c"], &[vec![1], vec![2], vec![]]).await;
    until_connected(&relays[1], 2).await;
    graft(&relays[0], "step1", "FromA").await;
    println!(
        "A -> C through B in {:?}",
        until_has(&relays[2], "FromA").await
    );
    graft(&relays[2], "step1", "FromC").await;
    println!(
        "C -> A through B in {:?}",
        until_has(&relays[0], "FromC").await
    );
    assert_eq!(
        agents(&state(&relays[0]).await.unwrap()),
        agents(&state(&relays[2]).await.unwrap())
    );
    for r in relays {
        r.stop().await;
    }
}

#[tokio::test]
async fn a_partition_heals_into_one_order_with_both_grafts() {
    let (a, b, proxy) = pair_through_proxy().await;
    until_connected(&b, 1).await;
    let (status, _) = post(
        &a.http("/api/crdt/runs"),
        json!({"runId": RUN, "title": "P", "steps": ["step1", "step2"]}),
    )
    .await;
    assert_eq!(status, 201);
    eventually("the run at B", || async {
        state(&b)
            .await
            .filter(|s| s["steps"].as_array().is_some_and(|a| a.len() == 2))
            .map(|_| ())
    })
    .await;

    proxy.cut().await;
    graft(&a, "step2", "PerformanceAgent").await;
    graft(&b, "step2", "ReliabilityAgent").await;
    assert!(
        !agents(&state(&b).await.unwrap()).contains(&"PerformanceAgent".to_owned()),
        "the link is cut"
    );

    let restored = Instant::now();
    proxy.restore();
    until_has(&a, "ReliabilityAgent").await;
    until_has(&b, "PerformanceAgent").await;
    println!(
        "converged {:?} after the link was restored",
        restored.elapsed()
    );
    let (sa, sb) = (state(&a).await.unwrap(), state(&b).await.unwrap());
    assert_eq!(
        sa["pipeline"], sb["pipeline"],
        "identical state on both sides"
    );
    assert_eq!(sa["grafts"], sb["grafts"]);
    let names = agents(&sa);
    assert_eq!(names.len(), 2);
    println!("order after healing: {names:?}");
    proxy.stop();
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_relay_restarted_from_its_data_dir_catches_up() {
    let relays = start_mesh(&["a", "b", "c"], &[vec![1, 2], vec![0, 2], vec![0, 1]]).await;
    until_connected(&relays[2], 2).await;
    graft(&relays[0], "step1", "BeforeStop").await;
    until_has(&relays[2], "BeforeStop").await;
    let mut relays = relays;
    let c = relays.pop().unwrap();
    let (c_addr, c_dir) = (c.addr, c.data_dir.clone());
    c.stop().await;

    graft(&relays[0], "step1", "WhileDown").await;
    graft(&relays[1], "step1", "AlsoWhileDown").await;

    let peers = vec![
        format!("ws://{}/ws", relays[0].addr),
        format!("ws://{}/ws", relays[1].addr),
    ];
    let listener = tokio::net::TcpListener::bind(c_addr).await.unwrap();
    let c = TestRelay::start_on(listener, &c_dir, "c", |cfg| cfg.mesh_peers = peers).await;
    let took = until_has(&c, "WhileDown").await;
    until_has(&c, "AlsoWhileDown").await;
    println!("restarted relay caught up in {took:?}");
    // A hears of B's graft over its own link to B, which may be a few milliseconds
    // behind C's catch-up.
    until_has(&relays[0], "AlsoWhileDown").await;
    assert_eq!(
        agents(&state(&c).await.unwrap()),
        agents(&state(&relays[0]).await.unwrap())
    );
    c.stop().await;
    for r in relays {
        r.stop().await;
    }
}

#[tokio::test]
async fn two_relays_that_each_create_a_run_during_a_partition_merge_with_nothing_lost() {
    let (a, b, proxy) = pair_through_proxy().await;
    proxy.cut().await;
    // Neither relay has seen the run: each graft creates it on its own side.
    graft(&a, "step1", "SecurityAgent").await;
    graft(&b, "step1", "ReliabilityAgent").await;
    let (status, _) = post(
        &b.http(&format!("/app/runs/{RUN}/prune")),
        json!({"nodeId": "step1"}),
    )
    .await;
    assert_eq!(status, 200);
    proxy.restore();
    until_has(&a, "ReliabilityAgent").await;
    until_has(&b, "SecurityAgent").await;
    let (sa, sb) = (state(&a).await.unwrap(), state(&b).await.unwrap());
    assert_eq!(sa["pipeline"], sb["pipeline"]);
    assert_eq!(
        sa["prunedSteps"][0]["id"], "step1",
        "B's prune survived the merge too"
    );
    assert_eq!(agents(&sa).len(), 2);
    proxy.stop();
    a.stop().await;
    b.stop().await;
}
