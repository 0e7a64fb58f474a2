//! Core's [`RunHub`] with a clock, peers that speak to it, and readers of its effects.

use std::sync::Arc;

use automerge::sync::{State, SyncDoc};
use runmesh_core::RunDoc;
use runmesh_core::hub::{
    Effect, HubConfig, Input, Link, MemoryBudget, PeerKind, PersistId, RunHub, RunOp, SessionId,
    Stored,
};
use runmesh_core::sync::{PeerId, WireMessage};

use crate::fixtures::{run_id, steps, who};

/// Persists between snapshots in these tests.
pub const SNAPSHOT_EVERY: u32 = 4;

/// A hub and what its store held when it was loaded.
#[derive(Debug)]
pub struct TestHub {
    pub hub: RunHub<u64>,
    pub now: u64,
    pub stored: Option<Stored>,
}

fn config(max_document_bytes: usize) -> Arc<HubConfig> {
    config_with(max_document_bytes, true)
}

fn config_with(max_document_bytes: usize, trust_mesh: bool) -> Arc<HubConfig> {
    config_full(max_document_bytes, trust_mesh, None)
}

fn config_full(
    max_document_bytes: usize,
    trust_mesh: bool,
    budget: Option<Arc<MemoryBudget>>,
) -> Arc<HubConfig> {
    Arc::new(HubConfig {
        me: PeerId::from("relay"),
        identity: who(9, "relay-region", "relay"),
        max_document_bytes,
        snapshot_interval_events: SNAPSHOT_EVERY,
        lookup_timeout: 3_000,
        trust_mesh,
        budget,
    })
}

/// The run every test starts from: steps step1..step3.
pub fn base_run() -> RunDoc {
    RunDoc::create(
        run_id(),
        who(1, "us", "alice"),
        "T",
        &steps(&["step1", "step2", "step3"]),
        1,
    )
    .unwrap()
}

impl TestHub {
    fn new(max: usize, loaded: Option<Result<Option<Stored>, String>>) -> Self {
        let mut hub = Self {
            hub: RunHub::new(config(max), run_id().document_id()),
            now: 1_000,
            stored: loaded.clone().and_then(Result::ok).flatten(),
        };
        if let Some(loaded) = loaded {
            hub.handle(Input::Loaded(loaded));
        }
        hub
    }

    /// A hub whose store holds `bytes` (the base run if `None`), one of a relay's whose
    /// runs in memory share `budget`.
    pub fn with_budget(bytes: Option<Vec<u8>>, budget: Arc<MemoryBudget>) -> Self {
        let stored = Stored {
            bytes: bytes.unwrap_or_else(|| base_run().save()),
            chunks: 0,
        };
        let mut hub = Self {
            hub: RunHub::new(
                config_full(64 << 20, true, Some(budget)),
                run_id().document_id(),
            ),
            now: 1_000,
            stored: Some(stored.clone()),
        };
        hub.handle(Input::Loaded(Ok(Some(stored))));
        hub
    }

    /// A hub whose store holds the base run.
    pub fn with_run() -> Self {
        Self::with_limit(64 << 20)
    }

    /// A hub whose store holds the base run, with a size limit.
    pub fn with_limit(max: usize) -> Self {
        let stored = Stored {
            bytes: base_run().save(),
            chunks: 0,
        };
        Self::new(max, Some(Ok(Some(stored))))
    }

    /// A hub whose store holds the base run, on a relay whose mesh peers are not known to
    /// be relays (open, without a mesh token).
    pub fn with_run_and_open_mesh() -> Self {
        let stored = Stored {
            bytes: base_run().save(),
            chunks: 0,
        };
        let mut hub = Self {
            hub: RunHub::new(config_with(64 << 20, false), run_id().document_id()),
            now: 1_000,
            stored: Some(stored.clone()),
        };
        hub.handle(Input::Loaded(Ok(Some(stored))));
        hub
    }

    /// A hub whose store holds `bytes`.
    pub fn with_stored(bytes: Vec<u8>) -> Self {
        Self::with_stored_and_limit(bytes, 64 << 20)
    }

    /// A hub whose store holds `bytes`, with a size limit.
    pub fn with_stored_and_limit(bytes: Vec<u8>, max: usize) -> Self {
        let stored = Stored { bytes, chunks: 0 };
        Self::new(max, Some(Ok(Some(stored))))
    }

    /// A hub whose store has never heard of the run.
    pub fn empty() -> Self {
        Self::new(64 << 20, Some(Ok(None)))
    }

    /// A hub whose store cannot read the run.
    pub fn unreadable() -> Self {
        Self::new(64 << 20, Some(Err("checksum mismatch".into())))
    }

    /// A hub still waiting for its load.
    pub fn loading() -> Self {
        Self::new(64 << 20, None)
    }

    pub fn handle(&mut self, input: Input<u64>) -> Vec<Effect<u64>> {
        self.hub.handle(self.now, input)
    }

    pub fn handle_batch(&mut self, inputs: Vec<Input<u64>>) -> Vec<Effect<u64>> {
        self.hub.handle_batch(self.now, inputs)
    }

    /// `link`'s peer connects with a copy of the base run and syncs to quiet.
    pub fn join(&mut self, link: &Link) {
        self.connect(&mut Peer::new(link, 40), link);
    }

