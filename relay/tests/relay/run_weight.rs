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

/// One change of 300,000 text ops (300 KB, a few seconds of a relay's memory and time
/// to take in at about 250 bytes an op) passes every byte limit but weighs 76.8 MB at
/// 256 bytes an op: refused before it is read op by op, and the relay answers as before.
#[tokio::test]
async fn one_change_of_many_ops_is_weighed_by_its_ops() {
    use automerge::ObjType;
    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start_in(tmp.path(), "weight", |_| {}).await;
    let run = RunId::random();
    let mut doc = RunDoc::create(run, Identity::random("eu", "u").unwrap(), "T", &[], 1).unwrap();
    let url = relay.http(&format!("/api/crdt/runs/{run}/sync"));
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let (status, body) = post(&url, json!({ "changes": b64(&doc.save()) })).await;
    assert_eq!(status, 200, "{body}");
    let before = doc.heads();
    let am = doc.automerge_mut();
    let text = am.put_object(ROOT, "t", ObjType::Text).unwrap();
    am.splice_text(&text, 0, 0, &"a".repeat(300_000)).unwrap();
    am.commit();
    let change = doc.automerge_mut().get_changes(&before)[0]
        .raw_bytes()
        .to_vec();
    assert!(change.len() < 400_000, "{} bytes", change.len());
    let (status, body) = post(&url, json!({ "changes": b64(&change) })).await;
    assert_eq!(status, 413, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("--max-document-bytes"), "{message}");
    let (status, state) = get(&relay.http(&format!("/api/crdt/runs/{run}/state"))).await;
    assert_eq!(status, 200, "{state}");
    let (status, _) = get(&relay.http("/health")).await;
    assert_eq!(status, 200);
    relay.stop().await;
}

/// Each change of a `/sync` body spends the caller's change allowance, as each change of
/// a socket's sync message does: one body of 30,000 changes counted once and kept a
/// worker busy for minutes.
#[tokio::test]
async fn each_change_of_a_sync_body_counts_against_the_rate_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start_in(tmp.path(), "weight", |c| {
        c.rate_limit_per_minute = std::num::NonZeroU32::new(100).unwrap();
    })
    .await;
    let run = RunId::random();
    let mut doc = RunDoc::create(run, Identity::random("eu", "u").unwrap(), "T", &[], 1).unwrap();
    let url = relay.http(&format!("/api/crdt/runs/{run}/sync"));
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    assert_eq!(
        post(&url, json!({ "changes": b64(&doc.save()) })).await.0,
        200
    );
    let before = doc.heads();
    for i in 0..150 {
        doc.set_flag("k", runmesh_core::FlagValue::Int(i), 1)
            .unwrap();
    }
    let changes: Vec<u8> = doc
        .automerge_mut()
        .get_changes(&before)
        .iter()
        .flat_map(|c| c.raw_bytes().to_vec())
        .collect();
    let (status, body) = post(&url, json!({ "changes": b64(&changes) })).await;
    assert_eq!(status, 429, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("--rate-limit-per-minute"),
        "{body}"
    );
    let (_, state) = get(&relay.http(&format!("/api/crdt/runs/{run}/state"))).await;
    assert_eq!(state["flags"], json!({}), "nothing applied");
    relay.stop().await;
}
