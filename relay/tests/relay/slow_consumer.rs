//! A client that stops reading does not grow the relay's memory: its outbound queue is
//! bounded (`--peer-queue-frames`) and it is cut off when the queue fills. Checked on the
//! real relay binary, whose resident memory is read from /proc, while another client
//! pushes 256 MiB of ephemeral messages through the run to it.

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
async fn a_slow_consumer_is_cut_off_and_the_relay_s_memory_stays_bounded() {
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
    const FRAME: usize = 1 << 20;
    const FRAMES: u64 = 256;
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
    // The stalled consumer was cut off: reading now ends in a close, not endless frames.
    let mut slow = slow;
    let mut frames = 0;
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match slow.recv().await {
                Ok(Some(_)) => frames += 1,
                _ => return,
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the slow consumer was never disconnected");
    assert!(
        frames < FRAMES,
        "the slow consumer got all {frames} frames: it was never cut off"
    );
    let _ = relay.child.kill();
    let _ = relay.child.wait();
}
