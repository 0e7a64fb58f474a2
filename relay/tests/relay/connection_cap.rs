//! The connection cap (`--max-connections`): over it, a few connections are answered
//! for health probes only (503 naming the cap otherwise), the oldest of them closed to
//! make room for a newer one; a WebSocket holds its slot until it closes; a cap over the open-file limit is lowered
//! at start-up, with a warning that names the numbers.

use std::io::{Read, Write};

use runmesh_core::sync::{PeerId, PeerMetadata};
use runmesh_relay::client::Connection;
use tokio::net::TcpStream;

use crate::RELAY;
use crate::raw;
use runmesh_testkit::relay::*;

/// Connections over the cap the relay still reads for a probe (`serve::PROBE_SLOTS`).
const PROBE_SLOTS: usize = 32;

async fn capped(max: usize) -> (TestRelay, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start_in(tmp.path(), "cap", |c| c.max_connections = max).await;
    (relay, tmp)
}

/// Opens connections that say nothing; each holds a slot (until the header timeout).
async fn silent(relay: &TestRelay, n: usize) -> Vec<TcpStream> {
    let mut held = Vec::with_capacity(n);
    for _ in 0..n {
        held.push(raw::connect(relay.addr).await);
    }
    held
}

/// Asks `path` on a new connection; the raw answer (empty if closed without one).
async fn ask(relay: &TestRelay, path: &str) -> String {
    let mut stream = raw::connect(relay.addr).await;
    // A refused connection may be reset before or while the request is written.
    let _ = tokio::io::AsyncWriteExt::write_all(&mut stream, &raw::get(path)).await;
    raw::until_closed(&mut stream).await.0
}

#[tokio::test]
async fn over_the_cap_only_health_probes_are_answered_and_the_oldest_probe_makes_room() {
    let (relay, _tmp) = capped(3).await;
    let held = silent(&relay, 3).await;
    // The fourth connection: health probes are answered, anything else gets 503.
    let answer = eventually("the cap to be reached", || async {
        let answer = ask(&relay, "/api/crdt/runs").await;
        (raw::status(&answer) == Some(503)).then_some(answer)
    })
    .await;
    let body = raw::json(&answer);
    assert_eq!(body["error"], "unavailable", "{answer}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("limit of 3 connections (--max-connections)"),
        "{message}"
    );
    let probe = ask(&relay, "/health").await;
    assert_eq!(raw::status(&probe), Some(200), "{probe}");
    // The probes' room full of silent sockets: a probe still gets in (the oldest of
    // them is closed to make room) and is answered.
    let mut probes = silent(&relay, PROBE_SLOTS).await;
    let probe = ask(&relay, "/health").await;
    assert_eq!(raw::status(&probe), Some(200), "{probe}");
    let (said, _) = raw::until_closed(&mut probes[0]).await;
    assert!(said.is_empty(), "closed without an answer: {said}");
    // Freed slots serve in full again.
    drop((held, probes));
    eventually("a slot to be free again", || async {
        let answer = ask(&relay, "/api/crdt/runs").await;
        (raw::status(&answer) == Some(200)).then_some(())
    })
    .await;
    relay.stop().await;
}

#[tokio::test]
async fn a_websocket_holds_its_slot_until_it_closes() {
    let (relay, _tmp) = capped(1).await;
    let socket = Connection::connect(&relay.ws(), PeerId::random("cap"), PeerMetadata::default())
        .await
        .unwrap();
    let answer = ask(&relay, "/api/crdt/runs").await;
    assert_eq!(raw::status(&answer), Some(503), "{answer}");
    socket.close().await;
    eventually("the socket's slot to be free", || async {
        let answer = ask(&relay, "/api/crdt/runs").await;
        (raw::status(&answer) == Some(200)).then_some(())
    })
    .await;
    relay.stop().await;
}

#[test]
fn a_cap_over_the_open_file_limit_is_lowered_with_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    // 512 files: 256 kept for the relay's own, 32 for probes, 224 for connections.
    let mut relay = RELAY.spawn_wrapped(
        &["prlimit", "--nofile=512:512", "--"],
        tmp.path(),
        &["--max-connections", "4096"],
        std::process::Stdio::piped(),
        "warn",
    );
    let addr = relay.base.trim_start_matches("http://").to_owned();
    let mut probe = std::net::TcpStream::connect(&addr).unwrap();
    probe.write_all(&raw::get("/health")).unwrap();
    let mut answer = String::new();
    probe.read_to_string(&mut answer).unwrap();
    assert_eq!(raw::status(&answer), Some(200), "{answer}");
    let _ = relay.child.kill();
    let mut out = String::new();
    let mut stderr = relay.child.stderr.take().unwrap();
    stderr.read_to_string(&mut out).unwrap();
    assert!(
        out.contains(
            "--max-connections 4096 needs 4384 open files but the limit (RLIMIT_NOFILE) is 512: serving at most 224 connections"
        ),
        "{out}"
    );
}
