//! Tokens on open streams and sockets (issue 32): a change feed or a WebSocket opened
//! with a token ends when the token does — at its `exp` plus the clock leeway, the moment
//! a new request with it is refused — and says why; a token whose `nbf` is ahead is
//! refused. (Keys removed by a reload: `operations.rs`, with the real binary and SIGHUP.)

use std::time::{Duration, Instant};

use runmesh_core::sync::{PeerId, PeerMetadata, WireMessage};
use runmesh_core::{Identity, RunDoc};
use runmesh_relay::auth::LEEWAY_SECS;
use runmesh_relay::client::Connection;

use crate::jwt::{every_run, mint, now, secured};
use crate::sse::Consumer;
use runmesh_testkit::relay::*;

/// A token that expires (leeway included) a few seconds from now.
fn short_lived() -> String {
    every_run("ada", now() + 4 - LEEWAY_SECS)
}

async fn create(relay: &TestRelay, token: &str) {
    let created = reqwest::Client::new()
        .post(relay.http(&format!("/app/runs/{}/graft", run_id())))
        .bearer_auth(token)
        .body(r#"{"after": "step1", "agentName": "A"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
}

#[tokio::test]
async fn a_feed_ends_with_a_reason_when_its_token_expires() {
    let (relay, _tmp) = secured().await;
    create(&relay, &every_run("ada", now() + 600)).await;
    let token = short_lived();
    let url = relay.http(&format!("/api/crdt/runs/{}/events?token={token}", run_id()));
    let mut feed = Consumer::open(&url, None).await;
    let end = feed.ended().await;
    assert_eq!(end["code"], "token_expired", "{end}");
    assert_eq!(end["reason"], "token expired");
    // And the same token opens nothing now.
    let again = reqwest::get(&url).await.unwrap();
    assert_eq!(again.status(), 401);
    relay.stop().await;
}

#[tokio::test]
async fn a_websocket_session_is_told_and_closed_when_its_token_expires() {
    let (relay, _tmp) = secured().await;
    let token = short_lived();
    let conn = Connection::connect_with_token(
        &relay.ws(),
        PeerId::random("expiring"),
        PeerMetadata::default(),
        Some(&token),
    )
    .await
    .unwrap();
    let mut client = SyncClient::from_connection(
        conn,
        RunDoc::genesis(run_id(), Identity::random("eu", "ada").unwrap()),
    );
    client.open(false).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    let told = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let message = tokio::time::timeout(left, client.conn.recv())
            .await
            .expect("the session ends within 15 s")
            .unwrap()
            .expect("an error message before the close");
        if let WireMessage::Error { message, .. } = message {
            break message;
        }
    };
    assert_eq!(told, "token expired");
    let after = tokio::time::timeout(Duration::from_secs(10), client.conn.recv())
        .await
        .expect("the close follows the error");
    assert!(matches!(after, Ok(None) | Err(_)), "{after:?}");
    relay.stop().await;
}

#[tokio::test]
async fn a_token_whose_nbf_is_ahead_is_refused_until_then() {
    let (relay, _tmp) = secured().await;
    let later = mint(serde_json::json!({
        "sub": "ada", "exp": now() + 600, "nbf": now() + 300, "runs": { "*": "write" },
    }));
    let url = relay.http(&format!("/api/crdt/runs/{}/state?token={later}", run_id()));
    let (status, body) = get(&url).await;
    assert_eq!(status, 401);
    assert!(
        body["message"].as_str().unwrap().contains("not valid yet"),
        "{body}"
    );
    let refused = Connection::connect_with_token(
        &relay.ws(),
        PeerId::random("early"),
        PeerMetadata::default(),
        Some(&later),
    )
    .await;
    assert!(refused.is_err(), "a WebSocket with a token not valid yet");
    relay.stop().await;
}

/// The tenth attack's E31: an `exp` of 2^64 − 1 wrapped when the leeway was added, and
/// the socket and feed such a token opened ended at once while REST took it. A token
/// that ends beyond the clock's reach does not end.
#[tokio::test]
async fn a_token_whose_exp_is_beyond_the_clock_does_not_end_its_feed_at_once() {
    let (relay, _tmp) = secured().await;
    let forever = every_run("ada", u64::MAX);
    create(&relay, &forever).await;
    let url = relay.http(&format!(
        "/api/crdt/runs/{}/events?token={forever}",
        run_id()
    ));
    let mut feed = Consumer::open(&url, None).await;
    let ended = tokio::time::timeout(Duration::from_secs(2), feed.ended()).await;
    assert!(ended.is_err(), "the feed ended: {ended:?}");
    relay.stop().await;
}
