//! The report of issue 32, item 2, end to end: a `/sync` of a small document of its own
//! (root `title` and `steps`, not from the run's genesis) is refused, and the run still
//! reads after a restart; names people cannot read are refused by field.

use automerge::transaction::Transactable;
use base64::Engine;
use serde_json::json;

use crate::RELAY;
use runmesh_testkit::relay::*;

#[tokio::test]
async fn a_sync_of_a_document_of_its_own_is_refused_and_the_run_reads_after_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let run = runmesh_core::RunId::random();
    let relay = RELAY.spawn(tmp.path(), &[]);
    let body = json!({ "runId": run.to_string(), "title": "Nightly", "steps": ["fetch"] });
    let (status, created) = post(&format!("{}/api/crdt/runs", relay.base), body).await;
    assert_eq!(status, 201, "{created}");

    let mut foreign = automerge::AutoCommit::new();
    foreign.put(automerge::ROOT, "title", "pwned").unwrap();
    foreign
        .put_object(automerge::ROOT, "steps", automerge::ObjType::Map)
        .unwrap();
    let changes = base64::engine::general_purpose::STANDARD.encode(foreign.save());
    let sync = format!("{}/api/crdt/runs/{run}/sync", relay.base);
    let (status, reply) = post(&sync, json!({ "changes": changes })).await;
    assert_eq!(status, 400, "{reply}");
    assert_eq!(reply["error"], "bad_request");
    let message = reply["message"].as_str().unwrap();
    assert!(message.contains("not the run's genesis"), "{message}");

    let graft = format!("{}/app/runs/{run}/graft", relay.base);
    let body = json!({ "after": "fetch", "agentName": "gpj\u{202E}.exe" });
    let (status, reply) = post(&graft, body).await;
    assert_eq!(status, 400, "{reply}");
    let message = reply["message"].as_str().unwrap();
    assert!(
        message.starts_with("agent name holds the character \\u{202E}"),
        "{message}"
    );

    drop(relay);
    let relay = RELAY.spawn(tmp.path(), &[]);
    let (status, state) = get(&format!("{}/api/crdt/runs/{run}/state", relay.base)).await;
    assert_eq!(
        (status, state["title"].as_str()),
        (200, Some("Nightly")),
        "{state}"
    );
}
