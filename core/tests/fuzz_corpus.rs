//! Replays the fuzz corpus (core/fuzz/corpus, grown by `cargo fuzz`) and the regressions
//! (inputs that once crashed a target) with the fuzz targets' checks, so every input that
//! ever found a path is re-checked in every test run.
//!
//! The replay runs in a child process under a 2 GiB address-space cap (`prlimit --as`):
//! some regressions once made Automerge allocate without bound, and a return of that
//! bug must fail this test, not take the machine down.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use runmesh_core::hub::{Effect, HubConfig, Input, Link, PeerKind, RunHub, SessionId, Stored};
use runmesh_core::sync::{PeerId, WireMessage, decode_message};
use runmesh_core::{Identity, RunDoc, RunId, StepSpec};

/// The address space the replay may use.
const CAP_BYTES: u64 = 2 << 30;

/// The corpus plus the regressions of `target`.
fn corpus(target: &str) -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let dirs = [
        root.join("corpus").join(target),
        root.join("regressions").join(target),
    ];
    let mut inputs: Vec<_> = dirs
        .iter()
        .filter_map(|dir| std::fs::read_dir(dir).ok())
        .flatten()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "no corpus for {target}");
    inputs
}

#[test]
fn the_corpus_replays_under_a_memory_cap() {
    let status = Command::new("prlimit")
        .arg(format!("--as={CAP_BYTES}"))
        .arg("--")
        .arg(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "replay_uncapped",
            "--test-threads=1",
        ])
        .status()
        .expect("prlimit (util-linux) runs");
    assert!(
        status.success(),
        "the replay failed under a {CAP_BYTES}-byte cap: {status}"
    );
}

#[test]
#[ignore = "run by the_corpus_replays_under_a_memory_cap, in a child process under its cap"]
fn replay_uncapped() {
    wire_decode();
    doc_load();
    apply_changes();
    sync_hub();
}

fn wire_decode() {
    let mut decoded = 0;
    for input in corpus("wire_decode") {
        if let Ok(message) = WireMessage::decode(&input, 1 << 20) {
            let again = WireMessage::decode(&message.encode(), usize::MAX).unwrap();
            assert_eq!(again, message);
            decoded += 1;
        }
    }
    assert!(decoded > 0, "the corpus should hold some valid messages");
}

fn doc_load() {
    let run = RunId::from_bytes([7; 16]);
    let who = Identity::random("fuzz", "fuzz").unwrap();
    let mut loaded = 0;
    for input in corpus("doc_load") {
        if let Ok(mut doc) = RunDoc::load(run, who.clone(), &input) {
            let state = doc.state();
            let again = RunDoc::load(run, who.clone(), &doc.save()).unwrap();
            assert_eq!(again.state(), state);
            loaded += 1;
        }
    }
    assert!(loaded > 0, "the corpus should hold some loadable runs");
}

fn small_run() -> RunDoc {
    let who = Identity::random("us", "alice").unwrap();
    let steps = [
        StepSpec::new("step1").unwrap(),
        StepSpec::new("step2").unwrap(),
    ];
    let mut run = RunDoc::create(RunId::from_bytes([7; 16]), who, "T", &steps, 1).unwrap();
    run.graft("step1", "Agent", 2).unwrap();
    run
}

fn apply_changes() {
    let saved = small_run().save();
    let mut applied = 0;
    for input in corpus("apply_changes") {
        let who = Identity::random("fuzz", "fuzz").unwrap();
        let mut run = RunDoc::load(RunId::from_bytes([7; 16]), who, &saved).unwrap();
        let before = run.state();
        match run.apply_bytes(&input) {
            Ok(_) => applied += 1,
            Err(_) => assert_eq!(run.state(), before, "a refused apply changed the run"),
        }
    }
    assert!(
        applied > 0,
        "the corpus should hold some changes that apply"
    );
}

fn sync_hub() {
    let saved = small_run().save();
    let mut taken = 0;
    for input in corpus("sync_hub") {
        let Ok(message) = decode_message(&input) else {
            continue;
        };
        taken += 1;
        let config = Arc::new(HubConfig {
            me: PeerId::from("relay"),
            identity: Identity::random("relay-region", "relay").unwrap(),
            max_document_bytes: 1 << 20,
            snapshot_interval_events: 4,
            lookup_timeout: 3_000,
            trust_mesh: true,
            budget: None,
        });
        let mut hub: RunHub<u64> = RunHub::new(config, RunId::from_bytes([7; 16]).document_id());
        let stored = Stored {
            bytes: saved.clone(),
            chunks: 0,
        };
        hub.handle(0, Input::Loaded(Ok(Some(stored))));
        let from = Link {
            peer: PeerId::from("client"),
            session: SessionId(1),
            kind: PeerKind::Client,
        };
        let request = false;
        let mut effects = hub.handle(
            1,
            Input::Sync {
                from,
                message,
                request,
            },
        );
        while let Some(id) = effects.iter().find_map(|e| match e {
            Effect::Persist(p) => Some(p.id),
            _ => None,
        }) {
            effects.retain(|e| !matches!(e, Effect::Persist(p) if p.id == id));
            effects.extend(hub.handle(2, Input::Stored(id)));
        }
        hub.state().expect("the stored run stays readable");
    }
    assert!(taken > 0, "the corpus should hold some sync messages");
}

/// automerge 0.12 panics (hexane: `InvalidNumber(Overflow)` unwrapped) on this input; the
/// `doc_load` fuzz target found it. runmesh turns it into an error instead.
#[test]
fn the_automerge_panic_the_fuzzer_found_is_an_error() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions/doc_load");
    let input = std::fs::read(dir.join("crash-4fd7fc9c0f6873068c62b4995748971aaea5bf37")).unwrap();
    let err = RunDoc::load(
        RunId::from_bytes([7; 16]),
        Identity::random("r", "u").unwrap(),
        &input,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("document bytes (156 bytes)"),
        "{err}"
    );
}
