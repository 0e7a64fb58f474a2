//! Load generator: drives the real relay binary over real sockets on 127.0.0.1.
//!
//! `cargo bench -p runmesh-relay --bench load [-- throughput|ceiling|fanout|coldjoin|memory|idle|backup|shareddb|meshscale|restgraft|hostile]`
//! Every scenario is bounded in count and time and stops by itself. Figures: docs/benchmarks.md.

mod backup;
mod ceiling;
mod client;
mod hostile;
mod mesh_scale;
mod relay;
mod rest_graft;
mod shared_db;
mod throughput;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine;
use client::{Cmd, Seen};
use relay::Relay;
use runmesh_core::{Identity, RunDoc, RunId, StepSpec};
use tokio::sync::mpsc;

// The clients share the machine with the relay; they allocate as cheaply as it does.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DEADLINE: Duration = Duration::from_secs(120);

async fn create_run(http: &str, run: RunId) {
    let body = serde_json::json!({ "runId": run, "title": "load", "steps": ["step1", "step2"] });
    let resp = reqwest::Client::new()
        .post(format!("{http}/api/crdt/runs"))
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
}

/// Waits until `done` says so, feeding it every report; panics after [`DEADLINE`].
async fn collect(rx: &mut mpsc::UnboundedReceiver<Seen>, mut done: impl FnMut(&Seen) -> bool) {
    tokio::time::timeout(DEADLINE, async {
        while let Some(seen) = rx.recv().await {
            if done(&seen) {
                return;
            }
        }
        panic!("all clients stopped");
    })
    .await
    .expect("scenario deadline");
}

async fn clients(
    n: usize,
    offset: usize,
    relay: &Relay,
    run: RunId,
    track_agents: bool,
    report: &mpsc::UnboundedSender<Seen>,
) -> Vec<mpsc::UnboundedSender<Cmd>> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        out.push(
            client::spawn(
                offset + i,
                relay.ws.clone(),
                run,
                true,
                track_agents,
                report.clone(),
            )
            .await,
        );
    }
    out
}

