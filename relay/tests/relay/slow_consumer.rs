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
    let resp = reqwest::Client::new()
        .post(format!("{http}/app/runs/{run}/graft"))
        .body(r#"{"after": "step1", "agentName": "A"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);

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
