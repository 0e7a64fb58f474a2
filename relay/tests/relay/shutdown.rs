//! Shutdown within the grace period: on SIGTERM the real relay binary exits within
//! `--shutdown-grace-secs` (plus a margin for a busy machine) even with an SSE stream and
//! a WebSocket open, and the WebSocket gets a close frame first.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use runmesh_core::RunId;
use runmesh_core::sync::{PeerId, PeerMetadata};
use runmesh_relay::client::Connection;
use tokio_tungstenite::tungstenite::Message;

use crate::RELAY;
use runmesh_testkit::child::ChildRelay;
use runmesh_testkit::relay::*;

const GRACE_SECS: u64 = 2;
/// For a loaded machine: the test is that the relay exits, not how fast.
const MARGIN: Duration = Duration::from_secs(20);

#[tokio::test]
async fn sigterm_exits_within_the_grace_period_with_an_sse_stream_and_a_websocket_open() {
    let tmp = tempfile::tempdir().unwrap();
    let grace = GRACE_SECS.to_string();
    let mut relay = RELAY.spawn(tmp.path(), &["--shutdown-grace-secs", &grace]);
    let run = RunId::random();
    let (status, body) = post(
        &format!("{}/app/runs/{run}/graft", relay.base),
        r#"{"after": "step1", "agentName": "Before"}"#,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let mut events = reqwest::get(format!("{}/api/crdt/runs/{run}/events", relay.base))
        .await
        .unwrap();
    assert_eq!(events.status(), 200);
    let socket = Connection::connect(&relay.ws(), PeerId::random("stay"), PeerMetadata::default())
        .await
        .unwrap();

    terminate_and_wait(&mut relay).await;
    assert_closed_with_a_frame(socket).await;
    // The SSE stream ended (cleanly or cut off), it does not hang.
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(Some(_)) = events.chunk().await {}
    })
    .await;
    assert!(ended.is_ok(), "the SSE stream is still open");
}

#[tokio::test]
async fn a_websocket_alone_gets_its_close_frame_before_the_relay_exits() {
    let tmp = tempfile::tempdir().unwrap();
    let grace = GRACE_SECS.to_string();
    let mut relay = RELAY.spawn(tmp.path(), &["--shutdown-grace-secs", &grace]);
    let socket = Connection::connect(&relay.ws(), PeerId::random("stay"), PeerMetadata::default())
        .await
        .unwrap();
    terminate_and_wait(&mut relay).await;
    assert_closed_with_a_frame(socket).await;
}

/// Sends SIGTERM and waits for a clean exit, at most the grace period plus [`MARGIN`].
async fn terminate_and_wait(relay: &mut ChildRelay) {
    let pid = relay.child.id().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    let started = Instant::now();
    let deadline = started + Duration::from_secs(GRACE_SECS) + MARGIN;
    let status = loop {
        if let Some(status) = relay.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the relay had not exited {:?} after SIGTERM (grace {GRACE_SECS} s)",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "{status:?}");
}

/// The socket was closed with a close frame, not just dropped.
async fn assert_closed_with_a_frame(socket: Connection) {
    let mut ws = socket.into_inner();
    let frame = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => return Some(frame),
                Some(Ok(_)) => continue,
                _ => return None,
            }
        }
    })
    .await
    .unwrap();
    assert!(frame.is_some(), "no close frame before the socket ended");
}
