//! Slow clients (slowloris): a request head that does not arrive whole within
//! `--header-read-timeout-secs` closes the connection, on the plain and the TLS
//! listener, and a body that does not arrive whole within `--body-read-timeout-secs`
//! gets 408 naming the flag.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use tokio_rustls::TlsConnector;

use crate::raw;
use runmesh_testkit::relay::*;

const SHORT: Duration = Duration::from_secs(1);

async fn relay(tweak: impl FnOnce(&mut runmesh_relay::Config)) -> (TestRelay, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start_in(tmp.path(), "slow", tweak).await;
    (relay, tmp)
}

#[tokio::test]
async fn half_a_request_line_and_then_nothing_is_closed_after_the_header_timeout() {
    let (relay, _tmp) = relay(|c| c.header_read_timeout = SHORT).await;
    let mut slow = raw::connect(relay.addr).await;
    let started = Instant::now();
    raw::send(&mut slow, b"GET /health HT").await;
    let (_, closed) = raw::until_closed(&mut slow).await;
    assert!(closed - started >= SHORT - Duration::from_millis(100));
    // The relay is fine: a whole request is answered.
    let (status, _) = get(&relay.http("/health")).await;
    assert_eq!(status, 200);
    relay.stop().await;
}

#[tokio::test]
async fn a_connection_that_sends_nothing_or_idles_after_a_response_is_closed() {
    let (relay, _tmp) = relay(|c| c.header_read_timeout = SHORT).await;
    let mut silent = raw::connect(relay.addr).await;
    raw::until_closed(&mut silent).await;
    // Keep-alive: answered once, then idle.
    let mut idle = raw::connect(relay.addr).await;
    raw::send(
        &mut idle,
        b"GET /health/live HTTP/1.1\r\nHost: relay\r\n\r\n",
    )
    .await;
    let (answer, _) = raw::until_closed(&mut idle).await;
    assert_eq!(raw::status(&answer), Some(200), "{answer}");
    relay.stop().await;
}

#[tokio::test]
async fn a_body_that_trickles_gets_408_naming_the_flag_and_nothing_is_applied() {
    let (relay, _tmp) = relay(|c| c.body_read_timeout = SHORT).await;
    let run = runmesh_core::RunId::random();
    let mut slow = raw::connect(relay.addr).await;
    let head = format!(
        "POST /app/runs/{run}/graft HTTP/1.1\r\nHost: relay\r\nContent-Length: 100\r\n\r\n"
    );
    raw::send(&mut slow, head.as_bytes()).await;
    raw::send(&mut slow, br#"{"after":"#).await;
    let (answer, _) = raw::until_closed(&mut slow).await;
    assert_eq!(raw::status(&answer), Some(408), "{answer}");
    let body = raw::json(&answer);
    assert_eq!(body["error"], "timeout", "{answer}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("--body-read-timeout-secs"),
        "{answer}"
    );
    let (status, _) = get(&relay.http(&format!("/api/crdt/runs/{run}/state"))).await;
    assert_eq!(status, 404, "the graft was not applied");
    relay.stop().await;
}

fn key(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/keys")
        .join(name)
}

#[tokio::test]
async fn the_tls_listener_closes_a_slow_request_head_too() {
    let (relay, _tmp) = relay(|c| {
        c.header_read_timeout = SHORT;
        c.tls_cert = Some(key("tls-cert.pem"));
        c.tls_key = Some(key("tls-key.pem"));
    })
    .await;
    let config = runmesh_relay::tls::client_config(Some(&key("tls-ca.pem"))).unwrap();
    let connector = TlsConnector::from(Arc::clone(&config));
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let mut tls = connector
        .connect(name.clone(), raw::connect(relay.addr).await)
        .await
        .unwrap();
    raw::send(&mut tls, b"GET /health HTTP/1.1\r\nHo").await;
    raw::until_closed(&mut tls).await;
    // A whole request over TLS is answered.
    let mut whole = connector
        .connect(name, raw::connect(relay.addr).await)
        .await
        .unwrap();
    raw::send(&mut whole, &raw::get("/health/live")).await;
    let (answer, _) = raw::until_closed(&mut whole).await;
    assert_eq!(raw::status(&answer), Some(200), "{answer}");
    relay.stop().await;
}

/// The ninth attack's E25: a client that asks and never reads held its connection and
/// the answers for ever (1,700 unread GETs: 1.9 GB). A write that waits for the client
/// longer than `--write-stall-timeout-secs` closes the connection.
#[tokio::test]
async fn a_client_that_reads_nothing_is_closed_after_the_write_stall_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (relay, _tmp) = relay(|c| c.write_stall_timeout = SHORT).await;
    // A run of 400 KB that does not compress.
    let blob: String = (0..200_000u32)
        .map(|i| format!("{:02x}", (i.wrapping_mul(2_654_435_761) >> 13) as u8))
        .collect();
    let run = stored_blob(&relay, blob).await;
    // 100 pipelined GETs of it (40 MB of answers), and nothing read for a while.
    let mut stream = tokio::net::TcpStream::connect(relay.addr).await.unwrap();
    let get = format!("GET /api/crdt/runs/{run}/changes HTTP/1.1\r\nHost: x\r\n\r\n");
    stream.write_all(get.repeat(100).as_bytes()).await.unwrap();
    tokio::time::sleep(SHORT * 4).await;
    let mut read = 0usize;
    let mut buf = vec![0u8; 1 << 16];
    let closed = loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break true,
            Ok(Ok(n)) => read += n,
            Err(_) => break false,
        }
    };
    assert!(closed, "still open after {read} bytes");
    assert!(read < 30_000_000, "{read} bytes were answered");
    relay.stop().await;
}

