//! A load client: one WebSocket, one run replica, its sync session; edits on command,
//! answers sync messages, and reports each graft the moment it first sees it.

use std::time::Instant;

use automerge::AutoCommit;
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
    let identity = Identity::random("load", &format!("u{index}")).unwrap();
    let mut doc = Replica::Joining(Box::default());
    let mut sync = DocSync::new(run.document_id(), me);
    tokio::spawn(async move {
        let opening = sync
            .add_peer(doc.automerge(), &relay)
            .expect("opening message");
        let opening = if request {
            opening.into_request()
        } else {
            opening
        };
        conn.send(&opening).await.expect("send");
        let mut known = std::collections::HashSet::new();
        loop {
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(Cmd::Graft { after, agent }) => {
                        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
                        let Replica::Run(run) = &mut doc else { panic!("write only after joining") };
                        run.graft(&after, &agent, now).expect("graft");
                        // A writer's own graft may be the last one it was missing.
                        let _ = report.send(Seen { client: index, grafts: run.graft_count(), at: Instant::now(), new_agents: Vec::new() });
                        sync.local_change();
                        for (_, m) in sync.flush(doc.automerge()) {
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
                    let changed = sync.receive(doc.automerge(), &relay, runmesh_core::sync::decode_message(&data).expect("a sync message")).expect("sync");
                    if changed {
                        doc.after_change(run, &identity);
                        let Replica::Run(doc) = &doc else { continue };
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
                    for (_, m) in sync.flush(doc.automerge()) {
                        if conn.send(&m).await.is_err() { return; }
                    }
                }
            }
        }
    });
    tx
}

/// A client opening a run it does not have starts from an *empty* document rather than
/// the genesis: the relay then answers with the whole run (Automerge sends a full save when
/// the peer lacks most of the document), which an empty document loads on Automerge's fast
/// path instead of applying change by change.
enum Replica {
    Joining(Box<AutoCommit>),
    Run(Box<RunDoc>),
}

impl Replica {
    fn automerge(&mut self) -> &mut AutoCommit {
        match self {
            Self::Joining(doc) => doc,
            Self::Run(run) => run.automerge_mut(),
        }
    }

    fn after_change(&mut self, run_id: RunId, identity: &Identity) {
        match self {
            Self::Run(run) => run.refresh(),
            Self::Joining(doc) => {
                let doc = std::mem::take(doc.as_mut());
                *self = match RunDoc::from_automerge(run_id, identity.clone(), doc) {
                    Ok(run) => Self::Run(Box::new(run)),
                    Err(rejected) => Self::Joining(Box::new(rejected.1)),
                };
            }
        }
    }
}
