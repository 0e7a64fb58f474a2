//! What one caller may hold in memory (issue 32, sixth attack, E09): a caller that kept
//! 16 full runs open on one socket held the relay's whole `--max-loaded-bytes`, and
//! everyone else's changes were refused until it left. Now each caller holds at most
//! its share (`--max-loaded-bytes-per-caller`); and when memory is full, runs nobody
//! holds open leave it at once instead of after `--idle-unload-secs`.

use std::time::{Duration, Instant};

use automerge::{ObjType, ROOT, transaction::Transactable};
use base64::Engine;
use runmesh_core::sync::{PeerId, PeerMetadata, WireMessage};
use runmesh_core::{Identity, RunDoc, RunId};
use runmesh_relay::client::Connection;
use serde_json::json;

use crate::jwt::{SECRET, every_run, now};
use runmesh_testkit::relay::*;

/// What a run made by [`heavy_run`] weighs at least: 5,000 ops at 256 bytes.
const HEAVY: usize = 1_280_000;

/// A relay requiring tokens, with these memory limits; and tokens for mallory and ada.
async fn limited(
    tmp: &std::path::Path,
    loaded: usize,
    share: usize,
) -> (TestRelay, String, String) {
    let relay = TestRelay::start_in(tmp, "share", |c| {
        c.auth.jwt_secret = Some(SECRET.into());
        c.max_document_bytes = 2_000_000;
        c.max_loaded_bytes = loaded;
        c.max_loaded_bytes_per_caller = share;
    })
    .await;
    let tokens = (
        every_run("mallory", now() + 600),
        every_run("ada", now() + 600),
    );
    (relay, tokens.0, tokens.1)
}

/// A run titled "T" holding 5,000 ops of text: about [`HEAVY`] bytes.
fn heavy_doc(run: RunId) -> RunDoc {
    let mut doc = RunDoc::create(run, Identity::random("eu", "u").unwrap(), "T", &[], 1).unwrap();
    add_notes(&mut doc);
    doc
}

/// Adds a text of 5,000 ops to `doc`, in one change.
fn add_notes(doc: &mut RunDoc) {
    let am = doc.automerge_mut();
    let notes = am.put_object(ROOT, "notes", ObjType::Text).unwrap();
    am.splice_text(&notes, 0, 0, &"n".repeat(5_000)).unwrap();
    am.commit();
}

/// A run of about [`HEAVY`] bytes, stored by `token`'s caller over REST.
pub(crate) async fn heavy_run(relay: &TestRelay, token: Option<&str>) -> RunId {
    let run = RunId::random();
    let changes = base64::engine::general_purpose::STANDARD.encode(heavy_doc(run).save());
    let mut request = reqwest::Client::new()
        .post(relay.http(&format!("/api/crdt/runs/{run}/sync")))
        .json(&json!({ "changes": changes }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let answer = request.send().await.unwrap();
    assert_eq!(answer.status(), 200, "{}", answer.text().await.unwrap());
    run
}

/// A session of `token`'s caller syncing `run` (offering only its genesis).
async fn session(relay: &TestRelay, token: &str, run: RunId) -> SyncClient {
    let genesis = RunDoc::genesis(run, Identity::random("eu", "u").unwrap());
    session_with(relay, token, genesis).await
}

/// A session of `token`'s caller offering `doc`.
async fn session_with(relay: &TestRelay, token: &str, doc: RunDoc) -> SyncClient {
    let conn = Connection::connect_with_token(
        &relay.ws(),
        PeerId::random("share"),
        PeerMetadata::default(),
        Some(token),
    )
    .await
    .unwrap();
    let mut client = SyncClient::from_connection(conn, doc);
    client.open(false).await;
    client
}

#[tokio::test]
async fn a_caller_past_its_share_may_open_no_more_runs_and_others_still_may() {
    let tmp = tempfile::tempdir().unwrap();
    let (relay, mallory, ada) = limited(tmp.path(), 8_000_000, 1_000_000).await;
    let heavy = heavy_run(&relay, Some(&mallory)).await;
    let mut held = session(&relay, &mallory, heavy).await;
    held.wait_for("the heavy run", |s| s.title == "T").await;

    // Past its share, the same caller may not open another run, on any connection.
    let mut more = session(&relay, &mallory, RunId::random()).await;
    let Some(WireMessage::Error { message, .. }) = more.next_other().await else {
        panic!("the second run was opened");
    };
    assert!(
        message.contains("--max-loaded-bytes-per-caller") && message.contains("mallory"),
        "{message}"
    );

    // Another caller may open the same run, and others.
    let bob = every_run("bob", now() + 600);
    let mut reader = session(&relay, &bob, heavy).await;
    reader.wait_for("the heavy run", |s| s.title == "T").await;
    let fresh = RunId::random();
    let doc = RunDoc::create(fresh, Identity::random("eu", "ada").unwrap(), "A", &[], 1).unwrap();
    let mut writer = session_with(&relay, &ada, doc).await;
    writer
        .run
        .set_flag("k", runmesh_core::FlagValue::Int(1), 1)
        .expect("a flag");
    writer.push().await;
    let state_url = relay.http(&format!("/api/crdt/runs/{fresh}/state"));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        writer.pump(Duration::from_millis(50)).await;
        let state: serde_json::Value = reqwest::Client::new()
            .get(&state_url)
            .bearer_auth(&ada)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap_or_default();
        if state["flags"]["k"] == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "ada's flag was not stored: {state}"
        );
    }

    // A change feed holds its run as a socket does: refused to the caller past its share.
    let feed = reqwest::Client::new()
        .get(relay.http(&format!("/api/crdt/runs/{fresh}/events")))
        .bearer_auth(&mallory)
        .send()
        .await
        .unwrap();
    assert_eq!(feed.status(), 503);
    let why = feed.text().await.unwrap();
    assert!(why.contains("--max-loaded-bytes-per-caller"), "{why}");

    // Once it lets go of the run, it may open others again.
    held.conn.close().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut again = session(&relay, &mallory, RunId::random()).await;
        let answer = tokio::time::timeout(Duration::from_millis(500), again.next_other()).await;
        match answer {
            Err(_) => break, // nothing but sync: the run is open
            Ok(other) => assert!(Instant::now() < deadline, "still refused: {other:?}"),
        }
    }
    relay.stop().await;
}

