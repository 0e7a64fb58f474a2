//! Hostile Automerge bytes at every way into a real relay (issue 32, item 1): the
//! 141 bytes that made Automerge allocate until the kernel killed the relay, through
//! `POST …/sync`, inside a client's sync message and a mesh peer's, and a sync message
//! whose Bloom filter asks for 2^32-1 probes (16 GiB of probes per hash tested).
//!
//! Each test runs the real relay binary under an address-space cap (`prlimit --as`), so
//! a return of the bug kills the capped relay (the test then fails on a dead relay)
//! instead of the machine. The check itself lives in core (`core/src/bounds`).

use std::path::Path;
use std::time::{Duration, Instant};

use runmesh_core::sync::{PeerId, PeerMetadata, WireMessage};
use runmesh_core::{Identity, RunDoc, RunId};
use runmesh_relay::client::Connection;
use serde_json::json;

use crate::RELAY;
use runmesh_testkit::child::ChildRelay;
use runmesh_testkit::relay::*;

/// The address space the relay may use: a healthy relay (mimalloc, a few threads) runs
/// well inside it; Automerge sizing a buffer from the hostile bytes does not.
const CAP_BYTES: u64 = 3 << 30;
/// Mesh peers present it; the relay is otherwise open (no JWT keys).
const MESH_TOKEN: &str = "hostile-bytes-mesh-token";

/// The fuzzer's input that made Automerge allocate without bound (an Automerge bundle
/// chunk, 141 bytes).
fn critical() -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../core/fuzz/regressions/doc_load/crash-f4c8f5c2f530b7e8dd07b4d0cf272ec817a34554");
    std::fs::read(path).unwrap()
}

fn uleb(out: &mut Vec<u8>, v: u64) {
    out.extend(runmesh_testkit::chunks::leb(v));
}

/// An Automerge sync message (v1) with no heads or needs, the Bloom filter `bloom` in one
/// "have" (no last-sync heads: the receiver tests every change it holds against it), and
/// `changes`.
fn sync_message(bloom: Option<&[u8]>, changes: &[&[u8]]) -> Vec<u8> {
    let mut out = vec![0x42, 0, 0];
    match bloom {
        Some(bloom) => {
            out.extend([1, 0]);
            uleb(&mut out, bloom.len() as u64);
            out.extend(bloom);
        }
        None => out.push(0),
    }
    uleb(&mut out, changes.len() as u64);
    for change in changes {
        uleb(&mut out, change.len() as u64);
        out.extend(*change);
    }
    out
}

/// A Bloom filter of one entry, ten bits per entry (two bytes of bits), and 2^32-1 probes.
fn four_billion_probes() -> Vec<u8> {
    let mut bloom = vec![1, 10];
    uleb(&mut bloom, u64::from(u32::MAX));
    bloom.extend([0xff, 0xff]);
    bloom
}

/// The real relay under [`CAP_BYTES`], holding one run (two steps), its log in a file
/// that says why it died, if it does.
struct Capped {
    relay: ChildRelay,
    run: RunId,
    log: tempfile::NamedTempFile,
    _dir: tempfile::TempDir,
}

