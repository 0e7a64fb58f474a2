//! The run document at 100,000 grafts (issue 37), beside the 10,000-graft cases of
//! `run_doc.rs`: a graft, the state read whole and kept up to date from each change
//! (`RunDoc::update_state`, what the app does), a change from another replica, the
//! history, save and load. Run with `cargo bench -p runmesh-core --bench run_doc_100k`
//! (building the run takes a few seconds; the groups take about two minutes); figures
//! are in docs/benchmarks.md.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use runmesh_core::{Identity, RunDoc, RunId};
use std::hint::black_box;
use std::time::Duration;

const GRAFTS: u64 = 100_000;

fn run_id() -> RunId {
    "123e4567-e89b-12d3-a456-426614174000".parse().unwrap()
}

fn who(region: &str, user: &str) -> Identity {
    Identity::random(region, user).unwrap()
}

/// The run the browser test opens: the genesis and `n` grafts after `step1`.
fn big_run(n: u64) -> RunDoc {
    let mut run = RunDoc::genesis(run_id(), who("seed", "seed"));
    for i in 0..n {
        run.graft("step1", &format!("Agent{i}"), i).unwrap();
    }
    run
}

fn benches(c: &mut Criterion) {
    let saved = big_run(GRAFTS).save();
    let load = |region: &str| RunDoc::load(run_id(), who(region, "u"), &saved).unwrap();

    let mut g = c.benchmark_group("at_100k");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("graft", |b| {
        let mut run = load("us");
        let mut i = 0u64;
        b.iter(|| {
            i += 1;
            black_box(run.graft("step1", "Bench", i).unwrap());
        })
    });
    g.bench_function("state_whole", |b| {
        let run = load("us");
        b.iter(|| black_box(run.state()))
    });
    // A graft and the shown state brought up to date: the patch, not a whole read.
    g.bench_function("graft_and_update_state", |b| {
        let mut run = load("us");
        let mut state = None;
        run.update_state(&mut state);
        let mut i = 0u64;
        b.iter(|| {
            i += 1;
            run.graft("step1", "Bench", i).unwrap();
            run.update_state(&mut state);
        })
    });
    g.bench_function("remote_change_and_update_state", |b| {
        let mut local = load("us");
        let mut state = None;
        local.update_state(&mut state);
        let mut remote = load("eu");
        let _ = remote.save_incremental();
        let mut i = 0u64;
        b.iter_batched(
            || {
                i += 1;
                remote.graft("step1", "Remote", i).unwrap();
                remote.save_incremental()
            },
            |bytes| {
                local.apply_bytes(&bytes).unwrap();
                local.update_state(&mut state);
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("history", |b| {
        let mut run = load("us");
        b.iter(|| black_box(run.history().len()))
    });
    g.bench_function("save", |b| {
        let mut run = load("us");
        b.iter(|| black_box(run.save().len()))
    });
    g.bench_function("load_and_state", |b| {
        b.iter(|| black_box(load("us").state().pipeline.len()))
    });
    g.finish();
}

criterion_group!(run_doc_100k, benches);
criterion_main!(run_doc_100k);
