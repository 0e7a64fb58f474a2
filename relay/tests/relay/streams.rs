//! Streams per caller (eighth attack, E21 and E22): one address opened all 5,000 change
//! feeds and 3,192 idle sockets, and every other caller got 503. A caller holds at most
//! `--max-streams-per-caller` WebSockets and change feeds at once.

use runmesh_core::sync::{PeerId, PeerMetadata};
use runmesh_core::{Identity, RunDoc, RunId};
use runmesh_relay::client::Connection;

use crate::memory_share::heavy_run;
use runmesh_testkit::relay::*;

/// The eighth attack's E21 and E22: one address opened all 5,000 change feeds and 3,192
/// idle sockets, and every other caller got 503. A caller holds at most
/// `--max-streams-per-caller` WebSockets and change feeds at once.
#[tokio::test]
async fn a_caller_holds_at_most_its_streams_and_gets_a_place_back_when_one_closes() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start_in(tmp.path(), "streams", |c| {
        c.max_streams_per_caller = 3;
    })
    .await;
    let run = heavy_run(&relay, None).await;
    let feed_url = relay.http(&format!("/api/crdt/runs/{run}/events"));
    let first = reqwest::get(&feed_url).await.unwrap();
    assert_eq!(first.status(), 200);
    let socket = session_open(&relay, run).await;
    let _second_socket = session_open(&relay, run).await;
    // A fourth: a feed, then a socket, are refused, naming the limit.
    let refused = reqwest::get(&feed_url).await.unwrap();
    assert_eq!(refused.status(), 503);
    let why = refused.text().await.unwrap();
    assert!(why.contains("--max-streams-per-caller"), "{why}");
    let upgrade = Connection::connect(
        &relay.ws(),
        PeerId::random("fourth"),
        PeerMetadata::default(),
    )
    .await;
    let why = format!("{:?}", upgrade.expect_err("the upgrade is refused"));
    assert!(why.contains("503"), "{why}");
    // One closes: a place comes back.
    socket.conn.close().await;
    eventually("a place freed", || async {
        let again = reqwest::get(&feed_url).await.ok()?;
        (again.status() == 200).then_some(())
    })
    .await;
    drop(first);
    relay.stop().await;
}

/// A socket syncing `run` in open mode.
async fn session_open(relay: &TestRelay, run: RunId) -> SyncClient {
    let genesis = RunDoc::genesis(run, Identity::random("eu", "u").unwrap());
    let mut client = SyncClient::connect(relay, genesis).await;
    client.open(false).await;
    client
}
