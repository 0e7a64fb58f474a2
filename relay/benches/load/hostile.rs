//! Hostile load (issue 32): slow and idle sockets and SSE subscribers held open against
//! the relay while `/health` is probed on fresh connections and a writer grafts over
//! REST. Measures /health latency, the relay's peak RSS, and the writer's acknowledged
//! grafts, and checks them against the stated bounds.
//!
//! Three kinds of bad socket, each re-opened a second after the relay closes it: idle (connects, sends nothing), slow head (a header byte per second) and slow
//! body (a whole head, then a body byte per second). Needs ~8,000 descriptors in this
//! process and the relay: both raise their soft RLIMIT_NOFILE (the hard limit must allow).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use runmesh_core::RunId;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::relay::Relay;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The bounds the issue's "done when" states, checked at the end.
const HEALTH_P99_BOUND: Duration = Duration::from_millis(50);
const RSS_BOUND_MIB: f64 = 512.0;

#[derive(Default)]
struct Counts {
    /// Bad sockets the relay closed (each is re-opened).
    cut_off: AtomicUsize,
    /// Connections refused or reset before they were read.
    refused: AtomicUsize,
    /// SSE subscribers whose stream is open.
    sse_open: AtomicUsize,
    /// `event: change` lines received, over all subscribers.
    sse_events: AtomicUsize,
}

#[derive(Clone, Copy)]
enum Bad {
    Idle,
    SlowHead,
    SlowBody,
}

