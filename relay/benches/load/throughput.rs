//! `throughput`: 10 writers and 10 readers on one run, each writer grafting as fast as
//! the relay acknowledges: changes a second, the relay's CPU a change, and what it sent.

use std::time::Instant;

use tokio::sync::mpsc;

use crate::client::Cmd;
use crate::relay::Relay;
use crate::{clients, collect, create_run};
use runmesh_core::RunId;

/// Grafts each writer makes (`RUNMESH_LOAD_PER_WRITER`, default 300); the ceiling replays
/// the same traffic.
pub fn per_writer() -> usize {
    std::env::var("RUNMESH_LOAD_PER_WRITER")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

pub async fn run() {
    const WRITERS: usize = 10;
    const READERS: usize = 10;
    let per_writer = per_writer();
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(tmp.path(), &[]);
    let run = RunId::random();
    create_run(&relay.http, run).await;
    let (report, mut rx) = mpsc::unbounded_channel();
    let writers = clients(WRITERS, 0, &relay, run, false, &report).await;
    let readers = clients(READERS, WRITERS, &relay, run, false, &report).await;
    let mut joined = std::collections::HashSet::new();
    collect(&mut rx, |s| {
        joined.insert(s.client);
        joined.len() == WRITERS + READERS
    })
    .await;
    let total = WRITERS * per_writer;
    let cpu_before = relay.cpu_secs();
    let start = Instant::now();
    for (w, tx) in writers.iter().enumerate() {
        for i in 0..per_writer {
            tx.send(Cmd::Graft {
                after: "step1".into(),
                agent: format!("w{w}-{i}"),
            })
            .unwrap();
        }
    }
    let mut complete = std::collections::HashSet::new();
    collect(&mut rx, |s| {
        if s.grafts == total {
            complete.insert(s.client);
        }
        complete.len() == WRITERS + READERS
    })
    .await;
    let took = start.elapsed();
    let cpu = relay.cpu_secs();
    println!(
        "throughput: {total} grafts from {WRITERS} writers reached all {} clients in {took:.2?}: {:.0} changes/s; relay CPU {cpu:.2} s in all, {:.1} µs a change while writing",
        WRITERS + READERS,
        total as f64 / took.as_secs_f64(),
        (cpu - cpu_before) * 1e6 / total as f64
    );
    let metrics = reqwest::get(format!("{}/metrics", relay.http))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let frames = |direction: &str| {
        metric(
            &metrics,
            &format!(
                "runmesh_ws_frames_total{{region=\"bench\",peer=\"client\",direction=\"{direction}\"}}"
            ),
        )
    };
    let sync = |what: &str| {
        metric(
            &metrics,
            &format!("runmesh_sync_messages_{what}_total{{region=\"bench\"}}"),
        )
    };
    println!(
        "throughput: client frames in {}, out {}; sync messages generated {}, coalesced {} (joining included)",
        frames("in"),
        frames("out"),
        sync("generated"),
        sync("coalesced"),
    );
    for tx in writers.iter().chain(&readers) {
        let _ = tx.send(Cmd::Stop);
    }
    relay.stop();
}

/// The value of the series named exactly `series` in a Prometheus text exposition.
fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no series {series}"))
}