/// Grafts each writer makes in `throughput` (and in `ceiling`, for the same traffic).
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn fanout() {
    const READERS: usize = 100;
    const GRAFTS: usize = 100;
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(tmp.path(), &[]);
    let run = RunId::random();
    create_run(&relay.http, run).await;
    let (report, mut rx) = mpsc::unbounded_channel();
    let writer = clients(1, 0, &relay, run, false, &report).await.remove(0);
    let readers = clients(READERS, 1, &relay, run, true, &report).await;
    let mut joined = std::collections::HashSet::new();
    collect(&mut rx, |s| {
        joined.insert(s.client);
        joined.len() == READERS + 1
    })
    .await;
    let mut sent: HashMap<String, Instant> = HashMap::new();
    let mut latencies = Vec::with_capacity(GRAFTS * READERS);
    let interval: u64 = std::env::var("RUNMESH_FANOUT_INTERVAL_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let mut ticker = tokio::time::interval(Duration::from_millis(interval));
    let mut next = 0;
    let deadline = Instant::now() + DEADLINE;
    while latencies.len() < GRAFTS * READERS {
        assert!(Instant::now() < deadline, "fan-out deadline");
        tokio::select! {
            _ = ticker.tick(), if next < GRAFTS => {
                let agent = format!("g{next}");
                sent.insert(agent.clone(), Instant::now());
                writer.send(Cmd::Graft { after: "step1".into(), agent }).unwrap();
                next += 1;
            }
            Some(seen) = rx.recv() => {
                if seen.client == 0 { continue; }
                for agent in seen.new_agents {
                    if let Some(t) = sent.get(&agent) {
                        latencies.push(seen.at.duration_since(*t));
                    }
                }
            }
        }
    }
    latencies.sort();
    println!(
        "fan-out: {GRAFTS} grafts, one every {interval} ms, to {READERS} clients: p50 {:.2?}, p99 {:.2?}, max {:.2?}; relay CPU {:.2} s in all",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().unwrap(),
        relay.cpu_secs()
    );
    let _ = writer.send(Cmd::Stop);
    for tx in &readers {
        let _ = tx.send(Cmd::Stop);
    }
    relay.stop();
}

async fn join_once(relay: &Relay, run: RunId, expect: usize, index: usize) -> Duration {
    let (report, mut rx) = mpsc::unbounded_channel();
    let start = Instant::now();
    let tx = client::spawn(index, relay.ws.clone(), run, true, false, report).await;
    collect(&mut rx, |s| s.grafts == expect).await;
    let took = start.elapsed();
    let _ = tx.send(Cmd::Stop);
    took
}

async fn cold_join() {
    const GRAFTS: usize = 10_000;
    let tmp = tempfile::tempdir().unwrap();
    let run = RunId::random();
    let steps: Vec<StepSpec> = (0..10)
        .map(|i| StepSpec::new(&format!("step{i}")).unwrap())
        .collect();
    let mut doc = RunDoc::create(
        run,
        Identity::random("bench", "seed").unwrap(),
        "big",
        &steps,
        0,
    )
    .unwrap();
    for i in 0..GRAFTS {
        doc.graft(&format!("step{}", i % 10), &format!("A{i}"), i as u64)
            .unwrap();
    }
    let bytes = doc.save();
    let relay = Relay::start(tmp.path(), &[]);
    let body = serde_json::json!({ "changes": base64::engine::general_purpose::STANDARD.encode(&bytes), "sourceRegion": "seed" });
    let resp = reqwest::Client::new()
        .post(format!("{}/api/crdt/runs/{run}/sync", relay.http))
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let memory: Vec<Duration> = {
        let mut v = Vec::new();
        for i in 0..5 {
            v.push(join_once(&relay, run, GRAFTS, i).await);
        }
        v
    };
    relay.stop();
    let mut disk = Vec::new();
    for i in 0..3 {
        let relay = Relay::start(tmp.path(), &[]);
        disk.push(join_once(&relay, run, GRAFTS, 100 + i).await);
        relay.stop();
    }
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    println!(
        "cold join of a {GRAFTS}-graft run ({} KiB saved): from memory {:.2?}, from disk {:.2?} (medians of {} and {})",
        bytes.len() / 1024,
        median(memory.clone()),
        median(disk.clone()),
        memory.len(),
        disk.len()
    );
}

async fn memory() {
    const RUNS: usize = 1000;
    const SETTLE: Duration = Duration::from_secs(20);
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(tmp.path(), &["--idle-unload-secs", "2"]);
    let before = relay.rss_mib();
    let http = reqwest::Client::new();
    for i in 0..RUNS {
        let run = RunId::random();
        create_run(&relay.http, run).await;
        let resp = http
            .post(format!("{}/app/runs/{run}/graft", relay.http))
            .body(format!(r#"{{"after":"step1","agentName":"A{i}"}}"#))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
    }
    let loaded = relay.rss_mib();
    let deadline = Instant::now() + DEADLINE;
    loop {
        let text = http
            .get(format!("{}/metrics", relay.http))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if text.contains("runmesh_runs_loaded{region=\"bench\"} 0") {
            break;
        }
        assert!(Instant::now() < deadline, "runs never unloaded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let unloaded = relay.rss_mib();
    // RSS falls again a few seconds later (seen 8–15 s after the last unload) and then
    // stays: that is the relay at rest.
    tokio::time::sleep(SETTLE).await;
    let idle = relay.rss_mib();
    println!(
        "memory: relay RSS {before:.1} MiB at start, {loaded:.1} MiB with {RUNS} runs loaded, {unloaded:.1} MiB once they are unloaded, {idle:.1} MiB {} s later",
        SETTLE.as_secs()
    );
    relay.stop();
}

/// 5,000 WebSockets that joined and attached to one of 50 runs, then sit idle: the
/// relay's memory before, with them open, and per connection.
async fn idle_sockets() {
    const SOCKETS: usize = 5000;
    const RUNS: usize = 50;
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(tmp.path(), &[]);
    let runs: Vec<RunId> = (0..RUNS).map(|_| RunId::random()).collect();
    for run in &runs {
        create_run(&relay.http, *run).await;
    }
    let before = relay.rss_mib();
    let started = Instant::now();
    let mut conns = Vec::with_capacity(SOCKETS);
    for batch in 0..SOCKETS / 250 {
        let joins: Vec<_> = (0..250)
            .map(|i| {
                let (ws, run) = (relay.ws.clone(), runs[(batch * 250 + i) % RUNS]);
                tokio::spawn(async move {
                    let me = runmesh_core::sync::PeerId::random("idle");
                    let mut conn = runmesh_relay::client::Connection::connect(
                        &ws,
                        me.clone(),
                        runmesh_core::sync::PeerMetadata::default(),
                    )
                    .await
                    .expect("connect");
                    let relay_peer = conn.remote.peer.clone();
                    let mut sync = runmesh_core::sync::DocSync::new(run.document_id(), me);
                    let mut doc = automerge::AutoCommit::load(runmesh_core::GENESIS).unwrap();
                    let opening = sync.add_peer(&mut doc, &relay_peer).unwrap();
                    conn.send(&opening.into_request()).await.expect("request");
                    // The run arrives; after that the socket is idle.
                    let _ = conn.recv().await;
                    conn
                })
            })
            .collect();
        for join in joins {
            conns.push(join.await.unwrap());
        }
    }
    let connected = started.elapsed();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let open = relay.rss_mib();
    println!(
        "idle sockets: {SOCKETS} joined WebSockets on {RUNS} runs (connected in {connected:.1?}): relay RSS {before:.1} MiB before, {open:.1} MiB with them open ({:.1} KiB per socket)",
        (open - before) * 1024.0 / SOCKETS as f64
    );
    drop(conns);
    relay.stop();
}

fn main() {
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // The ceiling is one thread's work, outside the runtime.
    if wanted("ceiling") {
        ceiling::run();
    }
    rt.block_on(async {
        if wanted("throughput") {
            throughput::run().await;
        }
        if wanted("fanout") {
            fanout().await;
        }
        if wanted("coldjoin") {
            cold_join().await;
        }
        if wanted("memory") {
            memory().await;
        }
        if wanted("idle") {
            idle_sockets().await;
        }
        if wanted("backup") {
            backup::run().await;
        }
        if wanted("shareddb") {
            shared_db::run().await;
        }
        if wanted("meshscale") {
            mesh_scale::run().await;
        }
        if wanted("restgraft") {
            rest_graft::run().await;
        }
        // Only on request: it needs ~8,000 descriptors per process.
        if filter.iter().any(|f| f == "hostile") {
            hostile::run().await;
        }
    });
}
