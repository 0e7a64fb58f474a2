//! Nothing acknowledged is lost: across restarts, snapshots, unloading, and SIGKILL.

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::{Arc, Mutex};

use crate::RELAY;
use runmesh_testkit::child::ChildRelay;
use runmesh_testkit::relay::*;
use serde_json::Value;

const RUN: &str = "123e4567-e89b-12d3-a456-426614174000";

async fn graft(base: &str, agent: &str) -> Option<String> {
    let resp = reqwest::Client::new()
        .post(format!("{base}/app/runs/{RUN}/graft"))
        .body(format!(r#"{{"after":"step1","agentName":"{agent}"}}"#))
        .send()
        .await
        .ok()?;
    if resp.status() != 201 {
        return None;
    }
    let body: Value = resp.json().await.ok()?;
    body["graftId"].as_str().map(str::to_owned)
}

async fn graft_ids(base: &str) -> BTreeSet<String> {
    let state: Value = reqwest::get(format!("{base}/api/crdt/runs/{RUN}/state"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    state["grafts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_restart_on_the_same_data_dir_loses_nothing_and_snapshots_rotate() {
    let tmp = tempfile::tempdir().unwrap();
    let tweak = |c: &mut runmesh_relay::Config| {
        c.snapshot_interval_events = 5;
        c.snapshot_retain = 2;
    };
    let relay = TestRelay::start_in(tmp.path(), "us-east-1", tweak).await;
    let mut acked = BTreeSet::new();
    for i in 0..23 {
        acked.insert(graft(&relay.base(), &format!("A{i}")).await.unwrap());
    }
    let before: Value = reqwest::get(relay.http(&format!("/api/crdt/runs/{RUN}/state")))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    relay.stop().await;

    let run_dir = std::fs::read_dir(tmp.path().join("runs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut files: Vec<String> = std::fs::read_dir(&run_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    // 23 batches, a snapshot every 5: snapshots 1..4, the newest two kept, one live log.
    assert_eq!(
        files,
        [
            "log-00000004.bin",
            "snapshot-00000003.bin",
            "snapshot-00000004.bin"
        ]
    );

    let relay = TestRelay::start_in(tmp.path(), "us-east-1", tweak).await;
    let after: Value = reqwest::get(relay.http(&format!("/api/crdt/runs/{RUN}/state")))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(after["grafts"], before["grafts"]);
    assert_eq!(graft_ids(&relay.base()).await, acked);
    relay.stop().await;
}

#[tokio::test]
async fn an_idle_run_is_unloaded_and_reloads_on_demand() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start_in(tmp.path(), "us-east-1", |c| {
        c.idle_unload = std::time::Duration::from_millis(200)
    })
    .await;
    let id = graft(&relay.base(), "A").await.unwrap();
    let metrics = relay.http("/metrics");
    eventually("the run to be unloaded", || async {
        let text = reqwest::get(&metrics).await.ok()?.text().await.ok()?;
        text.contains("runmesh_runs_loaded{region=\"us-east-1\"} 0")
            .then_some(())
    })
    .await;
    assert!(
        graft_ids(&relay.base()).await.contains(&id),
        "reloaded from disk"
    );
    relay.stop().await;
}

fn spawn_relay(dir: &std::path::Path) -> ChildRelay {
    RELAY.spawn(
        dir,
        &["--region", "crash", "--snapshot-interval-events", "7"],
    )
}

#[tokio::test]
async fn sigkill_in_a_write_burst_keeps_every_acknowledged_change() {
    let tmp = tempfile::tempdir().unwrap();
    let mut relay = spawn_relay(tmp.path());
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let (base, acked) = (relay.base.clone(), acked.clone());
            tokio::spawn(async move {
                for i in 0..200 {
                    match graft(&base, &format!("W{w}-{i}")).await {
                        Some(id) => {
                            acked.lock().unwrap().insert(id);
                        }
                        None => return,
                    }
                }
            })
        })
        .collect();
    eventually("a few hundred acknowledged grafts", || {
        let n = acked.lock().unwrap().len();
        async move { (n >= 300).then_some(()) }
    })
    .await;
    relay.child.kill().unwrap(); // SIGKILL, mid-burst
    relay.child.wait().unwrap();
    for w in writers {
        w.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();

    let mut restarted = spawn_relay(tmp.path());
    let stored = graft_ids(&restarted.base).await;
    let lost: Vec<_> = acked.difference(&stored).collect();
    println!(
        "{} grafts acknowledged before SIGKILL, {} stored after restart",
        acked.len(),
        stored.len()
    );
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    restarted.child.kill().unwrap();
    restarted.child.wait().unwrap();
}

#[tokio::test]
async fn sigterm_with_open_sessions_exits_zero_and_keeps_the_data() {
    let tmp = tempfile::tempdir().unwrap();
    let mut relay = spawn_relay(tmp.path());
    let id = graft(&relay.base, "BeforeTerm").await.unwrap();
    // An open WebSocket session on the run while the relay shuts down.
    let ws = relay.base.replace("http://", "ws://") + "/ws";
    let mut client = SyncClient::connect_url(
        &ws,
        runmesh_core::RunDoc::genesis(
            RUN.parse().unwrap(),
            runmesh_core::Identity::random("r", "u").unwrap(),
        ),
    )
    .await;
    client.open(true).await;
    client.wait_for("the run", |s| s.grafts.len() == 1).await;
    let status = Command::new("kill")
        .args(["-TERM", &relay.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = eventually("the relay to exit", || {
        let exited = relay.child.try_wait().unwrap();
        async move { exited }
    })
    .await;
    assert!(exit.success(), "exit status {exit:?}");
    let mut again = spawn_relay(tmp.path());
    assert!(graft_ids(&again.base).await.contains(&id));
    again.child.kill().unwrap();
    again.child.wait().unwrap();
}

#[tokio::test]
async fn an_unreadable_stored_run_is_refused_without_harming_other_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start_in(tmp.path(), "us-east-1", |_| {}).await;
    graft(&relay.base(), "A").await.unwrap();
    let other = "00000000-0000-4000-8000-000000000001";
    let resp = reqwest::Client::new()
        .post(relay.http(&format!("/app/runs/{other}/graft")))
        .body(r#"{"after":"s","agentName":"Fine"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    relay.stop().await;

    // A well-framed log record (right length and CRC) whose bytes are not Automerge.
    let doc: runmesh_core::RunId = RUN.parse().unwrap();
    let log = tmp
        .path()
        .join("runs")
        .join(doc.document_id().to_string())
        .join("log-00000000.bin");
    let junk = b"not an automerge change";
    let mut record = (junk.len() as u32).to_le_bytes().to_vec();
    record.extend_from_slice(&crc32fast::hash(junk).to_le_bytes());
    record.extend_from_slice(junk);
    let mut file = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    std::io::Write::write_all(&mut file, &record).unwrap();

    let relay = TestRelay::start_in(tmp.path(), "us-east-1", |_| {}).await;
    let resp = reqwest::get(relay.http(&format!("/api/crdt/runs/{RUN}/state")))
        .await
        .unwrap();
    assert_eq!(resp.status(), 500);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["message"], "internal error; see the relay's log",
        "no internals leak"
    );
    let mut client = SyncClient::fresh(&relay, doc, "r", "u").await;
    client.open(true).await;
    let reply = client.next_other().await.unwrap();
    assert!(
        matches!(
            reply,
            runmesh_core::sync::WireMessage::DocUnavailable { .. }
        ),
        "{reply:?}"
    );
    // The same connection and the relay still serve the healthy run.
    let state: Value = reqwest::get(relay.http(&format!("/api/crdt/runs/{other}/state")))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["grafts"][0]["agentName"], "Fine");
    relay.stop().await;
}
