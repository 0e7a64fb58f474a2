//! A run's size limit on a real relay weighs changes as Automerge holds them, deflated
//! parts inflated: a document that deflates 200 KB into a few is refused at a 64 KB
//! limit, over REST, with nothing kept.

use automerge::ROOT;
use automerge::transaction::Transactable;
use base64::Engine;
use runmesh_core::{Identity, RunDoc, RunId};
use serde_json::json;

use runmesh_testkit::relay::*;

#[tokio::test]
async fn a_document_that_deflates_well_is_weighed_inflated() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start_in(tmp.path(), "weight", |c| c.max_document_bytes = 64_000).await;
    let run = RunId::random();
    let mut doc = RunDoc::genesis(run, Identity::random("eu", "u").unwrap());
    doc.automerge_mut()
        .put(ROOT, "note", "a".repeat(200_000))
        .unwrap();
    doc.automerge_mut().commit();
    let bytes = doc.save();
    assert!(bytes.len() < 8_000, "saved deflated: {} bytes", bytes.len());
    let changes = base64::engine::general_purpose::STANDARD.encode(&bytes);
    let url = relay.http(&format!("/api/crdt/runs/{run}/sync"));
    let (status, body) = post(&url, json!({ "changes": changes })).await;
    assert_eq!(status, 413, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("--max-document-bytes"), "{message}");
    let (status, _) = get(&relay.http(&format!("/api/crdt/runs/{run}/state"))).await;
    assert_eq!(status, 404, "nothing of the refused document was kept");
    relay.stop().await;
}
