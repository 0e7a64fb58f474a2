//! A load client: one WebSocket, one run replica, its sync session; edits on command,
//! answers sync messages, and reports each graft the moment it first sees it.

use std::time::Instant;

use runmesh_core::sync::{DocSync, PeerId, PeerMetadata, WireMessage};
use runmesh_core::{Identity, RunDoc, RunId};
use runmesh_relay::client::Connection;
use tokio::sync::mpsc;

/// What a client is told to do.
pub enum Cmd {
    Graft { after: String, agent: String },
    Stop,
}

/// What a client reports.
pub struct Seen {
    pub client: usize,
    pub grafts: usize,
    pub at: Instant,
    /// Agent names of grafts seen for the first time in this update.
    pub new_agents: Vec<String>,
}

pub async fn spawn(
    index: usize,
    url: String,
    run: RunId,
    request: bool,
    track_agents: bool,
    report: mpsc::UnboundedSender<Seen>,
) -> mpsc::UnboundedSender<Cmd> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let me = PeerId::random(&format!("load{index}"));
    let mut conn = Connection::connect(&url, me.clone(), PeerMetadata::default())
        .await
        .expect("connect");
    let relay = conn.remote.peer.clone();
    let mut doc = RunDoc::genesis(run, Identity::random("load", &format!("u{index}")).unwrap());
    let mut sync = DocSync::new(run.document_id().to_string(), me);
    tokio::spawn(async move {
        let opening = sync
            .add_peer(doc.automerge_mut(), &relay)
            .expect("opening message");
        let opening = match opening {
            WireMessage::Sync {
                document_id,
                sender_id,
                target_id,
                data,
            } if request => WireMessage::Request {
                document_id,
                sender_id,
                target_id,
                data,
            },
            other => other,
        };
        conn.send(&opening).await.expect("send");
        let mut known = std::collections::HashSet::new();
        loop {
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(Cmd::Graft { after, agent }) => {
                        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
                        doc.graft(&after, &agent, now).expect("graft");
                        sync.local_change();
                        for (_, m) in sync.flush(doc.automerge_mut()) {
                            if conn.send(&m).await.is_err() { return; }
                        }
                    }
                    Some(Cmd::Stop) | None => { conn.close().await; return; }
                },
                message = conn.recv() => {
                    let Ok(Some(WireMessage::Sync { data, .. })) = message else {
                        if matches!(message, Ok(None) | Err(_)) { return; }
                        continue;
                    };
                    let changed = sync.receive(doc.automerge_mut(), &relay, &data).expect("sync");
                    if changed {
                        doc.refresh();
                        // Cheap reads only: building the whole state per message would make
                        // the load generator, not the relay, the bottleneck.
                        let mut new_agents = Vec::new();
                        if track_agents {
                            for g in doc.grafts() {
                                if known.insert(g.id.clone()) {
                                    new_agents.push(g.agent_name.clone());
                                }
                            }
                        }
                        let _ = report.send(Seen { client: index, grafts: doc.graft_count(), at: Instant::now(), new_agents });
                    }
                    for (_, m) in sync.flush(doc.automerge_mut()) {
                        if conn.send(&m).await.is_err() { return; }
                    }
                }
            }
        }
    });
    tx
}
