//! Connection limits on a real relay: runs per connection, and the idle timeout that
//! closes a silent socket (the relay's 30 s pings keep live ones busy).

use std::time::{Duration, Instant};

use runmesh_core::sync::WireMessage;
use runmesh_core::{Identity, RunDoc, RunId};
use runmesh_testkit::relay::*;

#[tokio::test]
async fn a_connection_may_sync_only_so_many_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start_in(tmp.path(), "limits", |c| c.max_runs_per_connection = 2).await;
    let runs: Vec<RunId> = (0..3).map(|_| RunId::random()).collect();
    let who = Identity::random("eu", "u").unwrap();
    let mut client = SyncClient::connect(&relay, RunDoc::genesis(runs[0], who.clone())).await;
    // Two runs are fine (requests for runs it lacks: doc-unavailable, but attached)…
    for run in &runs[..2] {
        let mut probe = RunDoc::genesis(*run, who.clone());
        let mut sync = runmesh_core::sync::DocSync::new(run.document_id(), client.conn.me.clone());
        let opening = sync
            .add_peer(probe.automerge_mut(), &client.conn.remote.peer)
            .unwrap();
        client.conn.send(&opening.into_request()).await.unwrap();
        assert!(matches!(
            client.next_other().await,
            Some(WireMessage::DocUnavailable { .. })
        ));
    }
    // …the third is refused with an error that names the limit.
    let mut probe = RunDoc::genesis(runs[2], who);
    let mut sync = runmesh_core::sync::DocSync::new(runs[2].document_id(), client.conn.me.clone());
    let opening = sync
        .add_peer(probe.automerge_mut(), &client.conn.remote.peer)
        .unwrap();
    client.conn.send(&opening.into_request()).await.unwrap();
    match client.next_other().await {
        Some(WireMessage::Error { message, .. }) => {
            assert!(
                message.contains("already syncs 2 runs, the limit"),
                "{message}"
            )
        }
        other => panic!("expected an error, got {other:?}"),
    }
    relay.stop().await;
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_the_idle_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start_in(tmp.path(), "limits", |c| {
        c.idle_timeout = Duration::from_millis(500)
    })
    .await;
    let mut client = SyncClient::fresh(&relay, RunId::random(), "eu", "u").await;
    let started = Instant::now();
    // Send nothing; the relay closes the socket.
    let end = tokio::time::timeout(Duration::from_secs(10), client.conn.recv())
        .await
        .expect("the relay never closed the silent socket");
    assert!(matches!(end, Ok(None) | Err(_)), "{end:?}");
    assert!(started.elapsed() >= Duration::from_millis(450));
    relay.stop().await;
}

#[tokio::test]
async fn changes_past_the_document_size_limit_are_refused_over_the_socket() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start_in(tmp.path(), "limits", |c| c.max_document_bytes = 4096).await;
    let run = RunId::random();
    let mut big = RunDoc::genesis(run, Identity::random("eu", "u").unwrap());
    for _ in 0..60 {
        // Random names: Automerge compresses repetitive text far below its length.
        let name: String = (0..10)
            .map(|_| RunId::random().to_string()[..15].to_owned())
            .collect();
        big.graft("step1", &name, 1).unwrap();
    }
    let mut client = SyncClient::connect(&relay, big).await;
    client.open(false).await;
    match client.next_other().await {
        Some(WireMessage::Error { message, .. }) => {
            assert!(message.contains("--max-document-bytes"), "{message}")
        }
        other => panic!("expected an error, got {other:?}"),
    }
    let (_, heads) = get(&relay.http(&format!("/api/crdt/runs/{run}/heads"))).await;
    assert_eq!(
        heads["heads"],
        serde_json::json!([]),
        "nothing of the refused changes was applied"
    );
    relay.stop().await;
}
