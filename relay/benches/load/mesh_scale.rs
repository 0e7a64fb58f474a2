//! `meshscale`: what a mesh link costs as the number of stored runs grows (issue 19's
//! curve). For each N in `RUNMESH_MESH_RUNS` (comma-separated; default `1000,10000`),
//! relay A starts on a data directory of N runs (one graft each, written through the
//! store as the relay writes them) and relay B starts empty, dialling A:
//!
//! - catch-up: how long until every run is on B, the CPU and peak RSS of each relay, and
//!   the bytes the two exchanged;
//! - re-link: B stops as a deploy stops it (SIGTERM) and restarts on its directory, in
//!   step with A: how long until the link is up and quiet again, the CPU each spent,
//!   bytes exchanged, and runs loaded;
//! - one change: B stops, one run gets a graft on A, B comes back: how long until B has
//!   it, and how many runs were offered.
//!
//! `RUNMESH_MESH_GRAFTS` gives each written run that many grafts (default 1): the memory
//! of a catch-up must stay bounded whatever size the runs are.
//! `RUNMESH_MESH_VIA=rest` makes A's runs as users make them instead: a create and a graft
//! over REST each, so A's directory holds what the relay itself wrote (logs of appends,
//! their digest records) rather than one snapshot per run.

use std::path::Path;
use std::time::{Duration, Instant};

use runmesh_core::digest::Fingerprint;
use runmesh_core::{Identity, RunDoc, RunId, StepSpec};
use runmesh_relay::store::{DirStore, EventMeta, Store};
use serde_json::Value;

use crate::relay::Relay;

const DEADLINE: Duration = Duration::from_secs(1800);

pub async fn run() {
    let sizes = std::env::var("RUNMESH_MESH_RUNS").unwrap_or_else(|_| "1000,10000".into());
    for n in sizes
        .split(',')
        .filter_map(|s| s.trim().parse::<usize>().ok())
    {
        one_size(n).await;
    }
}

/// Writes `n` runs of `grafts` grafts each into `dir`, as the relay stores them.
async fn populate(dir: &Path, n: usize, grafts: usize) -> Vec<RunId> {
    let store = DirStore::open(dir).unwrap();
    let steps = [
        StepSpec::new("step1").unwrap(),
        StepSpec::new("step2").unwrap(),
    ];
    let identity = Identity::random("region-a", "bench").unwrap();
    let mut runs = Vec::with_capacity(n);
    for i in 0..n {
        let id = RunId::random();
        let mut run = RunDoc::create(id, identity.clone(), "mesh", &steps, 1).unwrap();
        for g in 0..grafts {
            run.graft("step1", &format!("Agent{i}x{g}"), 2 + g as u64)
                .unwrap();
        }
        let meta = EventMeta {
            source_region: "region-a".into(),
            lamport: 1,
            heads: Some(Fingerprint::of_heads(&run.heads())),
            base: Some(Fingerprint::of_heads(&[])),
        };
        store
            .snapshot(&id.document_id(), &run.save(), &meta, 1)
            .await
            .unwrap();
        runs.push(id);
    }
    runs
}

/// Makes `n` runs on the relay at `http` as users make them: a create and a graft each,
/// over REST, a few at a time.
async fn made_over_rest(http: &str, n: usize) -> Vec<RunId> {
    const AT_ONCE: usize = 8;
    let runs: Vec<RunId> = (0..n).map(|_| RunId::random()).collect();
    let mut tasks = tokio::task::JoinSet::new();
    for lane in 0..AT_ONCE {
        let mine: Vec<RunId> = runs.iter().skip(lane).step_by(AT_ONCE).copied().collect();
        let http = http.to_string();
        tasks.spawn(async move {
            let client = reqwest::Client::new();
            for (i, run) in mine.into_iter().enumerate() {
                let create =
                    serde_json::json!({"runId": run, "title": "mesh", "steps": ["step1", "step2"]});
                let resp = client
                    .post(format!("{http}/api/crdt/runs"))
                    .body(create.to_string())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), 201, "create {run}");
                let graft =
                    serde_json::json!({"after": "step1", "agentName": format!("Agent{lane}x{i}")});
                let resp = client
                    .post(format!("{http}/app/runs/{run}/graft"))
                    .body(graft.to_string())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), 201, "graft into {run}");
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    runs
}

