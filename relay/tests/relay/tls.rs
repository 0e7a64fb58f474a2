//! TLS: a relay serving wss:// with --tls-cert/--tls-key, another relay dialling it as a
//! wss:// mesh peer trusting a private CA (--mesh-ca), and a client reading a run over wss.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use runmesh_core::sync::{DocSync, PeerId, PeerMetadata, WireMessage};
use runmesh_core::{Identity, RunDoc, RunId};
use runmesh_relay::client::Connection;
use runmesh_testkit::relay::*;

fn key(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/keys")
        .join(name)
}

#[tokio::test]
async fn a_run_crosses_a_wss_mesh_link_and_reaches_a_wss_client() {
    let a_dir = tempfile::tempdir().unwrap();
    let a = TestRelay::start_in(a_dir.path(), "eu", |c| {
        c.tls_cert = Some(key("tls-cert.pem"));
        c.tls_key = Some(key("tls-key.pem"));
    })
    .await;
    let wss = format!("wss://127.0.0.1:{}/ws", a.addr.port());
    let b_dir = tempfile::tempdir().unwrap();
    let b = TestRelay::start_in(b_dir.path(), "us", |c| {
        c.mesh_peers = vec![wss.clone()];
        c.mesh_ca = Some(key("tls-ca.pem"));
    })
    .await;

    let run = RunId::random();
    let (status, body) = post(
        &b.http(&format!("/app/runs/{run}/graft")),
        r#"{"after": "step1", "agentName": "OverTls"}"#,
    )
    .await;
    assert_eq!(status, 201, "{body}");

    // Plain ws:// to the TLS port fails; wss:// without the CA is refused.
    let me = PeerId::random("tls-client");
    let plain = format!("ws://127.0.0.1:{}/ws", a.addr.port());
    assert!(
        Connection::connect(&plain, me.clone(), PeerMetadata::default())
            .await
            .is_err()
    );
    let untrusted = Connection::connect(&wss, me.clone(), PeerMetadata::default()).await;
    assert!(untrusted.unwrap_err().to_string().contains("certificate"));

    let tls = runmesh_relay::tls::client_config(Some(&key("tls-ca.pem"))).unwrap();
    let mut conn =
        Connection::connect_with(&wss, me.clone(), PeerMetadata::default(), None, Some(tls))
            .await
            .unwrap();
    let relay = conn.remote.peer.clone();
    let mut replica = RunDoc::genesis(run, Identity::random("ap", "reader").unwrap());
    let mut sync = DocSync::new(run.document_id(), me);
    let deadline = Instant::now() + Duration::from_secs(10);
    // Ask until the run has crossed the mesh to A (a request before it arrives is answered
    // doc-unavailable once A's own mesh lookup fails).
    'outer: loop {
        assert!(Instant::now() < deadline, "the run never arrived over wss");
        sync.remove_peer(&relay);
        let opening = sync.add_peer(replica.automerge_mut(), &relay).unwrap();
        conn.send(&opening.into_request()).await.unwrap();
        loop {
            let message = tokio::time::timeout(Duration::from_secs(5), conn.recv())
                .await
                .expect("an answer")
                .unwrap()
                .unwrap();
            match message {
                WireMessage::Sync { data, .. } => {
                    if sync
                        .receive(
                            replica.automerge_mut(),
                            &relay,
                            runmesh_core::sync::decode_message(&data).expect("a sync message"),
                        )
                        .unwrap()
                    {
                        replica.refresh();
                    }
                    for (_, reply) in sync.flush(replica.automerge_mut()) {
                        conn.send(&reply).await.unwrap();
                    }
                    if names(&replica.state()).contains(&"OverTls".to_owned()) {
                        break 'outer;
                    }
                }
                WireMessage::DocUnavailable { .. } => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue 'outer;
                }
                _ => {}
            }
        }
    }
    b.stop().await;
    a.stop().await;
}
