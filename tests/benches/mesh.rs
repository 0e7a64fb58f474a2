//! Mesh benchmark on loopback: time for a graft made in one region to reach all three,
//! frames sent per change, and time from link restore to convergence after a partition.
//! `cargo bench -p runmesh-tests --bench mesh`. Bounded in count and time; figures in
//! docs/benchmarks.md.

use std::time::{Duration, Instant};

use runmesh_core::{Identity, RunDoc, RunId, StepSpec};
use runmesh_testkit::proxy::Proxy;
use runmesh_testkit::relay::*;

const GRAFTS: usize = 200;
const PARTITIONS: usize = 20;

async fn relay(region: &str, peers: Vec<String>, listener: tokio::net::TcpListener) -> TestRelay {
    let dir = tempfile::tempdir().unwrap().keep();
    TestRelay::start_on(listener, &dir, region, |c| c.mesh_peers = peers).await
}

async fn listeners(n: usize) -> Vec<tokio::net::TcpListener> {
    let mut v = Vec::new();
    for _ in 0..n {
        v.push(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap());
    }
    v
}

fn url(l: &tokio::net::TcpListener) -> String {
    format!("ws://{}/ws", l.local_addr().unwrap())
}

async fn sync_messages(relay: &TestRelay) -> u64 {
    let text = relay.metrics().await;
    text.lines()
        .find(|l| l.starts_with("crdt_sync_messages_total"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn created_client(relay: &TestRelay, run: RunId) -> SyncClient {
    let steps = [StepSpec::new("step1").unwrap()];
    let doc = RunDoc::create(
        run,
        Identity::random("us-east-1", "writer").unwrap(),
        "bench",
        &steps,
        0,
    )
    .unwrap();
    let mut c = SyncClient::connect(relay, doc).await;
    c.open(false).await;
    c.wait_relay_has_all(&relay.base()).await;
    c
}

async fn three_regions() {
    let ls = listeners(3).await;
    let urls: Vec<String> = ls.iter().map(url).collect();
    let mut relays = Vec::new();
    for (i, (l, region)) in ls
        .into_iter()
        .zip(["us-east-1", "eu-central-1", "ap-southeast-1"])
        .enumerate()
    {
        let peers = urls
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, u)| u.clone())
            .collect();
        relays.push(relay(region, peers, l).await);
    }
    let run = RunId::random();
    let mut writer = created_client(&relays[0], run).await;
    let mut readers = Vec::new();
    for r in &relays[1..] {
        let mut c = SyncClient::fresh(r, run, "reader", "reader").await;
        c.open(true).await;
        c.wait_for("the run", |s| s.steps.len() == 1).await;
        readers.push(c);
    }
    let mut before = 0;
    for r in &relays {
        before += sync_messages(r).await;
    }
    let mut latencies = Vec::with_capacity(GRAFTS);
    for i in 0..GRAFTS {
        let sent = Instant::now();
        writer
            .run
            .graft("step1", &format!("A{i}"), i as u64)
            .unwrap();
        writer.push().await;
        for reader in &mut readers {
            reader
                .wait_for("the graft", |s| s.grafts.len() == i + 1)
                .await;
        }
        latencies.push(sent.elapsed());
        // Let the writer take its acknowledgements so its queue stays short.
        writer.wait_relay_has_all(&relays[0].base()).await;
    }
    let mut after = 0;
    for r in &relays {
        after += sync_messages(r).await;
    }
    latencies.sort();
    println!(
        "mesh: a graft reached all 3 regions in p50 {:.2?}, p99 {:.2?} ({GRAFTS} grafts); {:.1} sync frames per change across the 3 relays (sent + received, incl. client links)",
        pct(&latencies, 0.5),
        pct(&latencies, 0.99),
        (after - before) as f64 / GRAFTS as f64
    );
    for r in relays {
        r.stop().await;
    }
}

async fn partitions() {
    let ls = listeners(2).await;
    let proxy = Proxy::start(ls[1].local_addr().unwrap()).await;
    let mut it = ls.into_iter();
    let a_l = it.next().unwrap();
    let b_l = it.next().unwrap();
    let a = relay("us-east-1", vec![format!("ws://{}/ws", proxy.addr)], a_l).await;
    let b = relay("eu-central-1", vec![], b_l).await;
    let run = RunId::random();
    let mut at_a = created_client(&a, run).await;
    let mut at_b = SyncClient::fresh(&b, run, "eu-central-1", "bob").await;
    at_b.open(true).await;
    at_b.wait_for("the run", |s| s.steps.len() == 1).await;
    let hold = Duration::from_millis(
        std::env::var("RUNMESH_PARTITION_HOLD_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(2_000),
    );
    let mut times = Vec::with_capacity(PARTITIONS);
    for i in 0..PARTITIONS {
        proxy.cut().await;
        let n = at_a.run.graft_count();
        at_a.run.graft("step1", &format!("a{i}"), 0).unwrap();
        at_a.push().await;
        at_a.wait_relay_has_all(&a.base()).await;
        at_b.run.graft("step1", &format!("b{i}"), 0).unwrap();
        at_b.push().await;
        at_b.wait_relay_has_all(&b.base()).await;
        // Long enough for the dialer's backoff to reach its cap, as in a real outage.
        tokio::time::sleep(hold).await;
        let restored = Instant::now();
        proxy.restore();
        at_a.wait_for("b's graft", |s| s.grafts.len() == n + 2)
            .await;
        at_b.wait_for("a's graft", |s| s.grafts.len() == n + 2)
            .await;
        times.push(restored.elapsed());
    }
    times.sort();
    println!(
        "partition: from link restore to convergence p50 {:.2?}, p99 {:.2?}, max {:.2?} ({PARTITIONS} partitions of {hold:?})",
        pct(&times, 0.5),
        pct(&times, 0.99),
        times.last().unwrap()
    );
    proxy.stop();
    a.stop().await;
    b.stop().await;
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
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(300), async {
            if wanted("latency") {
                three_regions().await;
            }
            if wanted("partition") {
                partitions().await;
            }
        })
        .await
        .expect("mesh bench finished within 5 minutes");
    });
}
