//! Replays the fuzz corpus (core/fuzz/corpus, grown by `cargo fuzz`) with the fuzz
//! targets' checks, so every input that ever found a path is re-checked in every test run.

use std::path::Path;

use runmesh_core::sync::WireMessage;
use runmesh_core::{Identity, RunDoc, RunId};

/// The corpus plus the regressions (inputs that once crashed a target).
fn corpus(target: &str) -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let dir = root.join("corpus").join(target);
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .chain(
            std::fs::read_dir(root.join("regressions").join(target))
                .into_iter()
                .flatten(),
        )
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "{} is empty", dir.display());
    inputs
}

#[test]
fn wire_decode_corpus_replays_clean() {
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

#[test]
fn doc_load_corpus_replays_clean() {
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
        err.to_string()
            .starts_with("corrupt document bytes (156 bytes)"),
        "{err}"
    );
}