async fn get(url: &str) -> Value {
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

async fn text(url: &str) -> String {
    reqwest::get(url).await.unwrap().text().await.unwrap()
}

/// The sum of a metric's series.
async fn metric(relay: &Relay, name: &str) -> f64 {
    text(&format!("{}/metrics", relay.http))
        .await
        .lines()
        .filter(|l| l.starts_with(name) && !l.starts_with(&format!("{name}_")))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Mesh bytes A sent and received.
async fn mesh_bytes(relay: &Relay) -> f64 {
    metric(relay, "runmesh_mesh_sent_bytes_total").await
        + metric(relay, "runmesh_mesh_received_bytes_total").await
}

/// The catch-up of `relay`'s connected mesh peer, if a link is up.
async fn catch_up(relay: &Relay) -> Option<Value> {
    let status = get(&format!("{}/api/crdt/mesh/status", relay.http)).await;
    let peers = status["peers"].as_array()?.clone();
    let peer = peers.into_iter().find(|p| p["connected"] == true)?;
    Some(peer["catchUp"].clone())
}

async fn until<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "meshscale: timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until `relay`'s mesh bytes have not moved for 300 ms; returns when they last did.
async fn until_quiet(relay: &Relay) -> Instant {
    let (mut last, mut moved) = (mesh_bytes(relay).await, Instant::now());
    while moved.elapsed() < Duration::from_millis(300) {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let now = mesh_bytes(relay).await;
        if now != last {
            (last, moved) = (now, Instant::now());
        }
    }
    moved
}

async fn one_size(n: usize) {
    let tmp = tempfile::tempdir().unwrap();
    let (a_dir, b_dir) = (tmp.path().join("a"), tmp.path().join("b"));
    let written = Instant::now();
    let via_rest = std::env::var("RUNMESH_MESH_VIA").is_ok_and(|v| v == "rest");
    let grafts = std::env::var("RUNMESH_MESH_GRAFTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let runs = if via_rest {
        Vec::new()
    } else {
        populate(&a_dir, n, grafts).await
    };
    // A unloads idle runs after 1 s, so that a run changed over REST is not still in
    // memory (and synced at once over the new link) when B comes back.
    let a = Relay::start_in(&a_dir, "region-a", &["--idle-unload-secs", "1"]);
    let runs = if via_rest {
        let runs = made_over_rest(&a.http, n).await;
        until("A to unload the runs it made", async || {
            (metric(&a, "runmesh_runs_loaded").await == 0.0).then_some(())
        })
        .await;
        runs
    } else {
        runs
    };
    println!(
        "meshscale {n}: {n} runs written in {:.1?}{}; A at {:.0} MiB RSS",
        written.elapsed(),
        if via_rest { " over REST" } else { "" },
        a.rss_mib(),
    );
    let a_cpu = a.cpu_secs();
    // Catch-up: B starts empty.
    let started = Instant::now();
    let b = Relay::start_in(&b_dir, "region-b", &["--mesh-peers", &a.ws]);
    let done = until("every run to reach B", async || {
        let done = catch_up(&a).await?;
        let finished = done["synced"].as_u64()? + done["unsettled"].as_u64()?;
        (finished == n as u64).then_some(done)
    })
    .await;
    let took = started.elapsed();
    let listed = get(&format!("{}/api/crdt/runs?limit=1", b.http)).await;
    assert_eq!(listed["total"], n, "B lists every run");
    println!(
        "meshscale {n}: catch-up of an empty relay: {took:.2?} ({:.2} ms per run, {} unsettled); CPU A {:.2} s, B {:.2} s; peak RSS A {:.0} MiB, B {:.0} MiB; {:.1} MiB exchanged",
        took.as_secs_f64() * 1000.0 / n as f64,
        done["unsettled"],
        a.cpu_secs() - a_cpu,
        b.cpu_secs(),
        a.peak_rss_mib(),
        b.peak_rss_mib(),
        mesh_bytes(&a).await / (1024.0 * 1024.0),
    );
    b.terminate();
    until("A to unload every run", async || {
        (metric(&a, "runmesh_runs_loaded").await == 0.0).then_some(())
    })
    .await;

    // Re-link in step: B restarts.
    let (a_cpu, bytes) = (a.cpu_secs(), mesh_bytes(&a).await);
    let started = Instant::now();
    let b = Relay::start_in(&b_dir, "region-b", &["--mesh-peers", &a.ws]);
    let up = until("the link", async || {
        catch_up(&b).await.map(|_| started.elapsed())
    })
    .await;
    let quiet = until_quiet(&a).await.duration_since(started);
    let loaded = metric(&a, "runmesh_runs_loaded").await + metric(&b, "runmesh_runs_loaded").await;
    let offered = [catch_up(&a).await, catch_up(&b).await];
    let quiet_cpu = (a.cpu_secs() - a_cpu, b.cpu_secs());
    // The goal is read over the first 20 s after B's start: anything a re-link sets off
    // late (a second reconciliation, unloads, compaction) counts too.
    tokio::time::sleep(Duration::from_secs(20).saturating_sub(started.elapsed())).await;
    println!(
        "meshscale {n}: re-link in step: B up and linked {up:.2?}, quiet {quiet:.2?} after start; CPU A {:.3} s, B {:.3} s until quiet (B from its start), {:.3} / {:.3} s in the first 20 s; {:.1} KiB exchanged; runs loaded {loaded}; catch-up A {}, B {}",
        quiet_cpu.0,
        quiet_cpu.1,
        a.cpu_secs() - a_cpu,
        b.cpu_secs(),
        (mesh_bytes(&a).await - bytes) / 1024.0,
        offered[0].clone().unwrap_or_default(),
        offered[1].clone().unwrap_or_default(),
    );
    b.stop();

    // One run changes while B is down.
    let run = runs[n / 2];
    let graft = serde_json::json!({"after": "step1", "agentName": "WhileApart"});
    let resp = reqwest::Client::new()
        .post(format!("{}/app/runs/{run}/graft", a.http))
        .body(graft.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    until("A to unload the changed run", async || {
        (metric(&a, "runmesh_runs_loaded").await == 0.0).then_some(())
    })
    .await;
    let started = Instant::now();
    let b = Relay::start_in(&b_dir, "region-b", &["--mesh-peers", &a.ws]);
    let finished = |v: &Option<Value>| {
        v.as_ref().map_or(0, |v| {
            v["synced"].as_u64().unwrap_or(0) + v["unsettled"].as_u64().unwrap_or(0)
        })
    };
    let queued = |v: &Option<Value>| {
        v.as_ref()
            .map_or(0, |v| v["runsToSync"].as_u64().unwrap_or(0))
    };
    let (on_a, on_b) = until("the changed run", async || {
        let (on_a, on_b) = (catch_up(&a).await, catch_up(&b).await);
        (finished(&on_a) + finished(&on_b) >= 1).then_some((on_a, on_b))
    })
    .await;
    let took = started.elapsed();
    let state = get(&format!("{}/api/crdt/runs/{run}/state", b.http)).await;
    let grafts_on_b = state["pipeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "graft")
        .count();
    assert_eq!(grafts_on_b, grafts + 1, "B has the change");
    println!(
        "meshscale {n}: one run changed while apart: synced {took:.2?} after B started; runs offered {}",
        queued(&on_a) + queued(&on_b)
    );
    b.stop();
    a.stop();
}
