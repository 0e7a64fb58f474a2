//! The run document's operations and their errors, on one replica.

use runmesh_core::{FlagValue, NodeKind, RunDoc, RunError, RunId};
use runmesh_testkit::fixtures::*;

#[test]
fn grafts_sit_after_their_anchor_and_grafts_of_grafts_follow_them() {
    let mut run = three_step_run();
    let a = run.graft("step1", "SecurityAgent", 2_000).unwrap();
    run.graft(a.as_str(), "AuditAgent", 3_000).unwrap();
    run.graft("step1", "PerformanceAgent", 4_000).unwrap();
    run.graft("step3", "ReportAgent", 5_000).unwrap();
    assert_eq!(
        names(&run),
        [
            "step1",
            "SecurityAgent",
            "AuditAgent",
            "PerformanceAgent",
            "step2",
            "step3",
            "ReportAgent"
        ]
    );
    let state = run.state();
    let depths: Vec<usize> = state.pipeline.iter().map(|n| n.depth).collect();
    assert_eq!(depths, [0, 1, 2, 1, 0, 0, 1]);
    assert_eq!(
        state.pipeline[2].after.as_ref().unwrap().as_str(),
        a.as_str()
    );
    // The clock is Automerge's op counter: each graft is one op, so one tick each.
    assert_eq!(state.grafts.last().unwrap().lamport, state.lamport);
    assert_eq!(state.grafts[0].lamport + 3, state.lamport);
    assert_eq!(state.grafts.len(), 4);
    assert_eq!(&*state.grafts[0].by, "alice");
    assert_eq!(&*state.grafts[0].region, "us-east-1");
    assert_eq!(state.grafts[0].at, 2_000);
    assert!(state.issues.is_empty(), "{:?}", state.issues);
}

#[test]
fn graft_errors_name_the_bad_value_and_write_nothing() {
    let mut run = three_step_run();
    let heads = run.heads();
    let err = run.graft("step1", "   ", 1).unwrap_err();
    assert!(matches!(err, RunError::EmptyAgentName), "{err}");
    let err = run.graft("step1", &"a".repeat(201), 1).unwrap_err();
    assert_eq!(
        err.to_string(),
        "agent name is 201 characters long, the limit is 200"
    );
    let err = run.graft("step9", "X", 1).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown anchor \"step9\": the run has no step or graft with that id"
    );
    let err = run.graft("", "X", 1).unwrap_err();
    assert!(
        err.to_string().contains("anchor") && err.to_string().contains("empty"),
        "{err}"
    );
    assert_eq!(
        run.heads(),
        heads,
        "a refused graft must not change the document"
    );
}

#[test]
fn a_run_without_steps_accepts_any_step_id_as_anchor() {
    let mut run = RunDoc::create(run_id(), who(1, "us-east-1", "alice"), "", &[], 0).unwrap();
    run.graft("step2", "B", 1).unwrap();
    run.graft("step1", "A", 2).unwrap();
    let state = run.state();
    let kinds: Vec<(String, NodeKind)> = state
        .pipeline
        .iter()
        .map(|n| (n.name.clone(), n.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("step1".into(), NodeKind::External),
            ("A".into(), NodeKind::Graft),
            ("step2".into(), NodeKind::External),
            ("B".into(), NodeKind::Graft)
        ]
    );
    assert!(run.prune("step1", 3).unwrap());
}

#[test]
fn prune_and_restore_mark_nodes_and_are_idempotent() {
    let mut run = three_step_run();
    let g = run.graft("step2", "X", 1).unwrap();
    assert!(run.prune("step2", 2).unwrap());
    assert!(
        !run.prune("step2", 3).unwrap(),
        "a second prune writes nothing"
    );
    assert!(run.prune(g.as_str(), 4).unwrap());
    let state = run.state();
    let pruned: Vec<(&str, bool)> = state
        .pipeline
        .iter()
        .map(|n| (n.name.as_str(), n.pruned))
        .collect();
    assert_eq!(
        pruned,
        [
            ("step1", false),
            ("step2", true),
            ("X", true),
            ("step3", false)
        ]
    );
    assert_eq!(state.pruned_steps.len(), 2);
    assert_eq!(state.pruned_steps[0].by, "alice");
    assert!(run.restore("step2", 5).unwrap());
    assert!(!run.restore("step2", 6).unwrap());
    assert_eq!(run.state().pruned_steps.len(), 1);
    let err = run.prune("nope", 7).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown node \"nope\": the run has no step or graft with that id"
    );
    assert!(matches!(
        run.restore("nope", 7),
        Err(RunError::UnknownNode { .. })
    ));
}

