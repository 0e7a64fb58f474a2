//! `shareddb`: 1, 2 and 3 relays (release binaries) on one PostgreSQL, no mesh between
//! them, clients spread over them round-robin. For each count:
//! - visibility: one writer on the first relay grafts every 20 ms; how long until each
//!   reader sees it, split into readers on the writer's relay and on the others (the
//!   change goes through the database's notifications);
//! - throughput: 100 runs, each with a writer on one relay and a reader on the next; every
//!   writer grafts 50 times as fast as it can; changes/s until every reader has all 50,
//!   and where the CPU went (each relay, PostgreSQL, the load generator).
//!
//! Needs `RUNMESH_BENCH_DATABASE_URL` (or `RUNMESH_TEST_DATABASE_URL`): `.ci/postgres.sh`
//! starts one.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use runmesh_core::RunId;
use tokio::sync::mpsc;

use crate::client::{self, Cmd, Seen};
use crate::relay::Relay;
use crate::{DEADLINE, collect, create_run, percentile};

const READERS: usize = 12;
const GRAFTS: usize = 100;
const RUNS: usize = 100;
const PER_WRITER: usize = 50;

pub async fn run() {
    let Some(url) = ["RUNMESH_BENCH_DATABASE_URL", "RUNMESH_TEST_DATABASE_URL"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
    else {
        println!("shareddb: skipped (set RUNMESH_BENCH_DATABASE_URL; .ci/postgres.sh starts one)");
        return;
    };
    for n in 1..=3 {
        let tmp = tempfile::tempdir().unwrap();
        let relays: Vec<Relay> = (0..n)
            .map(|i| {
                let dir = tmp.path().join(format!("r{i}"));
                std::fs::create_dir(&dir).unwrap();
                Relay::start(&dir, &["--database-url", &url])
            })
            .collect();
        visibility(&relays).await;
        throughput(&relays).await;
        for relay in relays {
            relay.stop();
        }
    }
}

/// Spawns a client of `run` on relay `index % relays.len()`.
async fn client_on(
    relays: &[Relay],
    index: usize,
    run: RunId,
    track: bool,
    report: &mpsc::UnboundedSender<Seen>,
) -> mpsc::UnboundedSender<Cmd> {
    let relay = &relays[index % relays.len()];
    client::spawn(index, relay.ws.clone(), run, true, track, report.clone()).await
}

async fn visibility(relays: &[Relay]) {
    let run = RunId::random();
    create_run(&relays[0].http, run).await;
    let (report, mut rx) = mpsc::unbounded_channel();
    // Client 0 writes on relay 0; readers 1..=READERS go round-robin from relay 1.
    let writer = client_on(relays, 0, run, false, &report).await;
    let mut readers = Vec::new();
    for i in 1..=READERS {
        readers.push(client_on(relays, i, run, true, &report).await);
    }
    let mut joined = HashSet::new();
    collect(&mut rx, |s| {
        joined.insert(s.client);
        joined.len() == READERS + 1
    })
    .await;
    let mut sent: HashMap<String, Instant> = HashMap::new();
    let (mut same, mut other) = (Vec::new(), Vec::new());
    let mut ticker = tokio::time::interval(Duration::from_millis(20));
    let mut next = 0;
    let deadline = Instant::now() + DEADLINE;
    while same.len() + other.len() < GRAFTS * READERS {
        assert!(Instant::now() < deadline, "visibility deadline");
        tokio::select! {
            _ = ticker.tick(), if next < GRAFTS => {
                let agent = format!("g{next}");
                sent.insert(agent.clone(), Instant::now());
                writer.send(Cmd::Graft { after: "step1".into(), agent }).unwrap();
                next += 1;
            }
            Some(seen) = rx.recv() => {
                if seen.client == 0 { continue; }
                let on_writer_relay = seen.client % relays.len() == 0;
                for agent in seen.new_agents {
                    if let Some(t) = sent.get(&agent) {
                        let took = seen.at.duration_since(*t);
                        if on_writer_relay { same.push(took) } else { other.push(took) }
                    }
                }
            }
        }
    }
    let line = |what: &str, v: &mut Vec<Duration>| {
        if v.is_empty() {
            return format!("{what}: none");
        }
        v.sort();
        format!(
            "{what} ({} readers) p50 {:.2?} p99 {:.2?} max {:.2?}",
            v.len() / GRAFTS,
            percentile(v, 0.5),
            percentile(v, 0.99),
            v.last().unwrap()
        )
    };
    println!(
        "shareddb: {} relays: visibility of {GRAFTS} grafts (one every 20 ms): {}; {}",
        relays.len(),
        line("same relay", &mut same),
        line("other relays", &mut other)
    );
    let _ = writer.send(Cmd::Stop);
    for tx in &readers {
        let _ = tx.send(Cmd::Stop);
    }
}

async fn throughput(relays: &[Relay]) {
    let n = relays.len();
    let runs: Vec<RunId> = (0..RUNS).map(|_| RunId::random()).collect();
    for (i, run) in runs.iter().enumerate() {
        create_run(&relays[i % n].http, *run).await;
    }
    let (report, mut rx) = mpsc::unbounded_channel();
    // Client 2i writes run i on relay i % n; client 2i + 1 reads it on relay (i + 1) % n.
    let mut writers = Vec::new();
    let mut readers = Vec::new();
    for (i, run) in runs.iter().enumerate() {
        let on = |r: usize| relays[r % n].ws.clone();
        let w = client::spawn(2 * i, on(i), *run, true, false, report.clone()).await;
        let r = client::spawn(2 * i + 1, on(i + 1), *run, true, false, report.clone()).await;
        writers.push(w);
        readers.push(r);
    }
    let mut joined = HashSet::new();
    collect(&mut rx, |s| {
        joined.insert(s.client);
        joined.len() == 2 * RUNS
    })
    .await;
    let before = Cpu::now(relays);
    let total = RUNS * PER_WRITER;
    let start = Instant::now();
    for (w, tx) in writers.iter().enumerate() {
        for i in 0..PER_WRITER {
            tx.send(Cmd::Graft {
                after: "step1".into(),
                agent: format!("w{w}-{i}"),
            })
            .unwrap();
        }
    }
    let mut complete = HashSet::new();
    collect(&mut rx, |s| {
        if s.client % 2 == 1 && s.grafts == PER_WRITER {
            complete.insert(s.client);
        }
        complete.len() == RUNS
    })
    .await;
    let took = start.elapsed();
    let cpu = Cpu::now(relays).minus(&before);
    println!(
        "shareddb: {n} relays: {total} grafts into {RUNS} runs reached a reader on another relay in {took:.2?}: {:.0} changes/s; CPU s: relays {}, PostgreSQL {:.2}, load generator {:.2}",
        total as f64 / took.as_secs_f64(),
        cpu.relays
            .iter()
            .map(|c| format!("{c:.2}"))
            .collect::<Vec<_>>()
            .join(" + "),
        cpu.postgres,
        cpu.generator
    );
    for tx in writers.iter().chain(&readers) {
        let _ = tx.send(Cmd::Stop);
    }
}

/// CPU seconds used so far by each relay, every `postgres` process, and this process.
struct Cpu {
    relays: Vec<f64>,
    postgres: f64,
    generator: f64,
}

impl Cpu {
    fn now(relays: &[Relay]) -> Self {
        let mut postgres = 0.0;
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            if stat.contains("(postgres)") {
                postgres += ticks(&stat);
            }
        }
        Self {
            relays: relays.iter().map(Relay::cpu_secs).collect(),
            postgres,
            generator: ticks(&std::fs::read_to_string("/proc/self/stat").unwrap_or_default()),
        }
    }

    fn minus(self, before: &Self) -> Self {
        Self {
            relays: self
                .relays
                .iter()
                .zip(&before.relays)
                .map(|(a, b)| a - b)
                .collect(),
            postgres: self.postgres - before.postgres,
            generator: self.generator - before.generator,
        }
    }
}

/// utime + stime of a `/proc/<pid>/stat` line, in seconds.
fn ticks(stat: &str) -> f64 {
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (field(11) + field(12)) / 100.0
}
