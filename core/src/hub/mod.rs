//! The hub: one run's sync, storage and mesh rules as a sans-IO state machine.
//!
//! A relay holds one [`RunHub`] per run in memory. Its shell feeds it [`Input`]s — a
//! peer's sync or ephemeral message, a peer leaving, the mesh links, a local operation,
//! the outcome of a load or a persist, a tick — through [`RunHub::handle_batch`], and
//! performs the [`Effect`]s it returns, in order. The hub never touches a socket, a
//! clock or a disk: time comes in as `now`, storage as inputs and effects. That is what
//! lets the same rules run under a deterministic simulation with thousands of
//! adversarial schedules (`core/tests/sim/`) and under tokio in the relay.
//!
//! The rules it keeps:
//! - **Durable before it leaves.** Changes from every input of a batch go to the store
//!   as one [`Persist`] (group commit). While anything in memory is not yet stored, no
//!   sync message leaves; an operation is answered once the persist that holds its
//!   change is stored.
//! - **A failed store loses nothing that was promised.** On [`Input::StoreFailed`] the
//!   unstored changes are dropped: their operations are answered with an error, the run
//!   is reloaded from the store, and every sync session starts over with Automerge's
//!   sync reset, so the peers send again what was dropped (they count it as sent).
//! - **Lookups cannot loop.** A client's `request` for a run this relay lacks is asked
//!   of the mesh peers (one hop) before `doc-unavailable`; a mesh peer's request never
//!   is (`lookup.rs`).
//! - **One session per connection.** A peer that reconnects starts a fresh sync session.
//! - **A shared store is a peer that never needs an answer.** Changes another relay
//!   stored there ([`Input::StoredElsewhere`]) are applied, counted as durable (they are
//!   not written again), and passed on like any stored change.
//! - **Ephemeral messages pass once.** Presence crosses the mesh but never circles it
//!   (`ephemeral.rs`).
//!
//! It lives in `core` beside [`DocSync`](crate::sync::DocSync), as samod keeps its hub in
//! its core crate: here the compiler keeps it free of tokio and I/O (core has neither),
//! and the simulation tests it without a runtime. Nothing of it reaches the wasm builds,
//! which do not call it.

mod budget;
mod chunks;
mod content;
mod durable;
mod ephemeral;
mod inputs;
mod interface;
mod links;
mod loading;
mod lookup;
mod operations;
mod peers;
mod reads;
mod saved;
mod settle;

use std::sync::Arc;

pub use interface::{
    Effect, HubEvent, Input, Link, Millis, PeerKind, Persist, PersistId, Presence, SessionId,
    Stored,
};
pub use operations::{OpError, OpReply, RunOp};
pub use saved::SavedRun;

pub use crate::hub::budget::{MIN_RUN_WEIGHT, MemoryBudget, memory_of};
use crate::hub::content::Content;
use crate::hub::durable::Durability;
use crate::hub::ephemeral::{Echoes, Fanout};
use crate::hub::lookup::Lookup;
use crate::hub::peers::Peers;
use crate::id::{DocumentId, RunId};
use crate::identity::Identity;
use crate::sync::{DocSync, PeerId, WireMessage};

/// A stored run weighing more than this many times `max_document_bytes` is not loaded
/// (it is unreadable): what the limit lets a run reach, with room for a lowered limit.
pub const LOAD_CEILING: usize = 4;

/// Settings every hub of one relay shares.
#[derive(Clone, Debug)]
pub struct HubConfig {
    /// The relay's peer id.
    pub me: PeerId,
    /// The relay's identity (its own actor id) for changes it writes.
    pub identity: Identity,
    /// Largest a run may grow, in bytes as [`crate::bounds::weigh`] weighs them
    /// (uncompressed, and at least [`crate::bounds::OP_WEIGHT`] an op).
    pub max_document_bytes: usize,
    /// Snapshot after this many appended chunks.
    pub snapshot_interval_events: u32,
    /// How long a client's request waits for the mesh before `doc-unavailable`.
    pub lookup_timeout: Millis,
    /// Whether mesh peers are other relays for sure (they presented a mesh token), whose
    /// changes their relay checked when it took them in. If not (an open relay without a
    /// mesh token, which anyone may join as a "relay"), a mesh peer's changes are checked
    /// as a client's are.
    pub trust_mesh: bool,
    /// What all the relay's runs in memory may weigh together (`None`: no limit).
    pub budget: Option<Arc<MemoryBudget>>,
}

/// What the hub holds.
#[derive(Debug)]
enum State {
    /// Waiting for [`Input::Loaded`]; other inputs wait in `deferred`.
    Loading,
    /// The stored run cannot be read: it is not served (nor overwritten).
    Unreadable(String),
    /// The run, or `None` if it is not here.
    Ready(Option<Content>),
}