#[tokio::test]
async fn when_memory_is_full_runs_nobody_holds_leave_it() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start_in(tmp.path(), "shed", |c| {
        c.max_document_bytes = 2_000_000;
        c.max_loaded_bytes = 3 * HEAVY;
        c.idle_unload = Duration::from_secs(600);
    })
    .await;
    // Two runs stay in memory after their writes (for ten minutes, unless shed).
    heavy_run(&relay, None).await;
    heavy_run(&relay, None).await;
    // A third does not fit beside them... (its load or its change is refused: 503)
    let run = RunId::random();
    let saved = heavy_doc(run).save();
    let body = json!({ "changes": base64::engine::general_purpose::STANDARD.encode(saved) });
    let url = relay.http(&format!("/api/crdt/runs/{run}/sync"));
    let (status, answer) = post(&url, &body).await;
    assert_eq!(status, 503, "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("--max-loaded-bytes"),
        "{answer}"
    );
    // ...but the idle runs leave memory, and trying again soon succeeds.
    eventually("the third run stored", || async {
        (post(&url, &body).await.0 == 200).then_some(())
    })
    .await;
    let metrics = relay.metrics().await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("runmesh_runs_shed_total") && !l.ends_with(" 0")),
        "{metrics}"
    );
    relay.stop().await;
}

/// The sixth attack's E13: a socket's `request` for a run nobody made answered
/// `doc-unavailable` but kept the run in memory for 30 s, weighing nothing: 25 MB of
/// such requests took a relay past 2.4 GB. Now such a run weighs at least
/// `MIN_RUN_WEIGHT` (so the memory budget and the caller's share bound them) and leaves
/// memory soon after nobody asks for it.
#[tokio::test]
async fn requests_for_runs_nobody_made_are_weighed_and_leave_memory_soon() {
    use runmesh_core::hub::MIN_RUN_WEIGHT;
    use runmesh_core::sync::DocSync;

    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start_in(tmp.path(), "absent", |c| {
        c.max_loaded_bytes = 100 * MIN_RUN_WEIGHT;
        c.max_loaded_bytes_per_caller = 100 * MIN_RUN_WEIGHT;
    })
    .await;
    let me = PeerId::random("asker");
    let mut conn = Connection::connect(&relay.ws(), me.clone(), PeerMetadata::default())
        .await
        .unwrap();
    let relay_peer = conn.remote.peer.clone();
    for _ in 0..300 {
        let run = RunId::random();
        let mut doc = RunDoc::genesis(run, Identity::random("eu", "u").unwrap());
        let mut sync = DocSync::new(run.document_id(), me.clone());
        let message = sync
            .add_peer(doc.automerge_mut(), &relay_peer)
            .expect("a first message")
            .into_request();
        if conn.send(&message).await.is_err() {
            break; // refused past the share: the socket is closed
        }
    }
    // Answered (unavailable, or refused past the budget): never more in memory than
    // the budget holds.
    let mut answers = 0;
    while let Ok(Ok(Some(_))) = tokio::time::timeout(Duration::from_millis(500), conn.recv()).await
    {
        answers += 1;
        assert!(loaded_runs(&relay).await <= 101.0, "past the budget");
    }
    assert!(answers > 0, "the relay answered");
    conn.close().await;
    eventually("the made-up runs leaving memory", || async {
        (relay.runs_loaded().await == 0).then_some(())
    })
    .await;
    relay.stop().await;
}

