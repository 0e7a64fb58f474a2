//! A run stays a run: changes outside its lineage are refused where they come in, a run
//! whose root keys were replaced (or that holds such a change from before the rule) still
//! reads, and names people read are checked and shown escaped.

#![cfg(not(target_arch = "wasm32"))]

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ROOT, ReadDoc};
use runmesh_core::{FlagValue, RunDoc, RunError};
use runmesh_testkit::fixtures::*;

/// A small valid document of its own (not descended from any run's genesis) whose root
/// has `title` and `steps`: its `steps` wins the root key over the genesis' list.
fn foreign() -> AutoCommit {
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "title", "pwned").unwrap();
    let steps = doc.put_object(ROOT, "steps", ObjType::Map).unwrap();
    doc.put(&steps, "0", "x").unwrap();
    doc.commit();
    doc
}

/// A run with a graft that took in [`foreign`] before the rule: what a `/sync` left on
/// disk.
fn damaged() -> Vec<u8> {
    let mut run = three_step_run();
    run.graft("step1", "Security", 2_000).unwrap();
    let mut doc = AutoCommit::load(&run.save()).unwrap();
    doc.merge(&mut foreign()).unwrap();
    doc.save()
}

#[test]
fn apply_bytes_refuses_a_document_that_does_not_descend_from_the_genesis() {
    let mut run = three_step_run();
    let heads = run.heads();
    let mut other = foreign();
    let mut incremental = foreign();
    for bytes in [other.save(), incremental.save_incremental()] {
        let err = run.apply_bytes(&bytes).unwrap_err();
        assert!(matches!(err, RunError::ForeignRoot { .. }), "{err}");
        assert!(err.to_string().contains("not the run's genesis"), "{err}");
    }
    assert_eq!(run.heads(), heads, "nothing applied");
    // Bytes that hold the run's own changes still apply.
    let mut copy = RunDoc::load(run_id(), who(2, "eu", "bob"), &run.save()).unwrap();
    copy.graft("step2", "Perf", 3_000).unwrap();
    assert!(run.apply_bytes(&copy.save()).unwrap());
}

#[test]
fn load_checked_refuses_a_run_with_a_foreign_root_and_a_document_without_genesis() {
    let err = RunDoc::load_checked(run_id(), who(2, "eu", "bob"), &damaged()).unwrap_err();
    assert!(matches!(err, RunError::ForeignRoot { .. }), "{err}");
    let err = RunDoc::load_checked(run_id(), who(2, "eu", "bob"), &foreign().save()).unwrap_err();
    assert!(err.to_string().contains("genesis"), "{err}");
    let run = RunDoc::load_checked(run_id(), who(2, "eu", "bob"), &three_step_run().save());
    assert_eq!(run.unwrap().title(), "Release");
}

#[test]
fn a_run_damaged_before_the_rule_reads_and_reports_what_was_replaced() {
    let damaged = damaged();
    let mut run = RunDoc::load(run_id(), who(2, "eu", "bob"), &damaged).unwrap();
    let state = run.state();
    assert_eq!(names(&run), ["step1", "Security", "step2", "step3"]);
    assert!(
        state.issues.iter().any(|i| i.starts_with("steps: ")),
        "{:?}",
        state.issues
    );
    // It keeps working: grafts land, and a replica that has it too takes them in.
    let graft = run.graft("step3", "Later", 4_000).unwrap();
    let mut other = RunDoc::load(run_id(), who(3, "ap", "carol"), &damaged).unwrap();
    assert!(
        other.apply_bytes(&run.save()).unwrap(),
        "its own root is no news"
    );
    assert!(
        other
            .state()
            .grafts
            .iter()
            .any(|g| g.id.as_str() == graft.as_str())
    );
}