impl Capped {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let log = tempfile::NamedTempFile::new().unwrap();
        let stderr = std::process::Stdio::from(log.reopen().unwrap());
        let relay =
            RELAY.spawn_capped(dir.path(), &["--mesh-token", MESH_TOKEN], CAP_BYTES, stderr);
        let run = RunId::random();
        let body = json!({ "runId": run, "title": "Release", "steps": ["step1", "step2"] });
        let (status, created) = post(&format!("{}/api/crdt/runs", relay.base), body).await;
        assert_eq!(
            status, 201,
            "the capped relay could not create a run: {created}"
        );
        Self {
            relay,
            run,
            log,
            _dir: dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.relay.base)
    }

    /// Panics if the relay process ended, with how and the end of its log.
    fn assert_running(&mut self, when: &str) {
        if let Some(status) = self.relay.child.try_wait().unwrap() {
            // The log's own lines, not a backtrace's frames.
            let log = std::fs::read_to_string(self.log.path()).unwrap_or_default();
            let mut said: Vec<&str> = log
                .lines()
                .filter(|l| !l.starts_with(' ') && !l.is_empty())
                .rev()
                .take(3)
                .collect();
            said.reverse();
            panic!("the relay died {when} ({status}); its log ends: {said:?}");
        }
    }

    /// A request failed: if the relay is dying, panics saying so (a relay that aborts
    /// closes its sockets a moment before it is gone).
    async fn failed(&mut self, when: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && self.relay.child.try_wait().unwrap().is_none() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.assert_running(when);
    }

    /// The relay process still runs, answers `/health`, and reads the run.
    async fn assert_alive(&mut self) {
        let health = reqwest::get(self.url("/health")).await;
        if health.is_err() {
            self.failed("after the attack").await;
        }
        assert_eq!(health.unwrap().status(), 200);
        let (status, state) = get(&self.url(&format!("/api/crdt/runs/{}/state", self.run))).await;
        assert_eq!(
            (status, state["title"].as_str()),
            (200, Some("Release")),
            "{state}"
        );
    }

    /// Sends `data` as a sync message for the run over a new connection (as a mesh peer
    /// if `mesh`), and returns the message of the relay's `error` frame.
    async fn send_sync(&mut self, mesh: bool, data: Vec<u8>) -> String {
        match send_sync(&self.relay, self.run, mesh, data).await {
            Ok(message) => message,
            Err(what) => {
                self.failed("while answering the sync message").await;
                panic!("{what}")
            }
        }
    }
}

/// Sends `data` as a sync message for `run` over a new connection (as a mesh peer if
/// `mesh`), and returns the message of the relay's `error` frame, or what came instead.
async fn send_sync(
    relay: &ChildRelay,
    run: RunId,
    mesh: bool,
    data: Vec<u8>,
) -> Result<String, &'static str> {
    send_message(relay, mesh, |me, relay| WireMessage::Sync {
        document_id: run.document_id(),
        sender_id: me,
        target_id: relay,
        data,
    })
    .await
}

/// Sends the message `make` makes (from this peer to the relay's) over a new connection,
/// as [`send_sync`] does.
async fn send_message(
    relay: &ChildRelay,
    mesh: bool,
    make: impl FnOnce(PeerId, PeerId) -> WireMessage,
) -> Result<String, &'static str> {
    let me = PeerId::random("hostile");
    let (metadata, token) = if mesh {
        let metadata = PeerMetadata {
            region: Some("hostile".into()),
            ..PeerMetadata::default()
        };
        (metadata, Some(MESH_TOKEN))
    } else {
        (PeerMetadata::default(), None)
    };
    let mut conn = Connection::connect_with_token(&relay.ws(), me.clone(), metadata, token)
        .await
        .unwrap();
    let message = make(me, conn.remote.peer.clone());
    conn.send(&message).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(frame) = tokio::time::timeout(left, conn.recv()).await else {
            return Err("no error frame within 10 s");
        };
        match frame {
            Ok(Some(WireMessage::Error { message, .. })) => return Ok(message),
            // A mesh peer is sent digests and the like first.
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => return Err("the relay closed the socket without an error frame"),
        }
    }
}

