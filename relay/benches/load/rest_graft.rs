//! `restgraft`: REST grafts into a 10,000-graft run, one after another over one keep-alive
//! connection, as an orchestrator grafting an agent per finished step makes them: each
//! one's latency and answer size by default (what the graft did), then a few asking for the
//! whole run (`Prefer: return=representation`, what every graft answered before), then a
//! page of the history beside the whole of it.
//!
//! The run is built in this process and handed to the relay in one `POST …/sync` (making
//! 10,000 grafts over REST is what is measured, not how the run came to be).
//! `RUNMESH_REST_GRAFTS` sets how many grafts are timed (default 300), and
//! `RUNMESH_REST_RUN_GRAFTS` the run's size (default 10,000). Last, the relay restarts on
//! its directory and loads the run cold: the time to the first answer, and its memory.

use std::time::{Duration, Instant};

use base64::Engine;
use runmesh_core::{Identity, RunDoc, RunId, StepSpec};

use crate::percentile;
use crate::relay::Relay;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Latencies and body sizes of a series of requests.
#[derive(Default)]
struct Series {
    took: Vec<Duration>,
    bytes: Vec<usize>,
}

impl Series {
    fn line(&mut self, what: &str) -> String {
        self.took.sort();
        let n = self.took.len();
        let total: Duration = self.took.iter().sum();
        let mean_bytes = self.bytes.iter().sum::<usize>() / n.max(1);
        format!(
            "{what}: {n} in {total:.2?} ({:.0}/s): p50 {:.2?}, p99 {:.2?}, max {:.2?}; body {mean_bytes} bytes on average, {} at most",
            n as f64 / total.as_secs_f64(),
            percentile(&self.took, 0.5),
            percentile(&self.took, 0.99),
            self.took[n - 1],
            self.bytes.iter().max().unwrap(),
        )
    }
}

/// A run of `grafts` grafts, one change each, after ten steps.
fn big_run(run: RunId, grafts: usize) -> Vec<u8> {
    let steps: Vec<StepSpec> = (0..10)
        .map(|i| StepSpec::new(&format!("step{i}")).unwrap())
        .collect();
    let who = Identity::random("bench", "seed").unwrap();
    let mut doc = RunDoc::create(run, who, "big", &steps, 0).unwrap();
    for i in 0..grafts {
        doc.graft(&format!("step{}", i % 10), &format!("A{i}"), i as u64)
            .unwrap();
    }
    doc.save()
}

async fn timed(request: reqwest::RequestBuilder, expect: u16, series: &mut Series) {
    let started = Instant::now();
    let resp = request.send().await.unwrap();
    let status = resp.status().as_u16();
    let body = resp.bytes().await.unwrap();
    series.took.push(started.elapsed());
    series.bytes.push(body.len());
    assert_eq!(status, expect, "{}", String::from_utf8_lossy(&body));
}

pub async fn run() {
    let grafts = env("RUNMESH_REST_GRAFTS", 300);
    let size = env("RUNMESH_REST_RUN_GRAFTS", 10_000);
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(tmp.path(), &[]);
    let run = RunId::random();
    let bytes = big_run(run, size);
    // One keep-alive connection for everything (reqwest keeps it in its pool).
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .unwrap();
    let sync = serde_json::json!({
        "changes": base64::engine::general_purpose::STANDARD.encode(&bytes),
        "sourceRegion": "seed",
    });
    let resp = http
        .post(format!("{}/api/crdt/runs/{run}/sync", relay.http))
        .body(sync.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let graft = format!("{}/app/runs/{run}/graft", relay.http);
    let body = |i: usize| format!(r#"{{"after":"step{}","agentName":"R{i}"}}"#, i % 10);

    let mut minimal = Series::default();
    for i in 0..grafts {
        timed(http.post(&graft).body(body(i)), 201, &mut minimal).await;
    }
    let mut whole = Series::default();
    for i in 0..grafts.min(20) {
        let asked = http
            .post(&graft)
            .header("Prefer", "return=representation")
            .body(body(grafts + i));
        timed(asked, 201, &mut whole).await;
    }
    let history = format!("{}/api/crdt/runs/{run}/history", relay.http);
    let (mut page, mut all) = (Series::default(), Series::default());
    for _ in 0..5 {
        timed(http.get(&history), 200, &mut page).await;
        timed(http.get(format!("{history}?limit=1000")), 200, &mut all).await;
    }
    println!(
        "restgraft, into a {size}-graft run ({} KiB saved), one keep-alive connection:\n  {}\n  {}\n  {}\n  {}\n  relay CPU {:.2} s in all",
        bytes.len() / 1024,
        minimal.line("graft, default answer"),
        whole.line("graft, Prefer: return=representation"),
        page.line("history, first page (100)"),
        all.line("history, first page of 1,000"),
        relay.cpu_secs()
    );
    relay.terminate();
    cold_load(tmp.path(), run, size).await;
}

/// The run loaded cold by a relay that has just started on its directory: how long the
/// first request that needs it takes, and what the relay's memory grows by.
async fn cold_load(dir: &std::path::Path, run: RunId, size: usize) {
    let relay = Relay::start(dir, &[]);
    let before = relay.rss_mib();
    let heads = format!("{}/api/crdt/runs/{run}/heads", relay.http);
    let started = Instant::now();
    let resp = reqwest::get(&heads).await.unwrap();
    assert_eq!(resp.status(), 200);
    let loaded = started.elapsed();
    let after_load = relay.rss_mib();
    let state = format!("{}/api/crdt/runs/{run}/state", relay.http);
    let started = Instant::now();
    let resp = reqwest::get(&state).await.unwrap();
    assert_eq!(resp.status(), 200);
    let body = resp.bytes().await.unwrap();
    let viewed = started.elapsed();
    println!(
        "restgraft, the {size}-graft run loaded cold: heads answered in {loaded:.2?} (RSS {before:.0} -> {after_load:.0} MiB); then the whole state ({} KiB) in {viewed:.2?} (RSS {:.0} MiB, peak {:.0} MiB)",
        body.len() / 1024,
        relay.rss_mib(),
        relay.peak_rss_mib(),
    );
    relay.stop();
}
