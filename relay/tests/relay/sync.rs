//! Clients syncing through a real relay over real WebSockets.

use runmesh_core::sync::WireMessage;
use runmesh_core::{Identity, RunDoc, StepSpec};
use runmesh_testkit::relay::*;

fn steps() -> Vec<StepSpec> {
    ["step1", "step2"]
        .iter()
        .map(|s| StepSpec::new(s).unwrap())
        .collect()
}

#[tokio::test]
async fn two_clients_converge_through_the_relay() {
    let relay = TestRelay::start("us-east-1").await;
    let created = RunDoc::create(
        run_id(),
        Identity::random("us-east-1", "alice").unwrap(),
        "Release",
        &steps(),
        1,
    )
    .unwrap();
    let mut alice = SyncClient::connect(&relay, created).await;
    alice.open(false).await;
    alice.wait_relay_has_all(&relay.base()).await;
    let mut bob = SyncClient::fresh(&relay, run_id(), "eu-central-1", "bob").await;
    bob.open(true).await;
    bob.wait_for("the run's steps", |s| s.steps.len() == 2)
        .await;

    bob.run.graft("step1", "PerformanceAgent", 2).unwrap();
    bob.push().await;
    alice.run.graft("step1", "SecurityAgent", 2).unwrap();
    alice.push().await;
    let took = alice.wait_for("both grafts", |s| s.grafts.len() == 2).await;
    bob.wait_for("both grafts", |s| s.grafts.len() == 2).await;
    println!("a graft crossed the relay in {took:?}");
    assert_eq!(alice.run.state(), bob.run.state());
    assert_eq!(
        names(&alice.run.state()),
        ["step1", "PerformanceAgent", "SecurityAgent", "step2"]
    );
    relay.stop().await;
}

#[tokio::test]
async fn a_request_for_an_unknown_run_gets_doc_unavailable_then_the_run_when_it_appears() {
    let relay = TestRelay::start("us-east-1").await;
    let mut bob = SyncClient::fresh(&relay, run_id(), "eu", "bob").await;
    bob.open(true).await;
    let reply = bob.next_other().await.unwrap();
    assert!(
        matches!(reply, WireMessage::DocUnavailable { .. }),
        "{reply:?}"
    );
    // Someone creates it over REST: the waiting client hears of it.
    let http = reqwest::Client::new();
    let resp = http
        .post(relay.http(&format!("/app/runs/{}/graft", run_id())))
        .body(r#"{"after":"step1","agentName":"SecurityAgent"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    bob.wait_for("the graft made over REST", |s| s.grafts.len() == 1)
        .await;
    relay.stop().await;
}

#[tokio::test]
async fn a_malformed_frame_closes_only_that_socket_with_an_error() {
    let relay = TestRelay::start("us-east-1").await;
    let created = RunDoc::create(
        run_id(),
        Identity::random("us", "alice").unwrap(),
        "T",
        &steps(),
        1,
    )
    .unwrap();
    let mut alice = SyncClient::connect(&relay, created).await;
    alice.open(false).await;
    alice.wait_relay_has_all(&relay.base()).await;
    let mut mallory = SyncClient::fresh(&relay, run_id(), "x", "mallory").await;
    mallory
        .conn
        .send_raw(b"\xa1\x64type\x64nope".to_vec())
        .await
        .unwrap();
    match mallory.conn.recv().await.unwrap() {
        Some(WireMessage::Error { message, .. }) => assert!(
            message.contains("not an automerge-repo message"),
            "{message}"
        ),
        other => panic!("expected an error message, got {other:?}"),
    }
    assert!(
        mallory.conn.recv().await.unwrap().is_none(),
        "the socket closes after the error"
    );
    // An oversized frame too.
    let mut big = SyncClient::fresh(&relay, run_id(), "x", "big").await;
    big.conn
        .send_raw(vec![0u8; 17 * 1024 * 1024])
        .await
        .unwrap();
    match big.conn.recv().await.unwrap() {
        Some(WireMessage::Error { message, .. }) => {
            assert!(message.contains("larger than the limit"), "{message}")
        }
        other => panic!("expected an error message, got {other:?}"),
    }
    // Everyone else is still served.
    let mut bob = SyncClient::fresh(&relay, run_id(), "eu", "bob").await;
    bob.open(true).await;
    bob.wait_for("the run", |s| s.steps.len() == 2).await;
    let metrics = relay.metrics().await;
    assert!(
        metrics.contains("runmesh_ws_malformed_frames_total{region=\"us-east-1\"} 2"),
        "{metrics}"
    );
    relay.stop().await;
}

#[tokio::test]
async fn a_join_with_another_protocol_version_is_refused() {
    let relay = TestRelay::start("us-east-1").await;
    let (mut ws, _) = tokio_tungstenite::connect_async(relay.ws()).await.unwrap();
    use futures_util::{SinkExt, StreamExt};
    let join = WireMessage::Join {
        sender_id: "c".into(),
        supported_protocol_versions: vec!["2".into()],
        peer_metadata: None,
    };
    ws.send(tokio_tungstenite::tungstenite::Message::Binary(
        join.encode().into(),
    ))
    .await
    .unwrap();
    let reply = ws.next().await.unwrap().unwrap().into_data();
    let WireMessage::Error { message, .. } = WireMessage::decode(&reply, 1 << 20).unwrap() else {
        panic!()
    };
    assert!(
        message.contains("unsupported protocol versions"),
        "{message}"
    );
    relay.stop().await;
}