#[test]
fn a_replaced_container_key_leaves_the_run_readable_and_syncing() {
    let mut run = three_step_run();
    let mut other = RunDoc::load(run_id(), who(2, "eu", "bob"), &run.save()).unwrap();
    run.graft("step1", "Before", 2_000).unwrap();
    // A writer with access puts new maps where the grafts and flags were.
    let doc = run.automerge_mut();
    doc.put_object(ROOT, "grafts", ObjType::Map).unwrap();
    doc.put(ROOT, "flags", 3).unwrap();
    doc.commit();
    run.refresh();
    assert_eq!(names(&run), ["step1", "Before", "step2", "step3"]);
    let issues = run.state().issues;
    assert!(
        issues.iter().any(|i| i.starts_with("grafts: ")),
        "{issues:?}"
    );
    assert!(
        issues.iter().any(|i| i.starts_with("flags: ")),
        "{issues:?}"
    );
    // Reloaded, it reads the same (it used to be "not a run").
    let mut reloaded = RunDoc::load(run_id(), who(3, "ap", "carol"), &run.save()).unwrap();
    assert_eq!(names(&reloaded), names(&run));
    // Changes in the containers still arrive, though no key leads to them.
    other.graft("step2", "After", 3_000).unwrap();
    other.set_flag("mode", FlagValue::Int(1), 3_001).unwrap();
    reloaded.merge(&mut other).unwrap();
    assert_eq!(
        names(&reloaded),
        ["step1", "Before", "step2", "After", "step3"]
    );
    assert_eq!(reloaded.state().flags["mode"], FlagValue::Int(1));
}

#[test]
fn names_with_control_bidi_or_invisible_characters_are_refused_by_field() {
    let mut run = three_step_run();
    let err = run
        .graft("step1", "evil\u{202E}txt.exe", 2_000)
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("agent name holds the character \\u{202E}"),
        "{err}"
    );
    let err = run.graft("step1", "nul\0", 2_000).unwrap_err();
    assert!(err.to_string().contains("\\u{0000}"), "{err}");
    let err = run
        .set_flag("k\u{2066}", FlagValue::Null, 2_000)
        .unwrap_err();
    assert!(err.to_string().starts_with("flag key holds"), "{err}");
    let err = RunDoc::create(run_id(), who(1, "us", "a"), "T\u{200B}", &[], 1).unwrap_err();
    assert!(err.to_string().starts_with("title holds"), "{err}");
    let mut spec = steps(&["s1"]);
    spec[0].name = Some("s\u{1B}[31m".into());
    let err = RunDoc::create(run_id(), who(1, "us", "a"), "T", &spec, 1).unwrap_err();
    assert!(
        err.to_string().starts_with("step \"s1\" name holds"),
        "{err}"
    );
    assert!(matches!(err, RunError::UnreadableText { .. }));
    // Readable text of every script passes.
    run.graft("step1", "Ünïcödé ✓ 中文 👩‍💻", 2_000).unwrap();
}

#[test]
fn names_an_older_writer_stored_are_shown_escaped() {
    let mut run = three_step_run();
    let graft = run.graft("step1", "Agent", 2_000).unwrap();
    run.set_flag("k", FlagValue::Null, 2_001).unwrap();
    // Rewrite the stored record and title as a writer without the checks could.
    let doc = run.automerge_mut();
    doc.put(ROOT, "title", "Re\u{202E}lease").unwrap();
    let flags = doc.get(ROOT, "flags").unwrap().unwrap().1;
    doc.put(&flags, "k\u{0}", 1).unwrap();
    doc.commit();
    let mut text = String::new();
    let grafts = doc.get(ROOT, "grafts").unwrap().unwrap().1;
    for bucket in doc.keys(&grafts).collect::<Vec<_>>() {
        let bucket = doc.get(&grafts, &bucket).unwrap().unwrap().1;
        if let Some((value, _)) = doc.get(&bucket, graft.as_str()).unwrap() {
            text = value
                .into_string()
                .unwrap()
                .replace("\"Agent\"", "\"Ag\\u202eent\"");
            doc.put(&bucket, graft.as_str(), text.as_str()).unwrap();
        }
    }
    doc.commit();
    assert!(text.contains("\\u202e"), "{text}");
    run.refresh();
    let state = run.state();
    assert_eq!(state.title, "Re\\u{202E}lease");
    assert_eq!(state.grafts[0].agent_name, "Ag\\u{202E}ent");
    assert!(state.flags.contains_key("k\\u{0000}"), "{:?}", state.flags);
    let json = state.to_json();
    assert!(!json.contains('\u{202E}'), "{json}");
}
