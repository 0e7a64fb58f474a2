//! A peer id is its caller's (twelfth attack, E38): every peer of a run sees the others'
//! ids in their presence, and a reader who joined with a writer's id took the writer's
//! place on the run (the writer's changes and presence went to it). Another caller's
//! `join` with an id a live connection holds is refused, naming why; the same caller may
//! reconnect with it.

use std::time::Duration;

use automerge::AutoCommit;
use runmesh_core::GENESIS;
use runmesh_core::sync::{DocSync, PeerId, PeerMetadata, WireMessage};
use runmesh_relay::client::Connection;

use crate::auth::{hs256, now, secured};

#[tokio::test]
async fn another_caller_may_not_join_with_a_peer_id_that_is_held() {
    let (relay, _tmp) = secured(|_| {}).await;
    let run = runmesh_core::RunId::random();
    let writes = serde_json::json!({ run.to_string(): "write" });
    let alice = hs256("alice", now() + 300, writes.clone());
    let mallory = hs256(
        "mallory",
        now() + 300,
        serde_json::json!({ run.to_string(): "read" }),
    );
    let id = PeerId::random("alice-tab");
    let mut held = Connection::connect_with_token(
        &relay.ws(),
        id.clone(),
        PeerMetadata::default(),
        Some(&alice),
    )
    .await
    .unwrap();
    // Mallory joins with Alice's id: refused, with the reason.
    let mut taker = Connection::connect_with_token(
        &relay.ws(),
        id.clone(),
        PeerMetadata::default(),
        Some(&mallory),
    )
    .await;
    let refused = match &mut taker {
        Err(e) => e.to_string(),
        Ok(conn) => match tokio::time::timeout(Duration::from_secs(5), conn.recv()).await {
            Ok(Ok(Some(WireMessage::Error { message, .. }))) => message,
            other => panic!("the taker was not refused: {other:?}"),
        },
    };
    assert!(refused.contains("in use by another caller"), "{refused}");
    // Alice's connection still syncs the run.
    let relay_peer = held.remote.peer.clone();
    let mut sync = DocSync::new(run.document_id(), id.clone());
    let mut doc = AutoCommit::load(GENESIS).unwrap();
    held.send(&sync.add_peer(&mut doc, &relay_peer).unwrap())
        .await
        .unwrap();
    let answered = tokio::time::timeout(Duration::from_secs(5), held.recv()).await;
    assert!(matches!(answered, Ok(Ok(Some(_)))), "{answered:?}");
    // Once Alice's connection ends, the id is free again.
    held.close().await;
    let mut freed = false;
    for _ in 0..50 {
        let conn = Connection::connect_with_token(
            &relay.ws(),
            id.clone(),
            PeerMetadata::default(),
            Some(&mallory),
        )
        .await;
        if let Ok(mut conn) = conn {
            let next = tokio::time::timeout(Duration::from_millis(300), conn.recv()).await;
            if !matches!(next, Ok(Ok(Some(WireMessage::Error { .. })))) {
                freed = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(freed, "the id stayed held after its connection ended");
    relay.stop().await;
}
