//! A run's past on a 10,000-graft run: the state at its midpoint, a diff between two
//! points 1,000 changes apart, and undo of the graft at the midpoint and of the newest
//! change. `cargo bench -p runmesh-core --bench past`; figures are in
//! docs/benchmarks.md.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use runmesh_core::{ChangeHash, Identity, RunDoc, RunId, StepSpec};
use std::hint::black_box;
use std::time::Duration;

const GRAFTS: usize = 10_000;

/// A run with 10 steps and 10,000 grafts, and its heads after 4,000 and 5,000 of them.
fn run_with_points() -> (RunDoc, Vec<ChangeHash>, Vec<ChangeHash>) {
    let steps: Vec<StepSpec> = (0..10)
        .map(|i| StepSpec::new(&format!("step{i}")).unwrap())
        .collect();
    let run_id: RunId = "123e4567-e89b-12d3-a456-426614174000".parse().unwrap();
    let identity = Identity::random("us-east-1", "alice").unwrap();
    let mut run = RunDoc::create(run_id, identity, "bench", &steps, 0).unwrap();
    let (mut at_4000, mut at_5000) = (Vec::new(), Vec::new());
    for i in 0..GRAFTS {
        run.graft(&format!("step{}", i % 10), &format!("Agent{i}"), i as u64)
            .unwrap();
        match i + 1 {
            4_000 => at_4000 = run.heads(),
            5_000 => at_5000 = run.heads(),
            _ => {}
        }
    }
    (run, at_4000, at_5000)
}

fn benches(c: &mut Criterion) {
    let (mut run, at_4000, midpoint) = run_with_points();
    let mut g = c.benchmark_group("past_10000_grafts");
    g.sample_size(20).measurement_time(Duration::from_secs(10));
    g.bench_function("state_at_midpoint", |b| {
        b.iter(|| black_box(run.state_at(&midpoint).unwrap()))
    });
    g.bench_function("diff_1000_changes_apart", |b| {
        b.iter(|| black_box(run.diff(&at_4000, &midpoint).unwrap()))
    });
    // Each undo needs a run that has not undone that graft yet: a fresh load, outside the
    // timing, with its view read and one write made (the first write after a load costs
    // about 2 ms more, whatever it is).
    let saved = run.save();
    let fresh = || {
        let identity = Identity::random("eu-west-1", "bob").unwrap();
        let mut run = RunDoc::load(run.run_id(), identity, &saved).unwrap();
        run.set_flag("warm", runmesh_core::FlagValue::Bool(true), 1)
            .unwrap();
        run
    };
    g.bench_function("undo_graft_at_midpoint", |b| {
        b.iter_batched(
            fresh,
            // The run goes back out, so dropping it (about 1 ms) is not timed.
            |mut run| {
                let undo = run.undo(&midpoint[0], 20_000).unwrap();
                (run, undo)
            },
            BatchSize::PerIteration,
        )
    });
    // Undoing the newest change each time: retract, reinstate, retract, …
    let mut newest = run.heads()[0];
    g.bench_function("undo_newest_change", |b| {
        b.iter(|| {
            newest = run.undo(&newest, 30_000).unwrap();
            black_box(newest)
        })
    });
    g.finish();
}

criterion_group!(past, benches);
criterion_main!(past);