    /// `peer` connects on `link` and syncs to quiet (storing what the hub asks to).
    pub fn connect(&mut self, peer: &mut Peer, link: &Link) {
        let mut input = Some(peer.sync_input(link));
        for _ in 0..10 {
            let Some(next) = input.take() else { return };
            let mut effects = self.handle(next);
            while let Some(id) = persist_of(&effects) {
                effects.extend(self.handle(Input::Stored(id)));
                effects.retain(|e| !matches!(e, Effect::Persist(p) if p.id == id));
            }
            for (to, message) in sends(&effects) {
                if to == *link
                    && let WireMessage::Sync { data, .. } = message
                {
                    peer.receive(&data);
                    input = peer.next_input(link);
                }
            }
        }
    }

    /// The names in the run's pipeline.
    pub fn names(&mut self) -> Vec<String> {
        self.hub
            .state()
            .unwrap()
            .pipeline
            .into_iter()
            .map(|n| n.name)
            .collect()
    }
}

/// A client connection.
pub fn client(name: &str, session: u64) -> Link {
    link(name, session, PeerKind::Client)
}

/// A mesh link.
pub fn mesh(name: &str, session: u64) -> Link {
    link(name, session, PeerKind::Mesh)
}

fn link(name: &str, session: u64, kind: PeerKind) -> Link {
    Link {
        peer: PeerId::from(name),
        session: SessionId(session),
        kind,
    }
}

/// An operation numbered `id`.
pub fn op(id: u64, op: RunOp) -> Input<u64> {
    Input::Op {
        op,
        user: "rest".into(),
        at_ms: 2_000,
        reply: id,
    }
}

pub fn graft(after: &str, agent: &str) -> RunOp {
    RunOp::Graft {
        after: after.into(),
        agent_name: agent.into(),
    }
}

/// A replica that syncs with the hub.
#[derive(Debug)]
pub struct Peer {
    run: RunDoc,
    state: State,
}

impl Peer {
    /// A replica holding the base run, writing as actor `actor`.
    pub fn new(link: &Link, actor: u8) -> Self {
        let identity = who(actor, "eu", link.peer.as_str());
        Self {
            run: RunDoc::load(run_id(), identity, &base_run().save()).unwrap(),
            state: State::new(),
        }
    }

    /// A replica that holds nothing of the run.
    pub fn bare() -> Self {
        Self {
            run: RunDoc::genesis(run_id(), who(50, "eu", "bare")),
            state: State::new(),
        }
    }

    /// The replica's Automerge document.
    pub fn doc(&mut self) -> &mut automerge::AutoCommit {
        self.run.automerge_mut()
    }

    pub fn graft(&mut self, agent: &str) {
        self.run.graft("step1", agent, 3_000).unwrap();
    }

    /// Its next sync message to the hub, as a `sync`.
    pub fn sync_input(&mut self, from: &Link) -> Input<u64> {
        self.next_input(from).expect("a first message")
    }

    /// Its next sync message, as a `request`.
    pub fn request_input(&mut self, from: &Link) -> Input<u64> {
        let Input::Sync { from, message, .. } = self.sync_input(from) else {
            unreachable!()
        };
        Input::Sync {
            from,
            message,
            request: true,
        }
    }

    /// Its next sync message, if it has one to send.
    pub fn next_input(&mut self, from: &Link) -> Option<Input<u64>> {
        let message = self
            .run
            .automerge_mut()
            .sync()
            .generate_sync_message(&mut self.state)?;
        Some(Input::Sync {
            from: from.clone(),
            message,
            request: false,
        })
    }

    /// Takes `data` from the hub and syncs with it on `link` until quiet, storing what
    /// the hub asks to store.
    pub fn receive_and_answer(&mut self, data: &[u8], link: &Link, hub: &mut TestHub) {
        self.receive(data);
        let mut input = self.next_input(link);
        for _ in 0..10 {
            let Some(next) = input.take() else { return };
            let mut effects = hub.handle(next);
            while let Some(id) = persist_of(&effects) {
                effects.extend(hub.handle(Input::Stored(id)));
                effects.retain(|e| !matches!(e, Effect::Persist(p) if p.id == id));
            }
            for (to, message) in sends(&effects) {
                if to == *link
                    && let WireMessage::Sync { data, .. } = message
                {
                    self.receive(&data);
                    input = self.next_input(link);
                }
            }
        }
    }

    /// Takes a sync message's `data` from the hub.
    pub fn receive(&mut self, data: &[u8]) {
        let message = automerge::sync::Message::decode(data).unwrap();
        self.run
            .automerge_mut()
            .sync()
            .receive_sync_message(&mut self.state, message)
            .unwrap();
        self.run.refresh();
    }
}

/// The messages the effects send.
pub fn sends(effects: &[Effect<u64>]) -> Vec<(Link, WireMessage)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send { to, message } => Some((to.clone(), message.clone())),
            _ => None,
        })
        .collect()
}

/// The persist the effects start, if any.
pub fn persist_of(effects: &[Effect<u64>]) -> Option<PersistId> {
    effects.iter().find_map(|e| match e {
        Effect::Persist(p) => Some(p.id),
        _ => None,
    })
}

/// The answers: operation id, and whether it changed the run or why it failed.
pub fn replies(effects: &[Effect<u64>]) -> Vec<(u64, Result<bool, String>)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Reply { to, result } => Some((
                *to,
                result
                    .as_ref()
                    .map(|r| r.changed)
                    .map_err(ToString::to_string),
            )),
            _ => None,
        })
        .collect()
}

/// Who is told `doc-unavailable`.
pub fn unavailable_to(effects: &[Effect<u64>]) -> Vec<PeerId> {
    sends(effects)
        .into_iter()
        .filter(|(_, m)| matches!(m, WireMessage::DocUnavailable { .. }))
        .map(|(to, _)| to.peer)
        .collect()
}