/// The seventh attack's E10 and E11: runs grow after they are opened (by the caller's
/// own changes sent before the first was weighed, over REST, or by others), and a
/// caller that opened small runs ended up holding four times its share. A caller found
/// past its share has its heaviest sockets closed, told why; and it may not grow runs
/// over REST while past it.
#[tokio::test]
async fn a_caller_whose_runs_grow_past_its_share_is_closed_and_told_why() {
    let tmp = tempfile::tempdir().unwrap();
    let (relay, mallory, ada) = limited(tmp.path(), 16_000_000, 2_000_000).await;
    // Two small runs, held open by one socket of mallory's.
    let runs: Vec<RunId> = (0..2).map(|_| RunId::random()).collect();
    for run in &runs {
        let mut doc =
            RunDoc::create(*run, Identity::random("eu", "m").unwrap(), "S", &[], 1).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(doc.save());
        let answer = reqwest::Client::new()
            .post(relay.http(&format!("/api/crdt/runs/{run}/sync")))
            .bearer_auth(&ada)
            .json(&json!({ "changes": b64 }))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
    }
    let mut client = session(&relay, &mallory, runs[0]).await;
    client.wait_for("the first run", |s| s.title == "S").await;
    // The second run, on the same socket.
    let mut second = RunDoc::genesis(runs[1], Identity::random("eu", "m").unwrap());
    let mut sync = runmesh_core::sync::DocSync::new(runs[1].document_id(), client.conn.me.clone());
    let relay_peer = client.conn.remote.peer.clone();
    let open = sync.add_peer(second.automerge_mut(), &relay_peer).unwrap();
    client.conn.send(&open).await.unwrap();
    // Held once the relay answers for it.
    let second_doc = runs[1].document_id();
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), client.conn.recv())
            .await
            .expect("an answer for the second run")
            .unwrap()
            .expect("open");
        if matches!(&message, WireMessage::Sync { document_id, .. } if *document_id == second_doc) {
            break;
        }
    }

    // Ada grows both runs: 2.56 MB held by mallory, past its 2 MB share.
    for run in &runs {
        let (why, status) = grow(&relay, *run, &ada).await;
        assert_eq!(status, 200, "{why}");
    }
    // Mallory may not grow them itself now...
    let (why, status) = grow(&relay, runs[0], &mallory).await;
    assert_eq!(status, 503, "{why}");
    assert!(why.contains("--max-loaded-bytes-per-caller"), "{why}");
    // ...and its socket is closed, saying why.
    let deadline = Instant::now() + Duration::from_secs(10);
    let told = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, client.conn.recv()).await {
            Ok(Ok(Some(WireMessage::Error { message, .. }))) => break message,
            Ok(Ok(Some(_))) => continue,
            other => panic!("closed without saying why: {other:?}"),
        }
    };
    assert!(
        told.contains("--max-loaded-bytes-per-caller") && told.contains("mallory"),
        "{told}"
    );
    relay.stop().await;
}

/// Adds a 5,000-op change to `run` as `token`'s caller: the answer's text and status.
async fn grow(relay: &TestRelay, run: RunId, token: &str) -> (String, u16) {
    let url = relay.http(&format!("/api/crdt/runs/{run}/changes"));
    let saved = reqwest::Client::new()
        .get(&url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let mut doc = RunDoc::load(run, Identity::random("eu", "g").unwrap(), &saved).unwrap();
    let before = doc.heads();
    add_notes(&mut doc);
    let change = doc.automerge_mut().get_changes(&before)[0]
        .raw_bytes()
        .to_vec();
    let b64 = base64::engine::general_purpose::STANDARD.encode(change);
    let answer = reqwest::Client::new()
        .post(relay.http(&format!("/api/crdt/runs/{run}/sync")))
        .bearer_auth(token)
        .json(&json!({ "changes": b64 }))
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    (answer.text().await.unwrap(), status)
}

/// Runs loaded in memory (`runmesh_runs_loaded`; tasks waiting for their turn to load
/// are not counted).
async fn loaded_runs(relay: &TestRelay) -> f64 {
    let metrics = relay.metrics().await;
    metrics
        .lines()
        .find(|l| l.starts_with("runmesh_runs_loaded{"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}
