//! The traffic of the `throughput` scenario, made once in this process: the relay's
//! hub and 10 writers and 10 readers as replicas that sync with it, no sockets, no
//! tokio. What the hub was handed, batch by batch, is recorded so the relay's side of
//! it can be replayed alone and timed (the replicas' own work is not the relay's).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use runmesh_core::hub::{
    Effect, HubConfig, HubEvent, Input, Link, MemoryBudget, PeerKind, RunHub, SessionId,
};
use runmesh_core::sync::{DocSync, PeerId, WireMessage, decode_message};
use runmesh_core::{Identity, RunDoc, RunId, StepSpec};

use super::RELAY_BATCH;

/// One batch the hub was handed: who sent each sync message, and its bytes.
pub type Batch = Vec<(Link, Vec<u8>)>;

/// What the relay is handed for the scenario.
pub struct Traffic {
    pub run: RunId,
    /// What the store held when the run was loaded.
    pub stored: Vec<u8>,
    /// The batches that join the 20 clients (not timed, as `throughput` does not).
    pub joining: Vec<Batch>,
    /// The batches of the writes and their fan-out (timed).
    pub writing: Vec<Batch>,
    /// Changes written in all.
    pub changes: usize,
}

/// The relay's settings as the release binary has them by default.
pub fn config() -> Arc<HubConfig> {
    Arc::new(HubConfig {
        me: PeerId::from("relay"),
        identity: Identity::random("bench", "relay").unwrap(),
        max_document_bytes: 64 * 1024 * 1024,
        snapshot_interval_events: 100,
        lookup_timeout: 3_000,
        trust_mesh: false,
        budget: Some(Arc::new(MemoryBudget::new(1024 * 1024 * 1024))),
    })
}

/// A hub that has loaded `stored`.
pub fn loaded_hub(config: &Arc<HubConfig>, run: RunId, stored: &[u8]) -> RunHub<()> {
    let mut hub = RunHub::new(config.clone(), run.document_id());
    let stored = runmesh_core::hub::Stored {
        bytes: stored.to_vec(),
        chunks: 0,
    };
    let _ = hub.handle(0, Input::Loaded(Ok(Some(stored))));
    hub
}

/// Hands `batch` to the hub as the relay's shell does (a persist is stored at once, and
/// the hub told), and returns the sync messages it sends, in order.
pub fn step(hub: &mut RunHub<()>, batch: &Batch) -> Vec<(PeerId, Vec<u8>)> {
    let inputs = batch.iter().map(|(from, data)| Input::Sync {
        from: from.clone(),
        message: decode_message(data).expect("a sync message"),
        request: false,
    });
    let mut queue = VecDeque::from(hub.handle_batch(0, inputs));
    let mut sent = Vec::new();
    while let Some(effect) = queue.pop_front() {
        match effect {
            Effect::Persist(persist) => queue.extend(hub.handle(0, Input::Stored(persist.id))),
            Effect::Send {
                to,
                message: WireMessage::Sync { data, .. },
            } => sent.push((to.peer, data)),
            // What the shell turns into metrics.
            Effect::Event(HubEvent::SyncReceived | HubEvent::SnapshotStored(_)) => {}
            other => panic!("the ceiling expects no {other:?}"),
        }
    }
    sent
}

/// A load client as `client.rs` has it: a replica of the run, its sync session, and the
/// relay's messages it has not read yet.
struct Replica {
    link: Link,
    run: RunDoc,
    sync: DocSync,
    unread: VecDeque<Vec<u8>>,
    /// Grafts it still has to write.
    to_write: usize,
}

impl Replica {
    fn messages(&mut self) -> Vec<(Link, Vec<u8>)> {
        self.sync
            .flush(self.run.automerge_mut())
            .into_iter()
            .map(|(_, m)| match m {
                WireMessage::Sync { data, .. } => (self.link.clone(), data),
                other => panic!("a client sends only sync messages, not {other:?}"),
            })
            .collect()
    }

    fn read(&mut self, relay: &PeerId, data: &[u8]) -> Vec<(Link, Vec<u8>)> {
        let message = decode_message(data).expect("a sync message");
        if self
            .sync
            .receive(self.run.automerge_mut(), relay, message)
            .expect("sync")
        {
            self.run.refresh();
        }
        self.messages()
    }

