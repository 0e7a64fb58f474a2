//! The run document against raw Automerge doing the same Automerge operations on the same
//! document, so the overhead of runmesh is measured, not guessed. Run with
//! `cargo bench -p runmesh-core --bench run_doc`; figures are in docs/benchmarks.md.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{AutoCommit, ObjId, ROOT, ReadDoc, ScalarValueRef, ValueRef};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use runmesh_core::{Identity, RunDoc, RunId, StepSpec};
use std::hint::black_box;
use std::time::Duration;

const GRAFTS: usize = 10_000;

fn run_id() -> RunId {
    "123e4567-e89b-12d3-a456-426614174000".parse().unwrap()
}

fn who(region: &str, user: &str) -> Identity {
    Identity::random(region, user).unwrap()
}

/// A run with 10 steps and `n` grafts spread over them (some after grafts).
fn big_run(n: usize) -> RunDoc {
    let steps: Vec<StepSpec> = (0..10)
        .map(|i| StepSpec::new(&format!("step{i}")).unwrap())
        .collect();
    let mut run = RunDoc::create(run_id(), who("us-east-1", "alice"), "bench", &steps, 0).unwrap();
    let mut last = String::new();
    for i in 0..n {
        let after = if i % 3 == 2 {
            last.clone()
        } else {
            format!("step{}", i % 10)
        };
        last = run
            .graft(&after, &format!("Agent{i}"), i as u64)
            .unwrap()
            .to_string();
    }
    run
}

fn grafts_obj(doc: &AutoCommit) -> ObjId {
    doc.get(ROOT, "grafts").unwrap().unwrap().1
}

/// Raw Automerge's read of every graft: each record's text, nothing parsed.
fn raw_read_all_grafts(doc: &AutoCommit, grafts: &ObjId) -> usize {
    let mut total = 0;
    for bucket in doc.map_range(grafts, ..) {
        for item in doc.map_range(bucket.id(), ..) {
            let value: automerge::Value<'_> = item.value.into();
            total += value.as_str().map_or(0, str::len);
        }
    }
    total
}

/// A graft record as a raw Automerge program would read it to use it: owned fields.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // read by the parse, never looked at: the bench times the reading
struct RawGraft {
    after: String,
    agent_name: String,
    by: String,
    region: String,
    lamport: u64,
    at: u64,
}

/// Raw Automerge's read of every graft, each record parsed with serde_json and kept with
/// its key: the grafts as data, not yet ordered into a pipeline (which runmesh's first
/// read also does).
fn raw_parse_all_grafts(doc: &AutoCommit, grafts: &ObjId) -> Vec<(String, RawGraft)> {
    let mut out = Vec::with_capacity(GRAFTS);
    for bucket in doc.map_range(grafts, ..) {
        for item in doc.map_range(bucket.id(), ..) {
            let value: automerge::Value<'_> = item.value.into();
            let record = serde_json::from_str(value.as_str().unwrap()).unwrap();
            out.push((item.key.to_string(), record));
        }
    }
    out
}

/// A graft record read in place: every text field borrowed from the document.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct BorrowedGraft<'a> {
    after: &'a str,
    agent_name: &'a str,
    by: &'a str,
    region: &'a str,
    lamport: u64,
    at: u64,
}

/// The least a reader that uses the records can do: read every record's text and parse it
/// in place with serde_json, allocating nothing and keeping nothing. What it returns only
/// keeps the parse from being optimised away.
fn raw_parse_in_place(doc: &AutoCommit, grafts: &ObjId) -> u64 {
    let mut total = 0;
    for bucket in doc.map_range(grafts, ..) {
        for item in doc.map_range(bucket.id(), ..) {
            let ValueRef::Scalar(ScalarValueRef::Str(text)) = &item.value else {
                panic!("graft {} is not text", item.key);
            };
            let g: BorrowedGraft<'_> = serde_json::from_str(text).unwrap();
            total += (g.after.len() + g.agent_name.len() + g.by.len() + g.region.len()) as u64
                + g.lamport
                + g.at;
        }
    }
    total
}

/// Times `read` on a freshly loaded raw document, as runmesh's first read gets one. What
/// it returns is dropped after the timing, with the document.
fn raw_first_read<R>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    saved: &[u8],
    read: impl Fn(&AutoCommit, &ObjId) -> R,
) {
    g.bench_function(name, |b| {
        b.iter_batched(
            || AutoCommit::load(saved).unwrap(),
            |doc| (black_box(read(&doc, &grafts_obj(&doc))), doc),
            BatchSize::LargeInput,
        )
    });
}