/// The tenth attack's E29: a WebSocket client that asks for a big run, then neither
/// reads nor sends, kept its connection (and the frame queued for it) until the 90 s
/// idle timeout. The session ends at the write-stall timeout, whoever is silent.
#[tokio::test]
async fn a_websocket_client_that_reads_and_sends_nothing_is_closed_after_the_write_stall_timeout() {
    use automerge::AutoCommit;
    use runmesh_core::sync::{DocSync, PeerId, PeerMetadata};
    use runmesh_relay::client::Connection;
    let (relay, _tmp) = relay(|c| {
        c.write_stall_timeout = SHORT;
        c.max_sync_body_bytes = 64 << 20;
    })
    .await;
    // A run of 24 MB that does not compress: more than the socket buffers hold.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let blob: String = (0..12_000_000u32)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b"0123456789abcdef"[(x & 15) as usize])
        })
        .collect();
    let run = stored_blob(&relay, blob).await;

    let me = PeerId::random("silent");
    let mut conn = Connection::connect(&relay.ws(), me.clone(), PeerMetadata::default())
        .await
        .unwrap();
    let mut sync = DocSync::new(run.document_id(), me);
    let mut empty = AutoCommit::load(runmesh_core::GENESIS).unwrap();
    let opening = sync
        .add_peer(&mut empty, &conn.remote.peer.clone())
        .unwrap();
    conn.send(&opening).await.unwrap();
    // Silent well past the stall timeout, well inside the idle timeout.
    tokio::time::sleep(SHORT * 6).await;
    let closed = loop {
        match tokio::time::timeout(Duration::from_secs(10), conn.recv()).await {
            Ok(Ok(Some(_))) => continue,
            Ok(Ok(None)) | Ok(Err(_)) => break true,
            Err(_) => break false,
        }
    };
    assert!(closed, "the silent WebSocket is still open");
    relay.stop().await;
}

/// A run holding `blob` as text, stored over REST `/sync`.
async fn stored_blob(relay: &TestRelay, blob: String) -> runmesh_core::RunId {
    use base64::Engine;
    let run = runmesh_core::RunId::random();
    let identity = runmesh_core::Identity::random("eu", "u").unwrap();
    let mut doc = runmesh_core::RunDoc::create(run, identity, "T", &[], 1).unwrap();
    automerge::transaction::Transactable::put(doc.automerge_mut(), automerge::ROOT, "blob", blob)
        .unwrap();
    doc.automerge_mut().commit();
    let b64 = base64::engine::general_purpose::STANDARD.encode(doc.save());
    let url = relay.http(&format!("/api/crdt/runs/{run}/sync"));
    let (status, _) = post(&url, serde_json::json!({ "changes": b64 })).await;
    assert_eq!(status, 200);
    run
}