    fn write(&mut self, agent: &str) -> Vec<(Link, Vec<u8>)> {
        self.run.graft("step1", agent, 0).expect("graft");
        self.to_write -= 1;
        self.sync.local_change();
        self.messages()
    }
}

/// How the writers keep pace with the relay.
#[derive(Clone, Copy, Debug)]
pub enum Shape {
    /// Each writer writes every graft before it reads anything: `throughput`'s load
    /// clients are handed all their grafts at once and are faster than the relay, so
    /// most grafts are written by a replica that has seen none of the others'.
    Flood,
    /// Every client reads what the relay sent before the writers write the next full
    /// batch: the writers stay within one batch of the relay.
    InStep,
}

/// Records the scenario. The 20 clients join and sync to quiet; then the writers write
/// as `shape` says, the relay takes what has reached it up to [`RELAY_BATCH`] at a time
/// (its batches run full, as under `throughput`: about 3,600 client frames in and 600
/// out for 3,000 grafts), and each client reads what the relay sent it.
pub fn record(
    config: &Arc<HubConfig>,
    writers: usize,
    readers: usize,
    per_writer: usize,
    shape: Shape,
) -> Traffic {
    let run = RunId::random();
    let steps = [
        StepSpec::new("step1").unwrap(),
        StepSpec::new("step2").unwrap(),
    ];
    let creator = Identity::random("bench", "creator").unwrap();
    let stored = RunDoc::create(run, creator, "load", &steps, 0)
        .unwrap()
        .save();
    let mut hub = loaded_hub(config, run, &stored);
    let relay = config.me.clone();
    let mut clients: BTreeMap<PeerId, Replica> = BTreeMap::new();
    let mut order = Vec::with_capacity(writers + readers);
    let mut inbox = VecDeque::new();
    for i in 0..writers + readers {
        let peer = PeerId::from(format!("load{i}").as_str());
        let identity = Identity::random("load", &format!("u{i}")).unwrap();
        let mut client = Replica {
            link: Link {
                peer: peer.clone(),
                session: SessionId(i as u64),
                kind: PeerKind::Client,
            },
            run: RunDoc::load(run, identity, &stored).unwrap(),
            sync: DocSync::new(run.document_id(), peer.clone()),
            unread: VecDeque::new(),
            to_write: if i < writers { per_writer } else { 0 },
        };
        let opening = client.sync.add_peer(client.run.automerge_mut(), &relay);
        if let Some(WireMessage::Sync { data, .. }) = opening {
            inbox.push_back((client.link.clone(), data));
        }
        order.push(peer.clone());
        clients.insert(peer, client);
    }
    let mut joining = Vec::new();
    while !inbox.is_empty() {
        let taken: Batch = inbox.drain(..RELAY_BATCH.min(inbox.len())).collect();
        for (to, data) in step(&mut hub, &taken) {
            let client = clients.get_mut(&to).expect("a client");
            inbox.extend(client.read(&relay, &data));
        }
        joining.push(taken);
    }
    let mut writing = Vec::new();
    let mut written = 0;
    loop {
        for peer in &order {
            let client = clients.get_mut(peer).unwrap();
            while let Some(data) = client.unread.pop_front() {
                inbox.extend(client.read(&relay, &data));
            }
        }
        let room = match shape {
            Shape::Flood => usize::MAX,
            Shape::InStep => RELAY_BATCH,
        };
        let mut any = true;
        while inbox.len() < room && any {
            any = false;
            for peer in &order {
                let client = clients.get_mut(peer).unwrap();
                if client.to_write > 0 && inbox.len() < room {
                    inbox.extend(client.write(&format!("g{written}")));
                    written += 1;
                    any = true;
                }
            }
        }
        if inbox.is_empty() {
            break;
        }
        let taken: Batch = inbox.drain(..RELAY_BATCH.min(inbox.len())).collect();
        for (to, data) in step(&mut hub, &taken) {
            clients
                .get_mut(&to)
                .expect("a client")
                .unread
                .push_back(data);
        }
        writing.push(taken);
    }
    let total = writers * per_writer;
    for client in clients.values() {
        assert_eq!(
            client.run.graft_count(),
            total,
            "every client has every graft"
        );
    }
    Traffic {
        run,
        stored,
        joining,
        writing,
        changes: total,
    }
}