/// An answer waiting for its change to be stored.
#[derive(Debug)]
struct Held<R> {
    to: R,
    result: Result<OpReply, OpError>,
    /// The persist that holds the change (and everything the answer shows).
    after: PersistId,
}

/// One run's hub. `R` is the shell's handle for answering an operation.
#[derive(Debug)]
pub struct RunHub<R> {
    config: Arc<HubConfig>,
    id: DocumentId,
    run_id: RunId,
    state: State,
    deferred: Vec<Input<R>>,
    sync: DocSync,
    peers: Peers,
    durable: Durability,
    lookup: Lookup,
    echoes: Echoes,
    /// Presence passed on this second, all copies counted.
    fanout: Fanout,
    /// Answers waiting for the persist that holds their change.
    held: Vec<Held<R>>,
    /// The content is being loaded again after a failed store.
    reloading: bool,
    /// Where the unstored changes came from, if not from this relay's region.
    source_region: Option<String>,
    /// Sync changed the document since the run's view was refreshed.
    stale: bool,
    /// The run came to be here; peers waiting for it hear once it is stored.
    appeared: bool,
    /// The change feed's last answer, for the followers asking the same after it.
    feed_memo: reads::FeedMemo,
    /// What this hub holds of the relay's [`MemoryBudget`].
    reserved: usize,
    /// The last load was refused for want of memory.
    memory_refused: bool,
    /// What this hub holds of the budget for its peers' last sync messages.
    kept_reserved: usize,
    /// The document last saved for readers, and the heads it holds.
    saved: Option<saved::SaveMemo>,
    /// What the lineage check learnt of the document's changes after senders' heads,
    /// for the next message (`lineage/after.rs`).
    after: crate::lineage::AfterCache,
}

impl<R> RunHub<R> {
    /// A hub for `id`, waiting for [`Input::Loaded`].
    pub fn new(config: Arc<HubConfig>, id: DocumentId) -> Self {
        Self {
            sync: DocSync::new(id, config.me.clone()),
            durable: Durability::new(config.snapshot_interval_events),
            config,
            id,
            run_id: RunId::from(id),
            state: State::Loading,
            deferred: Vec::new(),
            peers: Peers::default(),
            lookup: Lookup::default(),
            echoes: Echoes::default(),
            fanout: Fanout::default(),
            held: Vec::new(),
            reloading: false,
            source_region: None,
            stale: false,
            feed_memo: reads::FeedMemo::default(),
            appeared: false,
            reserved: 0,
            memory_refused: false,
            kept_reserved: 0,
            saved: None,
            after: crate::lineage::AfterCache::default(),
        }
    }

    /// The run's document id.
    pub fn document_id(&self) -> DocumentId {
        self.id
    }

    /// Handles one input; see [`RunHub::handle_batch`].
    pub fn handle(&mut self, now: Millis, input: Input<R>) -> Vec<Effect<R>> {
        self.handle_batch(now, [input])
    }

    /// Handles `inputs` as one batch: their changes are stored with one persist, and each
    /// peer gets one sync message for all of them. Returns the effects, in the order to
    /// perform them.
    pub fn handle_batch(
        &mut self,
        now: Millis,
        inputs: impl IntoIterator<Item = Input<R>>,
    ) -> Vec<Effect<R>> {
        let mut out = Vec::new();
        for input in inputs {
            self.input(now, input, &mut out);
        }
        self.settle(&mut out);
        self.rebudget();
        out
    }

    /// When the hub must be woken with [`Input::Tick`], if it must.
    pub fn next_wake(&self) -> Option<Millis> {
        self.lookup.deadline()
    }

    /// Whether the run may leave memory: no client on it, nothing waiting or in flight,
    /// and no change Automerge holds back for a missing dependency (the mesh peer that
    /// sent it would never send it again in the same session).
    pub fn is_idle(&mut self) -> bool {
        let quiet = !matches!(self.state, State::Loading)
            && self.peers.only_mesh()
            && !self.lookup.active()
            && !self.durable.busy()
            && self.held.is_empty()
            && self.deferred.is_empty();
        quiet
            && match &mut self.state {
                State::Ready(Some(content)) => !content.waiting(),
                _ => true,
            }
    }

    /// Inputs and answers the hub is holding (bounded by what one batch brings).
    pub fn backlog(&self) -> usize {
        self.deferred.len() + self.held.len()
    }

