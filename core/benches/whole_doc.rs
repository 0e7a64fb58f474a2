//! A replica that has only a run's genesis taking in the whole run from a peer (a browser
//! opening a run from the relay's list, a relay copying a run from another region):
//! Automerge sends a saved document when the peer lacks over a third of the changes, and
//! the sync engine loads it as a document (`sync::whole_doc`) instead of applying its
//! changes one by one. Run with `cargo bench -p runmesh-core --bench whole_doc`; figures
//! are in docs/benchmarks.md.

use automerge::AutoCommit;
use automerge::sync::{Message, State, SyncDoc};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use runmesh_core::sync::{DocSync, PeerId};
use runmesh_core::{DocumentId, GENESIS, Identity, RunDoc, RunId, StepSpec};
use std::hint::black_box;

const GRAFTS: usize = 1_000;

/// A run with 4 steps and `n` grafts, saved.
fn saved_run(n: usize) -> AutoCommit {
    let steps: Vec<StepSpec> = ["plan", "build", "test", "ship"]
        .iter()
        .map(|s| StepSpec::new(s).unwrap())
        .collect();
    let who = Identity::random("us-east-1", "alice").unwrap();
    let mut run = RunDoc::create(RunId::random(), who, "bench", &steps, 0).unwrap();
    for i in 0..n {
        run.graft("plan", &format!("Agent{i}"), i as u64).unwrap();
    }
    AutoCommit::load(&run.save()).unwrap()
}

/// What the peer holding `source` answers a replica that has only the genesis.
fn whole_run_message(source: &mut AutoCommit) -> Message {
    let mut genesis = AutoCommit::load(GENESIS).unwrap();
    let (mut theirs, mut ours) = (State::new(), State::new());
    let hello = genesis.sync().generate_sync_message(&mut theirs).unwrap();
    source
        .sync()
        .receive_sync_message(&mut ours, hello)
        .unwrap();
    source.sync().generate_sync_message(&mut ours).unwrap()
}

fn benches(c: &mut Criterion) {
    let mut source = saved_run(GRAFTS);
    let message = whole_run_message(&mut source);
    let saved = source.save();
    let genesis = AutoCommit::load(GENESIS).unwrap();
    let peer = PeerId::from("relay");
    let doc_id = DocumentId::from_bytes([7; 16]);

    let mut g = c.benchmark_group("take_in_whole_1k_run");
    g.bench_function("sync_receive_loads_it", |b| {
        b.iter_batched(
            || {
                (
                    genesis.clone(),
                    DocSync::new(doc_id, PeerId::from("me")),
                    message.clone(),
                )
            },
            |(mut doc, mut sync, message)| {
                assert!(sync.receive(&mut doc, &peer, message).unwrap());
                black_box(doc)
            },
            BatchSize::SmallInput,
        );
    });
    g.bench_function("apply_its_changes", |b| {
        b.iter_batched(
            || genesis.clone(),
            |mut doc| {
                doc.load_incremental(&saved).unwrap();
                black_box(doc)
            },
            BatchSize::SmallInput,
        );
    });
    g.finish();
}

criterion_group!(whole_doc, benches);
criterion_main!(whole_doc);
