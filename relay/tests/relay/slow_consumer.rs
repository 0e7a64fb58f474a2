//! A client that stops reading does not grow the relay's memory while another floods the
//! run with presence: what a client may send is bounded (64 KiB a message, 256 KiB a
//! second; more is dropped), and presence that a reader's queue cannot take is dropped,
//! not queued, and does not cut the reader off. (A reader whose queue of sync messages
//! fills is cut off: `memory_share.rs`.) Checked on the real relay binary, whose
//! resident memory is read from /proc, while another client sends 64 MiB of presence.

use std::time::{Duration, Instant};

use crate::RELAY;
use automerge::AutoCommit;
use runmesh_core::sync::{DocSync, PeerId, PeerMetadata, WireMessage};
use runmesh_core::{GENESIS, RunId};
use runmesh_relay::client::Connection;

/// Joins and attaches to `run` (a request from an empty replica).
async fn attach(ws: &str, run: RunId, name: &str) -> Connection {
    let me = PeerId::random(name);
    let mut conn = Connection::connect(ws, me.clone(), PeerMetadata::default())
        .await
        .unwrap();
    let relay = conn.remote.peer.clone();
    let mut sync = DocSync::new(run.document_id(), me);
    let mut doc = AutoCommit::load(GENESIS).unwrap();
    let opening = sync.add_peer(&mut doc, &relay).unwrap();
    conn.send(&opening).await.unwrap();
    conn
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_flooded_at_a_slow_consumer_is_dropped_and_the_relay_s_memory_stays_bounded() {
    let tmp = tempfile::tempdir().unwrap();
    let mut relay = RELAY.spawn(tmp.path(), &["--peer-queue-frames", "8"]);
    let (http, ws) = (relay.base.clone(), relay.ws());
    let run = RunId::random();
    graft(&http, run, None).await;

    let slow = attach(&ws, run, "slow").await; // never reads again
    let mut fast = attach(&ws, run, "fast").await;
    // Let both attach before the flood.
    let _ = tokio::time::timeout(Duration::from_millis(300), fast.recv()).await;
    let start = relay.rss_mib();
    const FRAME: usize = runmesh_core::node::MAX_PRESENCE_BYTES;
    const FRAMES: u64 = 1024;
    let mut peak: f64 = start;
    let deadline = Instant::now() + Duration::from_secs(60);
    for count in 0..FRAMES {
        let message = WireMessage::Ephemeral {
            sender_id: PeerId::from("fast"),
            target_id: PeerId::from("relay"),
            count,
            session_id: "flood".into(),
            document_id: run.document_id(),
            data: vec![(count % 251) as u8; FRAME],
        };
        fast.send(&message).await.unwrap();
        if count % 16 == 0 {
            peak = peak.max(relay.rss_mib());
        }
        assert!(Instant::now() < deadline, "the flood took too long");
    }
    // Give the relay a moment to handle what is in flight, sampling all the while.
    let settle = Instant::now() + Duration::from_millis(500);
    while Instant::now() < settle {
        peak = peak.max(relay.rss_mib());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let sent_mib = (FRAMES as usize * FRAME) as f64 / (1024.0 * 1024.0);
    println!(
        "relay RSS {start:.1} MiB before, peak {peak:.1} MiB while {sent_mib:.0} MiB went to a consumer that never reads"
    );
    assert!(
        peak - start < 96.0,
        "relay memory grew by {:.1} MiB while pushing {sent_mib:.0} MiB to a stalled consumer",
        peak - start
    );
    // The stalled consumer is still there, and most of the flood was dropped.
    let mut slow = slow;
    let mut frames = 0;
    let ended = tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            match slow.recv().await {
                Ok(Some(_)) => frames += 1,
                _ => return,
            }
        }
    })
    .await;
    assert!(
        ended.is_err(),
        "the slow consumer was disconnected for presence"
    );
    assert!(
        frames < FRAMES / 4,
        "the slow consumer got {frames} frames of {FRAMES}"
    );
    // The flooder was not cut off either: what it sent past its allowance was dropped.
    let still = WireMessage::Ephemeral {
        sender_id: PeerId::from("fast"),
        target_id: PeerId::from("relay"),
        count: FRAMES,
        session_id: "flood".into(),
        document_id: run.document_id(),
        data: vec![1],
    };
    fast.send(&still)
        .await
        .expect("the flooder's socket is open");
    let _ = relay.child.kill();
    let _ = relay.child.wait();
}

/// The twelfth attack's E36: presence is copied for every reader of a run before any
/// queue is looked at, and 500 sockets that read nothing, each sending within its own
/// allowance, took a relay to 3.7 GB (and 256 of them filled `--max-loaded-bytes`, so
/// every other caller's writes got 503). A run passes on so many bytes of presence a
/// second, all copies counted, and a reader's queue takes presence only while short.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_to_many_readers_that_read_nothing_neither_fills_memory_nor_locks_others_out() {
    let tmp = tempfile::tempdir().unwrap();
    let mut relay = RELAY.spawn(tmp.path(), &["--max-streams-per-caller", "1000"]);
    let (http, ws) = (relay.base.clone(), relay.ws());
    let run = RunId::random();
    graft(&http, run, None).await;
    const READERS: usize = 120;
    const SENDERS: usize = 8;
    let mut silent = Vec::new();
    for i in 0..READERS {
        silent.push(attach(&ws, run, &format!("silent{i}")).await); // never read
    }
    let mut senders = Vec::new();
    for i in 0..SENDERS {
        senders.push(attach(&ws, run, &format!("sender{i}")).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let start = relay.rss_mib();
    let mut peak = start;
    let deadline = Instant::now() + Duration::from_secs(4);
    let mut count = 0u64;
    while Instant::now() < deadline {
        count += 1;
        for (i, sender) in senders.iter_mut().enumerate() {
            let message = WireMessage::Ephemeral {
                sender_id: PeerId::from(format!("sender{i}")),
                target_id: PeerId::from("relay"),
                count,
                session_id: format!("s{i}"),
                document_id: run.document_id(),
                data: vec![(count % 251) as u8; 60_000],
            };
            sender.send(&message).await.unwrap();
        }
        peak = peak.max(relay.rss_mib());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("relay RSS {start:.1} MiB before, peak {peak:.1} MiB");
    assert!(
        peak - start < 128.0,
        "presence to {READERS} silent readers grew the relay by {:.1} MiB",
        peak - start
    );
    // Another caller still writes.
    let other = RunId::random();
    graft(&http, other, Some("someone-else")).await;
    drop(silent);
    let _ = relay.child.kill();
    let _ = relay.child.wait();
}

/// A graft on `run` over REST (by `user`, if named), which must be answered 201.
async fn graft(http: &str, run: RunId, user: Option<&str>) {
    let mut request = reqwest::Client::new()
        .post(format!("{http}/app/runs/{run}/graft"))
        .body(r#"{"after": "step1", "agentName": "A"}"#);
    if let Some(user) = user {
        request = request.header("X-Runmesh-User", user);
    }
    assert_eq!(request.send().await.unwrap().status(), 201);
}