    fn run(&mut self) -> Result<&mut Content, OpError> {
        self.refresh_view();
        match &mut self.state {
            State::Loading => Err(OpError::Storage(
                "the run is being reloaded from the store".into(),
            )),
            State::Unreadable(why) => Err(OpError::Unreadable(why.clone())),
            State::Ready(None) => Err(OpError::NotFound),
            State::Ready(Some(content)) => Ok(content),
        }
    }

    fn input(&mut self, now: Millis, input: Input<R>, out: &mut Vec<Effect<R>>) {
        if matches!(self.state, State::Loading) {
            match input {
                Input::Loaded(loaded) => {
                    self.loaded(loaded, out);
                    for input in std::mem::take(&mut self.deferred) {
                        self.input(now, input, out);
                    }
                }
                other => self.deferred.push(other),
            }
            return;
        }
        match input {
            Input::Loaded(_) => {} // not asked for
            Input::Sync {
                from,
                message,
                request,
            } => self.on_sync(now, from, message, request, out),
            Input::Ephemeral { from, presence } => {
                let Presence {
                    sender,
                    session_id,
                    count,
                    data,
                } = presence;
                if !self.echoes.first_time(sender.as_str(), &session_id, count) {
                    return; // it came round the mesh
                }
                let to: Vec<Link> = (self.peers.others(&from.peer))
                    .filter(|l| l.peer != sender)
                    .cloned()
                    .collect();
                let copy = data.len() + session_id.len() + sender.as_str().len();
                if !self.fanout.spend(now, copy.saturating_mul(to.len())) {
                    return; // dropped: past the run's presence allowance this second
                }
                for link in &to {
                    let message = WireMessage::Ephemeral {
                        sender_id: sender.clone(),
                        target_id: link.peer.clone(),
                        count,
                        session_id: session_id.clone(),
                        document_id: self.id,
                        data: data.clone(),
                    };
                    out.push(send(link, message));
                }
            }
            Input::Unavailable { from } => {
                self.sync.remove_peer(&from.peer);
                let clients = self.lookup.lacks(&from.peer);
                self.unavailable_to(clients, out);
            }
            Input::Left { peer, session } => {
                if self.peers.detach(&peer, session) {
                    self.sync.remove_peer(&peer);
                    self.lookup.forget(&peer);
                    let clients = self.lookup.lacks(&peer);
                    self.unavailable_to(clients, out);
                }
            }
            Input::Mesh(live) => {
                for gone in self.peers.set_mesh(live) {
                    self.sync.remove_peer(&gone.peer);
                    let clients = self.lookup.lacks(&gone.peer);
                    self.unavailable_to(clients, out);
                }
                self.attach_mesh();
            }
            Input::Offer { to, fresh } => {
                if self.has_content() {
                    if fresh {
                        // A forced resync starts from scratch.
                        self.sync.remove_peer(&to.peer);
                    }
                    self.attach(to.clone());
                    self.sync.join(&to.peer);
                }
            }
            Input::Op {
                op,
                user,
                at_ms,
                reply,
            } => self.op(op, &user, at_ms, reply, out),
            Input::Stored(id) => {
                if let Some(snapshot) = self.durable.stored(id) {
                    if let Some(len) = snapshot {
                        out.push(Effect::Event(HubEvent::SnapshotStored(len)));
                    }
                    // Answers whose change this persist holds may go, even if newer
                    // changes are still to be stored.
                    let (ready, waiting) = std::mem::take(&mut self.held)
                        .into_iter()
                        .partition(|h| h.after <= id);
                    self.held = waiting;
                    answer(ready, out);
                }
            }
            Input::StoredElsewhere(bytes) => self.stored_elsewhere(bytes, out),
            Input::StoreFailed(id, why) => self.store_failed(id, why, out),
            Input::Tick => {
                let clients = self.lookup.expire(now);
                self.unavailable_to(clients, out);
            }
        }
    }

    fn has_content(&self) -> bool {
        matches!(self.state, State::Ready(Some(_)))
    }

    /// Brings the run's view up to date after sync changes (or notices that a plain
    /// document has become a run).
    fn refresh_view(&mut self) {
        if !std::mem::take(&mut self.stale) {
            return;
        }
        if let State::Ready(slot) = &mut self.state
            && let Some(content) = slot.take()
        {
            *slot = Some(content.after_sync(self.run_id, &self.config.identity));
        }
    }
}

fn answer<R>(held: Vec<Held<R>>, out: &mut Vec<Effect<R>>) {
    for Held { to, result, .. } in held {
        out.push(Effect::Reply { to, result });
    }
}

fn send<R>(to: &Link, message: WireMessage) -> Effect<R> {
    Effect::Send {
        to: to.clone(),
        message,
    }
}