#[test]
fn flags_hold_json_scalars_and_refuse_anything_else() {
    let mut run = three_step_run();
    run.set_flag("retries", FlagValue::Int(3), 1).unwrap();
    run.set_flag("mode", FlagValue::Str("fast".into()), 2)
        .unwrap();
    run.set_flag("ratio", FlagValue::Float(0.5), 3).unwrap();
    run.set_flag("dry", FlagValue::Bool(true), 4).unwrap();
    let json = serde_json::to_value(run.state().flags).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"dry": true, "mode": "fast", "ratio": 0.5, "retries": 3})
    );
    assert!(run.clear_flag("mode", 5).unwrap());
    assert!(!run.clear_flag("mode", 6).unwrap());
    let err = run
        .set_flag("ratio", FlagValue::Float(f64::NAN), 7)
        .unwrap_err();
    assert!(
        err.to_string().contains("\"ratio\"") && err.to_string().contains("NaN"),
        "{err}"
    );
    let err = run.set_flag("", FlagValue::Null, 7).unwrap_err();
    assert!(err.to_string().contains("flag key"), "{err}");
    let err = FlagValue::from_json("cfg", &serde_json::json!({"a": 1})).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid value for flag \"cfg\": an object, expected a JSON scalar"
    );
}

#[test]
fn create_checks_title_and_steps() {
    let err = RunDoc::create(run_id(), who(1, "r", "u"), &"t".repeat(201), &[], 0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "title is 201 characters long, the limit is 200"
    );
    let err = RunDoc::create(run_id(), who(1, "r", "u"), "", &steps(&["a", "a"]), 0).unwrap_err();
    assert_eq!(err.to_string(), "step id \"a\" appears twice");
}

#[test]
fn save_load_and_incremental_bytes_round_trip() {
    let mut run = three_step_run();
    run.graft("step1", "A", 1).unwrap();
    run.set_flag("k", FlagValue::Int(1), 2).unwrap();
    let saved = run.save();
    let mut copy = RunDoc::load(run_id(), who(2, "eu-central-1", "bob"), &saved).unwrap();
    assert_eq!(copy.state(), run.state());
    assert_eq!(copy.heads(), run.heads());

    run.graft("step2", "B", 3).unwrap();
    let delta = run.save_incremental();
    assert!(delta.len() < saved.len());
    assert!(copy.apply_bytes(&delta).unwrap());
    assert!(
        !copy.apply_bytes(&delta).unwrap(),
        "the same changes twice change nothing"
    );
    assert_eq!(copy.state(), run.state());
}

#[test]
fn incremental_chunks_without_the_genesis_load_on_their_own() {
    let mut run = three_step_run();
    let _ = run.save_incremental();
    run.graft("step1", "A", 1).unwrap();
    let later = run.save_incremental();
    let mut all = run.save();
    all.extend_from_slice(&later);
    let copy = RunDoc::load(run_id(), who(2, "r", "u"), &all).unwrap();
    assert_eq!(copy.state(), run.state());
}

#[test]
fn corrupt_bytes_are_refused_with_nothing_applied() {
    let mut run = three_step_run();
    let mut bytes = run.save();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    bytes[10] ^= 0xff;
    // The flipped length byte now declares more than follows: refused before parsing.
    let err = RunDoc::load(run_id(), who(2, "r", "u"), &bytes).unwrap_err();
    assert!(
        err.to_string().starts_with("refused document bytes"),
        "{err}"
    );
    let heads = run.heads();
    let err = run.apply_bytes(b"definitely not automerge").unwrap_err();
    assert!(matches!(err, RunError::Refused { len: 24, .. }), "{err}");
    assert!(err.to_string().contains("no magic number"), "{err}");
    // Bytes that pass the check but that Automerge finds corrupt: a flipped checksum.
    let mut bytes = run.save();
    bytes[5] ^= 0xff;
    let err = RunDoc::load(run_id(), who(2, "r", "u"), &bytes).unwrap_err();
    assert!(
        err.to_string().starts_with("corrupt document bytes"),
        "{err}"
    );
    assert_eq!(run.heads(), heads);
}

#[test]
fn a_document_that_is_not_a_run_is_named_as_such() {
    use automerge::transaction::Transactable;
    let mut other = automerge::AutoCommit::new();
    other.put(automerge::ROOT, "grafts", "oops").unwrap();
    let err = RunDoc::load(run_id(), who(2, "r", "u"), &other.save()).unwrap_err();
    assert!(err.to_string().contains("not a run document"), "{err}");
}

#[test]
fn history_says_who_where_when_and_what() {
    let mut run = three_step_run();
    let g = run.graft("step1", "SecurityAgent", 7_000).unwrap();
    run.prune("step2", 8_000).unwrap();
    let history = run.history();
    let ops: Vec<&str> = history.iter().map(|h| h.op.as_str()).collect();
    assert_eq!(ops, ["create", "graft", "prune"]);
    assert_eq!(history[1].by, "alice");
    assert_eq!(history[1].region, "us-east-1");
    assert_eq!(history[1].at, 7);
    assert_eq!(history[1].node.as_deref(), Some(g.as_str()));
    assert_eq!(history[1].detail, "SecurityAgent after step1");
}

#[test]
fn saved_runs_name_themselves_and_bare_ones_ask_for_their_id() {
    let run_id = RunId::random();
    let mut run = RunDoc::create(run_id, who(1, "us", "alice"), "T", &[], 1).unwrap();
    let opened = RunDoc::open(who(2, "eu", "bob"), &run.save()).unwrap();
    assert_eq!(opened.run_id(), run_id);
    assert_eq!(opened.state(), run.state());
    let mut bare = RunDoc::genesis(run_id, who(1, "us", "alice"));
    let err = RunDoc::open(who(2, "eu", "bob"), &bare.save()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "these bytes do not say which run they hold: pass the run id"
    );
}