#[tokio::test]
async fn rest_sync_of_the_critical_bytes_is_refused_and_the_relay_lives() {
    use base64::Engine;
    let mut relay = Capped::start().await;
    let body = json!({ "changes": base64::engine::general_purpose::STANDARD.encode(critical()) });
    let url = relay.url(&format!("/api/crdt/runs/{}/sync", relay.run));
    let sent = reqwest::Client::new()
        .post(&url)
        .body(body.to_string())
        .send()
        .await;
    if sent.is_err() {
        relay.failed("while answering /sync").await;
    }
    let reply = sent.unwrap();
    assert_eq!(reply.status(), 400);
    let reply: serde_json::Value = reply.json().await.unwrap();
    let message = reply["message"].as_str().unwrap();
    assert!(
        message.contains("refused document bytes (141 bytes)") && message.contains("bundle"),
        "{message}"
    );
    relay.assert_alive().await;
    // Nothing of it was stored: the run is as created.
    let (_, state) = get(&relay.url(&format!("/api/crdt/runs/{}/state", relay.run))).await;
    assert_eq!(state["grafts"], json!([]), "{state}");
}

#[tokio::test]
async fn a_client_sync_message_carrying_the_critical_bytes_gets_an_error_frame() {
    let mut relay = Capped::start().await;
    // An honest client follows the run throughout.
    let who = Identity::random("us-east-1", "alice").unwrap();
    let mut alice =
        SyncClient::connect_url(&relay.relay.ws(), RunDoc::genesis(relay.run, who)).await;
    alice.open(true).await;
    alice
        .wait_for("the run's steps", |s| s.steps.len() == 2)
        .await;

    let critical = critical();
    let refusal = relay
        .send_sync(false, sync_message(None, &[&critical]))
        .await;
    assert!(
        refusal.contains("sync message refused before decoding") && refusal.contains("bundle"),
        "{refusal}"
    );
    relay.assert_alive().await;

    // The honest client still syncs: a graft made over REST after the attack reaches it.
    let (status, body) = post(
        &relay.url(&format!("/app/runs/{}/graft", relay.run)),
        r#"{"after": "step1", "agentName": "AfterTheAttack"}"#,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    alice
        .wait_for("the graft made after the attack", |s| {
            names(s).contains(&"AfterTheAttack".to_owned())
        })
        .await;
}

#[tokio::test]
async fn a_bloom_filter_of_four_billion_probes_gets_an_error_frame() {
    let mut relay = Capped::start().await;
    let refusal = relay
        .send_sync(false, sync_message(Some(&four_billion_probes()), &[]))
        .await;
    assert!(
        refusal.contains("bloom filter probes 4294967295 is out of range"),
        "{refusal}"
    );
    relay.assert_alive().await;
}

#[tokio::test]
async fn a_mesh_peer_sending_hostile_sync_messages_gets_error_frames() {
    let mut relay = Capped::start().await;
    let critical = critical();
    let refusal = relay
        .send_sync(true, sync_message(None, &[&critical]))
        .await;
    assert!(
        refusal.contains("sync message refused before decoding") && refusal.contains("bundle"),
        "{refusal}"
    );
    relay.assert_alive().await;
    let refusal = relay
        .send_sync(true, sync_message(Some(&four_billion_probes()), &[]))
        .await;
    assert!(refusal.contains("bloom filter probes"), "{refusal}");
    relay.assert_alive().await;
}

/// The eleventh attack's E32: a 23-byte digest range asking for every run, repeated in
/// one frame, made the relay build a reply listing every run for each copy (3.3 GB: dead
/// in 9 s). A relay sends each part of the tree once: the frame is refused by name.
#[tokio::test]
async fn a_digest_that_names_one_range_many_times_is_refused_and_the_relay_lives() {
    use runmesh_core::digest::{Body, DigestMessage, Range};
    let mut relay = Capped::start().await;
    let all = Range {
        prefix: Vec::new(),
        body: Body::Items {
            items: Vec::new(),
            reply: true,
        },
    };
    let data = DigestMessage {
        ranges: vec![all; 20_000],
    }
    .encode();
    let answer = send_message(&relay.relay, true, |me, to| WireMessage::Digest {
        sender_id: me,
        target_id: to,
        data,
    })
    .await;
    if answer.is_err() {
        relay.failed("while answering the digest").await;
    }
    let message = answer.unwrap();
    assert!(message.contains("overlap"), "{message}");
    relay.assert_alive().await;
}