async fn bad_socket(addr: String, kind: Bad, run: RunId, counts: Arc<Counts>, stop: Instant) {
    while Instant::now() < stop {
        let Ok(mut socket) = TcpStream::connect(&addr).await else {
            counts.refused.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        let head = match kind {
            Bad::Idle => String::new(),
            Bad::SlowHead => "GET /health HTTP/1.1\r\nX-Slow: ".to_owned(),
            Bad::SlowBody => format!(
                "POST /app/runs/{run}/graft HTTP/1.1\r\nHost: r\r\nContent-Length: 1000\r\n\r\n"
            ),
        };
        if socket.write_all(head.as_bytes()).await.is_err() {
            counts.refused.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let mut buf = [0u8; 512];
        loop {
            if Instant::now() >= stop {
                return;
            }
            tokio::select! {
                read = socket.read(&mut buf) => match read {
                    // Closed (or answered 408 and closed): counted, then opened again.
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                },
                () = tokio::time::sleep(Duration::from_secs(1)) => {
                    if !matches!(kind, Bad::Idle) && socket.write_all(b"x").await.is_err() {
                        break;
                    }
                }
            }
        }
        counts.cut_off.fetch_add(1, Ordering::Relaxed);
        // Held sockets, not a connection flood (that is for a firewall's per-address
        // limits): one the relay closes comes back a second later.
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn subscriber(addr: String, run: RunId, counts: Arc<Counts>, stop: Instant) {
    let Ok(mut socket) = TcpStream::connect(&addr).await else {
        counts.refused.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let request = format!(
        "GET /api/crdt/runs/{run}/events HTTP/1.1\r\nHost: r\r\nAccept: text/event-stream\r\n\r\n"
    );
    if socket.write_all(request.as_bytes()).await.is_err() {
        return;
    }
    let mut buf = vec![0u8; 16 * 1024];
    let mut open = false;
    let mut carry = String::new();
    while Instant::now() < stop {
        let read = tokio::time::timeout(Duration::from_secs(1), socket.read(&mut buf)).await;
        let n = match read {
            Err(_) => continue,
            Ok(Ok(0) | Err(_)) => break,
            Ok(Ok(n)) => n,
        };
        carry.push_str(&String::from_utf8_lossy(&buf[..n]));
        if !open && carry.starts_with("HTTP/1.1 200") {
            open = true;
            counts.sse_open.fetch_add(1, Ordering::Relaxed);
        }
        let events = carry.matches("event: change").count();
        counts.sse_events.fetch_add(events, Ordering::Relaxed);
        // Keep a tail in case a marker is split across reads.
        let keep = carry.len().saturating_sub(16);
        let cut = (keep..=carry.len())
            .find(|&i| carry.is_char_boundary(i))
            .unwrap_or(carry.len());
        carry.drain(..cut);
    }
    if open {
        counts.sse_open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One `/health` on a fresh connection, as an orchestrator's probe asks it.
async fn probe(addr: &str, path: &str) -> Option<Duration> {
    let started = Instant::now();
    let mut socket = TcpStream::connect(addr).await.ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: r\r\nConnection: close\r\n\r\n");
    socket.write_all(request.as_bytes()).await.ok()?;
    let mut answer = Vec::new();
    socket.read_to_end(&mut answer).await.ok()?;
    answer
        .starts_with(b"HTTP/1.1 200")
        .then(|| started.elapsed())
}

fn raise_own_file_limit() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let Rlimit { maximum, .. } = getrlimit(Resource::Nofile);
    let _ = setrlimit(
        Resource::Nofile,
        Rlimit {
            current: maximum,
            maximum,
        },
    );
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

pub async fn run() {
    let idle = env_or("RUNMESH_HOSTILE_IDLE", 2000);
    let slow_head = env_or("RUNMESH_HOSTILE_SLOW_HEAD", 2000);
    let slow_body = env_or("RUNMESH_HOSTILE_SLOW_BODY", 1000);
    let subscribers = env_or("RUNMESH_HOSTILE_SSE", 2000);
    let max_connections = env_or("RUNMESH_HOSTILE_MAX_CONNECTIONS", 8192).to_string();
    let probe_path = std::env::var("RUNMESH_HOSTILE_PROBE").unwrap_or_else(|_| "/health".into());
    let hold = Duration::from_secs(env_or("RUNMESH_HOSTILE_SECS", 30) as u64);
    raise_own_file_limit();
    let tmp = tempfile::tempdir().unwrap();
    // Every subscriber comes from 127.0.0.1, one caller in open mode: its cap on streams
    // is raised to let them all in (the load is many clients, not one).
    let relay = Relay::start(
        tmp.path(),
        &[
            "--max-connections",
            &max_connections,
            "--max-streams-per-caller",
            "100000",
        ],
    );
    let addr = relay.http.trim_start_matches("http://").to_owned();
    let run = RunId::random();
    crate::create_run(&relay.http, run).await;
    let rss_before = relay.rss_mib();
    let counts = Arc::new(Counts::default());
    let opened = Instant::now();
    let stop = opened + hold + Duration::from_secs(60);
    let mut tasks = Vec::new();
    // Subscribers first, then the bad sockets, in batches the accept queue can take.
    for i in 0..subscribers {
        tasks.push(tokio::spawn(subscriber(
            addr.clone(),
            run,
            counts.clone(),
            stop,
        )));
        if i % 200 == 199 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let kinds = std::iter::repeat_n(Bad::Idle, idle)
        .chain(std::iter::repeat_n(Bad::SlowHead, slow_head))
        .chain(std::iter::repeat_n(Bad::SlowBody, slow_body));
    for (i, kind) in kinds.enumerate() {
        tasks.push(tokio::spawn(bad_socket(
            addr.clone(),
            kind,
            run,
            counts.clone(),
            stop,
        )));
        if i % 200 == 199 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let open_after = opened.elapsed();
    // Measure under the load: a probe every 20 ms and a graft every 100 ms, each in its
    // own task so that neither waits for the other.
    let measure_until = Instant::now() + hold;
    let prober = tokio::spawn({
        let (addr, probe_path) = (addr.clone(), probe_path.clone());
        async move {
            let (mut latencies, mut failed) = (Vec::new(), 0usize);
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            while Instant::now() < measure_until {
                tick.tick().await;
                match probe(&addr, &probe_path).await {
                    Some(took) => latencies.push(took),
                    None => failed += 1,
                }
            }
            (latencies, failed)
        }
    });
    let writer = tokio::spawn({
        let base = relay.http.clone();
        async move {
            let http = reqwest::Client::new();
            let (mut sent, mut acked) = (0usize, 0usize);
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            while Instant::now() < measure_until {
                tick.tick().await;
                sent += 1;
                let answer = http
                    .post(format!("{base}/app/runs/{run}/graft"))
                    .body(format!(r#"{{"after":"step1","agentName":"W{sent}"}}"#))
                    .timeout(Duration::from_secs(10))
                    .send()
                    .await;
                acked += usize::from(answer.is_ok_and(|r| r.status() == 201));
            }
            (sent, acked)
        }
    });
    // Subscribers still open, sampled each second once they have had 5 s to connect.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let mut sse_open_min = usize::MAX;
    while Instant::now() < measure_until {
        sse_open_min = sse_open_min.min(counts.sse_open.load(Ordering::Relaxed));
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let sse_open_end = counts.sse_open.load(Ordering::Relaxed);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let (mut latencies, probes_failed) = prober.await.unwrap();
    let (grafts_sent, grafts_acked) = writer.await.unwrap();
    let peak = relay.peak_rss_mib();
    latencies.sort();
    let (p50, p99, max) = (
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        *latencies.last().unwrap(),
    );
    let events = counts.sse_events.load(Ordering::Relaxed);
    println!(
        "hostile: {idle} idle + {slow_head} slow-head + {slow_body} slow-body sockets and {subscribers} SSE subscribers \
         (opened in {open_after:.1?}), --max-connections {max_connections}, held {hold:?}:\n  \
         {probe_path} on a fresh connection every 20 ms: {} answered, {probes_failed} failed; p50 {p50:.2?}, p99 {p99:.2?}, max {max:.2?}\n  \
         writer: {grafts_acked} of {grafts_sent} grafts acknowledged (201)\n  \
         SSE: at least {sse_open_min} streams open from 5 s on, {sse_open_end} at the end; {events} change events delivered \
         ({:.1} per subscriber)\n  \
         bad sockets cut off by the relay (and re-opened): {}; connects refused: {}\n  \
         relay RSS {rss_before:.1} MiB before, {peak:.1} MiB peak; CPU {:.1} s; load average at the end {}",
        latencies.len(),
        events as f64 / subscribers.max(1) as f64,
        counts.cut_off.load(Ordering::Relaxed),
        counts.refused.load(Ordering::Relaxed),
        relay.cpu_secs(),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    );
    relay.stop();
    for task in tasks {
        task.abort();
    }
    assert!(
        p99 <= HEALTH_P99_BOUND,
        "/health p99 {p99:?} over {HEALTH_P99_BOUND:?}"
    );
    assert!(
        peak <= RSS_BOUND_MIB,
        "relay peak RSS {peak:.1} MiB over {RSS_BOUND_MIB} MiB"
    );
    assert_eq!(grafts_acked, grafts_sent, "every graft acknowledged");
}
