//! `-- ceiling`: the Automerge work the relay must do for the `throughput` scenario's
//! traffic, in one thread, with no sockets and no tokio, to set the relay's own figure
//! against. The traffic is made once with replicas of the 20 clients (`traffic.rs`),
//! then the relay's side of it is replayed alone, through core's hub and through the
//! automerge crate alone (`replay.rs`), and timed: changes a second, and CPU per change.

mod replay;
mod traffic;

use std::time::{Duration, Instant};

use traffic::Shape;

/// The relay's run task takes up to this many commands a batch (`runs/task.rs`).
pub const RELAY_BATCH: usize = 128;

/// Wall-clock and on-CPU time of one piece of work on this thread.
pub struct Took {
    wall: Duration,
    cpu: Duration,
}

/// Times `work` on this thread.
pub fn measure(work: impl FnOnce()) -> Took {
    let (cpu, start) = (thread_cpu(), Instant::now());
    work();
    Took {
        wall: start.elapsed(),
        cpu: thread_cpu().saturating_sub(cpu),
    }
}

/// Time this thread has spent on a CPU: the first field of its schedstat, in
/// nanoseconds (the machine is shared, so wall-clock time alone says little).
fn thread_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").expect("schedstat");
    let ns = stat.split_whitespace().next().and_then(|v| v.parse().ok());
    Duration::from_nanos(ns.expect("nanoseconds on CPU"))
}

pub fn run() {
    const WRITERS: usize = 10;
    const READERS: usize = 10;
    let per_writer = crate::throughput::per_writer();
    let config = traffic::config();
    for shape in [Shape::Flood, Shape::InStep] {
        let traffic = traffic::record(&config, WRITERS, READERS, per_writer, shape);
        let changes = traffic.changes;
        let messages: usize = traffic.writing.iter().map(Vec::len).sum();
        for (name, (generated, took)) in [
            ("hub", replay::hub(&config, &traffic)),
            ("bare automerge", replay::bare(&config, &traffic)),
        ] {
            println!(
                "ceiling ({shape:?}, {name}): {changes} grafts from {WRITERS} writers to {} clients, {messages} sync messages in, {generated} out, in {} batches: {:.0} changes/s, {:.1} µs CPU a change",
                WRITERS + READERS,
                traffic.writing.len(),
                changes as f64 / took.wall.as_secs_f64(),
                took.cpu.as_secs_f64() * 1e6 / changes as f64,
            );
        }
    }
}
