//! Native half of the native/wasm agreement check: the committed fixture documents give
//! exactly the committed view JSON. `tests/wasm/agreement.test.mjs` loads the same bytes
//! through the wasm build and must produce the same text.
//!
//! `RUNMESH_UPDATE_FIXTURES=1 cargo test --test agreement` rewrites the fixtures.

#![cfg(not(target_arch = "wasm32"))]

use std::path::PathBuf;

use automerge::ReadDoc;
use automerge::transaction::Transactable;
use runmesh_core::{FlagValue, RunDoc};
use runmesh_testkit::fixtures::*;

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Three replicas, concurrent grafts, prunes, restores, flags with conflicts and floats.
fn busy_run() -> RunDoc {
    let mut us = three_step_run();
    let mut eu = RunDoc::load(run_id(), who(2, "eu-central-1", "bob"), &us.save()).unwrap();
    let mut ap = RunDoc::load(run_id(), who(3, "ap-southeast-1", "carol"), &us.save()).unwrap();
    let a = us.graft("step1", "SecurityAgent", 10_000).unwrap();
    eu.graft("step1", "PerformanceAgent", 10_001).unwrap();
    ap.graft(a.as_str(), "Ünïcödé Agent ✓", 10_002).unwrap_err();
    ap.graft("step2", "Ünïcödé Agent ✓", 10_002).unwrap();
    us.set_flag("ratio", FlagValue::Float(0.1 + 0.2), 10_003)
        .unwrap();
    eu.set_flag("ratio", FlagValue::Float(1e-7), 10_004)
        .unwrap();
    ap.set_flag("big", FlagValue::Int(i64::MAX), 10_005)
        .unwrap();
    us.prune("step3", 10_006).unwrap();
    for (x, y) in [(0, 1), (1, 2), (0, 2)] {
        let docs: [&mut RunDoc; 3] = [&mut us, &mut eu, &mut ap];
        let [a, b, c] = docs;
        let (p, q): (&mut RunDoc, &mut RunDoc) = match (x, y) {
            (0, 1) => (a, b),
            (1, 2) => (b, c),
            _ => (a, c),
        };
        p.merge(q).unwrap();
        q.merge(p).unwrap();
    }
    eu.restore("step3", 10_007).unwrap();
    let g = eu.state().grafts[0].id.to_string();
    eu.graft(&g, "Nested", 10_008).unwrap();
    us.merge(&mut eu).unwrap();
    us
}

/// Data some other client wrote in shapes a run does not use.
fn foreign_run() -> RunDoc {
    let mut run = three_step_run();
    run.graft("step1", "Good", 1).unwrap();
    let doc = run.automerge_mut();
    let (_, grafts) = doc.get(automerge::ROOT, "grafts").unwrap().unwrap();
    let (_, bucket) = doc.get(&grafts, "00").unwrap().unwrap();
    doc.put(&bucket, "g-num", 42).unwrap();
    doc.put(&grafts, "g-outside", "{}").unwrap();
    doc.put(
        &bucket,
        "g-dangling",
        r#"{"after":"ghost","agentName":"Lost","by":"x","region":"r","lamport":9,"at":0}"#,
    )
    .unwrap();
    let (_, flags) = doc.get(automerge::ROOT, "flags").unwrap().unwrap();
    doc.put(&flags, "blob", automerge::ScalarValue::Bytes(vec![1]))
        .unwrap();
    doc.put(&flags, "n", automerge::ScalarValue::Uint(u64::MAX))
        .unwrap();
    doc.commit();
    run.refresh();
    run
}

fn stepless_run() -> RunDoc {
    let mut run = RunDoc::genesis(run_id(), who(4, "us-west-2", "dave"));
    run.graft("step2", "B", 5).unwrap();
    run.graft("step1", "A", 6).unwrap();
    run
}

#[test]
fn fixtures_materialise_to_the_committed_json() {
    let update = std::env::var("RUNMESH_UPDATE_FIXTURES").is_ok();
    for (name, build) in [
        ("busy", busy_run as fn() -> RunDoc),
        ("foreign", foreign_run),
        ("stepless", stepless_run),
    ] {
        let bin = fixture_dir().join(format!("{name}.automerge"));
        let json = fixture_dir().join(format!("{name}.state.json"));
        if update || !bin.exists() {
            let mut run = build();
            std::fs::write(&bin, run.save()).unwrap();
            std::fs::write(&json, run.state().to_json() + "\n").unwrap();
        }
        let bytes = std::fs::read(&bin).unwrap();
        let expected = std::fs::read_to_string(&json).unwrap();
        let loaded = RunDoc::load(run_id(), who(9, "r", "u"), &bytes).unwrap();
        assert_eq!(
            loaded.state().to_json(),
            expected.trim_end(),
            "fixture {name}"
        );
        // The fixture still says what the builder makes today.
        assert_eq!(
            build().state().to_json(),
            expected.trim_end(),
            "builder {name}"
        );
    }
}