/// What runmesh writes for one graft, done with raw Automerge: the same key shape (a
/// zero-padded lamport, so new keys sort last), the same record and change message.
fn raw_graft(doc: &mut AutoCommit, grafts: &ObjId, i: u64) {
    let i = 1_000_000 + i;
    let record = format!(
        r#"{{"after":"step1","agentName":"Raw{i}","by":"alice","region":"us-east-1","lamport":{i},"at":{i}}}"#
    );
    // runmesh's bucket rule: 64 buckets of 128 consecutive lamport values.
    let bucket = doc
        .get(grafts, format!("{:02x}", (i / 128) % 64))
        .unwrap()
        .unwrap()
        .1;
    doc.put(&bucket, format!("g{i:010}-0a0b0c0d0e0f"), record)
        .unwrap();

    let message = format!(
        r#"{{"by":"alice","region":"us-east-1","op":"graft","node":"raw{i}","detail":"Raw{i} after step1"}}"#
    );
    doc.commit_with(
        CommitOptions::default()
            .with_message(message)
            .with_time(i as i64),
    );
}

fn benches(c: &mut Criterion) {
    let mut run = big_run(GRAFTS);
    let saved = run.save();

    let mut g = c.benchmark_group("graft_on_10k_run");
    g.bench_function("runmesh", |b| {
        let mut run = RunDoc::load(run_id(), who("us-east-1", "alice"), &saved).unwrap();
        let mut i = 0u64;
        b.iter(|| {
            i += 1;
            black_box(run.graft("step1", "Bench", i).unwrap());
        })
    });
    g.bench_function("automerge", |b| {
        let mut doc = AutoCommit::load(&saved).unwrap();
        let grafts = grafts_obj(&doc);
        let mut i = 0u64;
        b.iter(|| {
            i += 1;
            raw_graft(&mut doc, &grafts, i);
        })
    });
    g.finish();

    let mut g = c.benchmark_group("read_whole_10k_run");
    g.sample_size(20);
    // The first read of a loaded run's view: what opening a run to show it costs on top
    // of the load. Each iteration gets a freshly loaded run; freeing it is not timed.
    let loaded = || RunDoc::load(run_id(), who("r", "u"), &saved).unwrap();
    g.bench_function("runmesh_first_read", |b| {
        b.iter_batched(
            loaded,
            |run| {
                black_box(run.graft_count());
                run
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("runmesh_first_read_and_state", |b| {
        b.iter_batched(
            loaded,
            |run| (black_box(run.state()), run),
            BatchSize::LargeInput,
        )
    });
    // The same on a freshly loaded raw document, as runmesh's first read gets.
    raw_first_read(
        &mut g,
        "automerge_first_read_all_grafts",
        &saved,
        raw_read_all_grafts,
    );
    raw_first_read(
        &mut g,
        "automerge_first_read_parse_records",
        &saved,
        |doc, grafts| {
            let records = raw_parse_all_grafts(doc, grafts);
            assert_eq!(records.len(), GRAFTS);
            records
        },
    );
    raw_first_read(
        &mut g,
        "automerge_first_read_parse_in_place",
        &saved,
        raw_parse_in_place,
    );
    g.bench_function("automerge_read_all_grafts", |b| {
        let doc = AutoCommit::load(&saved).unwrap();
        let grafts = grafts_obj(&doc);
        b.iter(|| black_box(raw_read_all_grafts(&doc, &grafts)))
    });
    g.finish();

    let mut g = c.benchmark_group("view_after_one_change_10k");
    g.bench_function("runmesh_state_full_pipeline", |b| {
        let run = RunDoc::load(run_id(), who("r", "u"), &saved).unwrap();
        b.iter(|| black_box(run.state()))
    });
    // What the npm package's `state()` costs before `JSON.parse`: the state as JSON text.
    g.bench_function("runmesh_state_json", |b| {
        let run = RunDoc::load(run_id(), who("r", "u"), &saved).unwrap();
        b.iter(|| black_box(run.state().to_json()))
    });
    g.bench_function("runmesh_remote_change", |b| {
        let mut local = RunDoc::load(run_id(), who("us-east-1", "alice"), &saved).unwrap();
        // A replica showing the run: its view is read, and each change patches it.
        black_box(local.graft_count());
        let mut remote = RunDoc::load(run_id(), who("eu-central-1", "bob"), &saved).unwrap();
        let _ = remote.save_incremental();
        let mut i = 0u64;
        b.iter_batched(
            || {
                i += 1;
                remote.graft("step2", "Remote", i).unwrap();
                remote.save_incremental()
            },
            |bytes| local.apply_bytes(&bytes).unwrap(),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("automerge_remote_change", |b| {
        let mut local = AutoCommit::load(&saved).unwrap();
        let mut remote = AutoCommit::load(&saved).unwrap();
        let grafts = grafts_obj(&remote);
        let _ = remote.save_incremental();
        let mut i = 0u64;
        b.iter_batched(
            || {
                i += 1;
                raw_graft(&mut remote, &grafts, i);
                remote.save_incremental()
            },
            |bytes| local.load_incremental(&bytes).unwrap(),
            BatchSize::SmallInput,
        )
    });
    g.finish();

    let mut g = c.benchmark_group("merge_5k_plus_5k");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    let base = big_run(0).save();
    let mut a = RunDoc::load(run_id(), who("us-east-1", "alice"), &base).unwrap();
    let mut b2 = RunDoc::load(run_id(), who("eu-central-1", "bob"), &base).unwrap();
    for i in 0..GRAFTS / 2 {
        a.graft(&format!("step{}", i % 10), "A", i as u64).unwrap();
        b2.graft(&format!("step{}", i % 10), "B", i as u64).unwrap();
    }
    let (a_bytes, b_bytes) = (a.save(), b2.save());
    g.bench_function("runmesh", |b| {
        b.iter_batched(
            || {
                let x = RunDoc::load(run_id(), who("r", "u"), &a_bytes).unwrap();
                // The merge patches a view that is already read.
                black_box(x.graft_count());
                (x, RunDoc::load(run_id(), who("r", "v"), &b_bytes).unwrap())
            },
            |(mut x, mut y)| {
                x.merge(&mut y).unwrap();
                x
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("automerge", |b| {
        b.iter_batched(
            || {
                (
                    AutoCommit::load(&a_bytes).unwrap(),
                    AutoCommit::load(&b_bytes).unwrap(),
                )
            },
            |(mut x, mut y)| {
                x.merge(&mut y).unwrap();
                x
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();

    let mut g = c.benchmark_group("save_load_10k");
    g.sample_size(10);
    g.bench_function("runmesh_save", |b| b.iter(|| black_box(run.save())));
    g.bench_function("automerge_save", |b| {
        let mut doc = AutoCommit::load(&saved).unwrap();
        b.iter(|| black_box(doc.save()))
    });
    // Load alone (the view is read on first use, as a relay that only syncs the run
    // never does), and load followed by that first read.
    g.bench_function("runmesh_load", |b| {
        b.iter(|| black_box(RunDoc::load(run_id(), who("r", "u"), &saved).unwrap()))
    });
    g.bench_function("runmesh_load_and_read", |b| {
        b.iter(|| {
            let run = RunDoc::load(run_id(), who("r", "u"), &saved).unwrap();
            black_box(run.graft_count());
            run
        })
    });
    g.bench_function("automerge_load", |b| {
        b.iter(|| black_box(AutoCommit::load(&saved).unwrap()))
    });
    g.bench_function("automerge_load_and_read", |b| {
        b.iter(|| {
            let doc = AutoCommit::load(&saved).unwrap();
            black_box(raw_read_all_grafts(&doc, &grafts_obj(&doc)));
            doc
        })
    });
    g.finish();

    // The history (10,001 changes): the change metadata, put in the order every replica
    // agrees on, and each change message read.
    let mut g = c.benchmark_group("history_10k");
    g.sample_size(10);
    g.bench_function("runmesh_history", |b| b.iter(|| black_box(run.history())));
    g.bench_function("automerge_changes_meta", |b| {
        let mut doc = AutoCommit::load(&saved).unwrap();
        b.iter(|| black_box(doc.get_changes_meta(&[]).len()))
    });
    g.finish();
}

/// What a relay pays to take up a small run: the genesis a replica starts from when a
/// peer asks for a run it has never seen, and a 10-graft run loaded from its store.
fn small_runs(c: &mut Criterion) {
    let saved = big_run(10).save();
    let identity = who("r", "u");
    let mut g = c.benchmark_group("small_run");
    g.bench_function("genesis", |b| {
        b.iter(|| black_box(RunDoc::genesis(run_id(), identity.clone())))
    });
    g.bench_function("load_10_grafts", |b| {
        b.iter(|| black_box(RunDoc::load(run_id(), identity.clone(), &saved).unwrap()))
    });
    g.finish();
}

criterion_group!(run_doc, small_runs, benches);
criterion_main!(run_doc);
