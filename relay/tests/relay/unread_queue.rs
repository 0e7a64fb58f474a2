//! What a peer may leave unread (ninth attack, E23; tenth, E27): a peer that asks for a
//! whole run again and again without reading had a copy queued each time. A client may
//! leave one frame and 64 MiB more unread, a relay one frame and 256 MiB more, within
//! `--max-loaded-bytes`; past that it is cut off.

use std::time::Duration;

use automerge::ROOT;
use base64::Engine;
use runmesh_core::sync::{PeerId, PeerMetadata, WireMessage};
use runmesh_core::{Identity, RunDoc, RunId};
use runmesh_relay::client::Connection;
use serde_json::json;

use runmesh_testkit::relay::*;

/// The ninth attack's E23: a 7-byte sync message saying "I have nothing" makes the
/// relay answer with the whole run, and a client that asks again and again without
/// reading had a copy queued each time (350 bytes sent, a 40 MB run fifty times, the
/// relay dead). A client may leave unread one frame and at most 64 MiB more, within
/// what `--max-loaded-bytes` holds; past that it is cut off.
#[tokio::test]
async fn a_client_that_asks_for_a_run_again_and_again_without_reading_is_cut_off() {
    asks_again_without_reading(PeerMetadata::default()).await;
}

/// The tenth attack's E27: the same through a claimed mesh link (an open relay takes a
/// client that names a region for a relay), whose queue was counted but not capped.
#[tokio::test]
async fn a_relay_that_asks_again_and_again_without_reading_is_cut_off_too() {
    let metadata = PeerMetadata {
        region: Some("elsewhere".into()),
        ..PeerMetadata::default()
    };
    asks_again_without_reading(metadata).await;
}

/// Asks a relay for a 400 KB run 200 times without reading, as a peer saying
/// `metadata`: the peer is cut off after fewer than 100 copies, and the relay answers.
async fn asks_again_without_reading(metadata: PeerMetadata) {
    use automerge::transaction::Transactable;
    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start_in(tmp.path(), "unread", |c| {
        c.max_loaded_bytes = 8_000_000;
        c.max_loaded_bytes_per_caller = 8_000_000;
    })
    .await;
    // A run of 400 KB that does not compress.
    let run = RunId::random();
    let mut doc = RunDoc::create(run, Identity::random("eu", "u").unwrap(), "T", &[], 1).unwrap();
    let blob: String = (0..200_000u32)
        .map(|i| format!("{:02x}", (i.wrapping_mul(2_654_435_761) >> 13) as u8))
        .collect();
    doc.automerge_mut().put(ROOT, "blob", blob).unwrap();
    doc.automerge_mut().commit();
    let b64 = base64::engine::general_purpose::STANDARD.encode(doc.save());
    let (status, body) = post(
        &relay.http(&format!("/api/crdt/runs/{run}/sync")),
        json!({ "changes": b64 }),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let me = PeerId::random("greedy");
    let mut conn = Connection::connect(&relay.ws(), me.clone(), metadata)
        .await
        .unwrap();
    let nothing = WireMessage::Sync {
        document_id: run.document_id(),
        sender_id: me,
        target_id: conn.remote.peer.clone(),
        data: vec![0x42, 0, 0, 1, 0, 0, 0],
    };
    // Paced as the attack was, so that each is its own batch and gets its own answer.
    for _ in 0..200 {
        if conn.send(&nothing).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    // Reading now: some copies, then the close.
    let mut copies = 0;
    let closed = loop {
        match tokio::time::timeout(Duration::from_secs(10), conn.recv()).await {
            Ok(Ok(Some(_))) => copies += 1,
            Ok(_) => break true,
            Err(_) => break false,
        }
    };
    assert!(closed, "still open after {copies} copies");
    assert!(copies < 100, "{copies} copies were queued");
    let (status, _) = get(&relay.http("/health")).await;
    assert_eq!(status, 200);
    relay.stop().await;
}
