//! Request body limits per route: the small JSON routes take `--max-json-body-bytes`
//! (64 KiB by default), `POST …/sync` takes `--max-sync-body-bytes`; over the limit,
//! 413 with a JSON error naming it, and nothing applied.

use base64::Engine;
use runmesh_core::{Identity, RunDoc, RunId};

use crate::raw;
use runmesh_testkit::relay::*;

const KIB: usize = 1024;

fn assert_too_large(status: u16, body: &serde_json::Value, limit: usize, flag: &str) {
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"], "too_large", "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("larger than {limit} bytes")) && message.contains(flag),
        "{message}"
    );
}

/// The answer to a POST whose head declares `len` bytes of body, none of them sent: a
/// refusal must come from the head alone (writing a body the relay will not read could
/// end in a reset that hides its answer).
async fn declared(relay: &TestRelay, path: &str, len: usize) -> String {
    let mut stream = raw::connect(relay.addr).await;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: relay\r\nConnection: close\r\nContent-Length: {len}\r\n\r\n"
    );
    raw::send(&mut stream, head.as_bytes()).await;
    raw::until_closed(&mut stream).await.0
}

#[tokio::test]
async fn a_100_kib_graft_body_gets_413_naming_the_limit_while_sync_takes_1_mib() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start_in(tmp.path(), "body", |c| {
        c.max_sync_body_bytes = 2 * KIB * KIB;
    })
    .await;
    let run = RunId::random();
    // Refused from the declared length, before the relay reads the body.
    let answer = declared(&relay, &format!("/app/runs/{run}/graft"), 100 * KIB).await;
    assert_too_large(
        raw::status(&answer).unwrap_or(0),
        &raw::json(&answer),
        64 * KIB,
        "--max-json-body-bytes",
    );
    let (status, _) = get(&relay.http(&format!("/api/crdt/runs/{run}/state"))).await;
    assert_eq!(status, 404, "nothing was applied");

    // 1 MiB to /sync: a small run padded with JSON whitespace.
    let mut doc = RunDoc::create(run, Identity::random("eu", "u").unwrap(), "big", &[], 0).unwrap();
    let changes = base64::engine::general_purpose::STANDARD.encode(doc.save());
    let padded = |size: usize| {
        let head = format!(r#"{{"changes": "{changes}""#);
        format!("{head}{}}}", " ".repeat(size - head.len() - 1))
    };
    let (status, body) = post(
        &relay.http(&format!("/api/crdt/runs/{run}/sync")),
        padded(KIB * KIB),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // Past its own limit, /sync is refused the same way.
    let answer = declared(&relay, &format!("/api/crdt/runs/{run}/sync"), 3 * KIB * KIB).await;
    assert_too_large(
        raw::status(&answer).unwrap_or(0),
        &raw::json(&answer),
        2 * KIB * KIB,
        "--max-sync-body-bytes",
    );
    relay.stop().await;
}

#[tokio::test]
async fn a_chunked_body_without_a_length_is_cut_off_at_the_limit_too() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start_in(tmp.path(), "body", |c| c.max_json_body_bytes = 4 * KIB).await;
    let run = RunId::random();
    // Fork reads its (optional) body raw; it is under the JSON limit as well.
    let mut stream = raw::connect(relay.addr).await;
    let head = format!(
        "POST /api/crdt/runs/{run}/fork HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\
         Transfer-Encoding: chunked\r\n\r\n"
    );
    raw::send(&mut stream, head.as_bytes()).await;
    // One chunk of 6 KiB, declared in its chunk header only.
    let chunk = format!("{:x}\r\n{}", 6 * KIB, " ".repeat(6 * KIB));
    raw::send(&mut stream, chunk.as_bytes()).await;
    let (answer, _) = raw::until_closed(&mut stream).await;
    assert_eq!(raw::status(&answer), Some(413), "{answer}");
    assert_too_large(413, &raw::json(&answer), 4 * KIB, "--max-json-body-bytes");
    relay.stop().await;
}
