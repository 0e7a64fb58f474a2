//! [`Shell`]: a run's hub and the I/O it asks for. The hub decides; the shell turns
//! commands into inputs and performs the effects, in order: loads and persists on the
//! blocking pool (their outcomes go straight back to the hub), frames to the peers'
//! queues, answers to the HTTP handlers.

mod reports;
mod storage;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use runmesh_core::hub::{Effect, Input, Link, RunHub};
use runmesh_core::node::{self, Overflow};
use runmesh_core::sync::{PeerId, WireMessage};
use runmesh_core::{ChangeHash, DocumentId, RunId};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{oneshot, watch};

use crate::runs::command::{DocCmd, OpAnswer};
use crate::runs::env::TaskEnv;
use crate::runs::link::PeerLink;

/// One run's hub with the connections it sends to.
#[derive(Debug)]
pub(crate) struct Shell {
    env: Arc<TaskEnv>,
    id: DocumentId,
    /// The run id as metrics label it.
    label: String,
    hub: RunHub<OpAnswer>,
    /// The connections the hub knows, by peer, for its `Send` effects.
    links: HashMap<PeerId, PeerLink>,
    /// The mesh links last told to the hub.
    mesh: Vec<Link>,
    /// The run's stored heads, for whoever follows the run (the change feed).
    followers: watch::Sender<Vec<ChangeHash>>,
    /// Whether what other relays stored could not be read: the run's digest then stays
    /// "not known" until it is.
    behind_store: bool,
    /// Per mesh peer, whether the hub last said it holds the run differently.
    differs: HashMap<PeerId, bool>,
    /// Who waits for the run to be in step with a mesh peer (offers of a catch-up).
    settling: HashMap<PeerId, Vec<oneshot::Sender<()>>>,
    /// Whether the hub found the relay's memory full since this was last asked.
    memory_full: bool,
    /// The run list has this run's title.
    titled: bool,
}

impl Shell {
    /// Loads the run and attaches the live mesh links.
    pub(crate) async fn start(env: Arc<TaskEnv>, id: DocumentId) -> Self {
        let mut shell = Self {
            hub: RunHub::new(env.hub.clone(), id),
            env,
            id,
            label: RunId::from(id).to_string(),
            links: HashMap::new(),
            mesh: Vec::new(),
            followers: watch::Sender::new(Vec::new()),
            behind_store: false,
            differs: HashMap::new(),
            settling: HashMap::new(),
            memory_full: false,
            titled: false,
        };
        // Loading is CPU work on this thread: a few at a time (see `TaskEnv::loads`).
        let permit = shell.env.loads.clone().acquire_owned().await;
        let loaded = shell.load().await;
        let mesh = shell.mesh_input();
        shell.handle(vec![Input::Loaded(loaded), mesh]).await;
        drop(permit);
        shell.note_title();
        shell
    }

    /// Tells the run list this run's title, once it has one.
    fn note_title(&mut self) {
        if self.titled {
            return;
        }
        if let Ok(title) = self.hub.title() {
            self.env.titles.note(self.id, title);
            self.titled = true;
        }
    }

    /// The run id as metrics label it.
    pub(crate) fn label(&self) -> &str {
        &self.label
    }

    /// When the hub must be woken, if it must.
    pub(crate) fn next_wake(&self) -> Option<runmesh_core::hub::Millis> {
        self.hub.next_wake()
    }

    /// Whether the run may leave memory (nobody follows it and the hub is idle).
    pub(crate) fn is_idle(&mut self) -> bool {
        self.followers.receiver_count() == 0 && self.hub.is_idle()
    }

    /// Whether the relay's memory was found full (a change or a load refused) since
    /// this was last asked: runs nobody holds open should then leave memory.
    pub(crate) fn take_memory_full(&mut self) -> bool {
        std::mem::take(&mut self.memory_full)
    }

    /// Whether the run was not loaded for want of memory: the task leaves at once, so
    /// the next request tries again.
    pub(crate) fn refused_for_memory(&self) -> bool {
        self.hub.refused_for_memory()
    }

    /// What the run's document takes in memory, roughly.
    pub(crate) fn memory(&mut self) -> usize {
        self.hub.memory()
    }

    /// Whether the run exists here (a run nobody has made leaves memory soon: asking
    /// for made-up runs must not hold memory for long).
    pub(crate) fn exists(&mut self) -> bool {
        !self.hub.heads().is_empty()
    }

    /// Whether someone follows the run's changes (the change feed).
    pub(crate) fn followed(&self) -> bool {
        self.followers.receiver_count() > 0
    }

    /// Handles a batch of commands: one hub batch (one persist), then the reads. Says
    /// whether a client or a REST call was in it (not only other relays).
    pub(crate) async fn commands(&mut self, batch: Vec<DocCmd>) -> bool {
        let mut here = false;
        let mut inputs = Vec::with_capacity(batch.len());
        let mut reads = Vec::new();
        // Events other relays appended, for one read (`Some(empty)`: read the run).
        let mut elsewhere: Option<Vec<i64>> = None;
        for cmd in batch {
            here |= match &cmd {
                DocCmd::Sync { from, .. } | DocCmd::Ephemeral { from, .. } => !from.is_mesh(),
                DocCmd::Op { .. } | DocCmd::Read(_) => true,
                _ => false,
            };
            match cmd {
                DocCmd::Read(read) => reads.push(read),
                DocCmd::StoredElsewhere { events } => match &mut elsewhere {
                    Some(all) if all.is_empty() => {}
                    Some(all) if events.is_empty() => all.clear(),
                    Some(all) => all.extend(events),
                    None => elsewhere = Some(events),
                },
                cmd => inputs.push(self.input(cmd)),
            }
        }
        if let Some(events) = elsewhere {
            match self.read_elsewhere(&events).await {
                Some(bytes) => {
                    self.behind_store = false;
                    inputs.insert(0, Input::StoredElsewhere(bytes));
                }
                None => self.behind_store = true,
            }
        }
        let syncs = inputs
            .iter()
            .filter(|i| matches!(i, Input::Sync { .. }))
            .count();
        self.env.metrics.sync_batch(syncs);
        self.handle(inputs).await;
        for read in reads {
            self.read(read);
        }
        here
    }

    /// The mesh links changed.
    pub(crate) async fn mesh_changed(&mut self) {
        let mesh = self.mesh_input();
        self.handle(vec![mesh]).await;
    }

    /// Time passed.
    pub(crate) async fn tick(&mut self) {
        self.handle(vec![Input::Tick]).await;
    }

    fn mesh_input(&mut self) -> Input<OpAnswer> {
        let live = self.env.mesh.borrow().clone();
        let links: Vec<Link> = live.iter().map(|l| l.link.clone()).collect();
        // Mesh links that went down are no longer sent to.
        for gone in std::mem::take(&mut self.mesh) {
            if !links.contains(&gone) {
                self.forget(&gone);
            }
        }
        for link in live.iter() {
            self.remember(link.clone());
        }
        self.mesh.clone_from(&links);
        Input::Mesh(links)
    }

    fn input(&mut self, cmd: DocCmd) -> Input<OpAnswer> {
        match cmd {
            DocCmd::Sync {
                from,
                message,
                request,
            } => Input::Sync {
                from: self.remember(from),
                message,
                request,
            },
            DocCmd::Ephemeral { from, presence } => Input::Ephemeral {
                from: from.link.clone(),
                presence,
            },
            DocCmd::Detach(link) => {
                self.forget(&link);
                left(&link)
            }
            DocCmd::Unavailable { from } => Input::Unavailable {
                from: from.link.clone(),
            },
            DocCmd::Offer { to, fresh, settled } => {
                if let Some(settled) = settled {
                    let waiting = self.settling.entry(to.peer().clone()).or_default();
                    waiting.push(settled);
                }
                Input::Offer {
                    to: self.remember(to),
                    fresh,
                }
            }
            DocCmd::Op { op, user, reply } => Input::Op {
                op,
                user,
                at_ms: crate::runs::link::epoch_millis(),
                reply,
            },
            DocCmd::Read(_) | DocCmd::StoredElsewhere { .. } | DocCmd::Shed | DocCmd::Leave => {
                unreachable!("taken out of the batch before")
            }
        }
    }

    /// Keeps `link` as its peer's connection for sends; returns the hub's view of it.
    fn remember(&mut self, link: PeerLink) -> Link {
        let hub_link = link.link.clone();
        self.links.insert(link.link.peer.clone(), link);
        hub_link
    }

    async fn handle(&mut self, inputs: Vec<Input<OpAnswer>>) {
        let effects = self.hub.handle_batch(self.env.now(), inputs);
        let mut queue = VecDeque::from(effects);
        while let Some(effect) = queue.pop_front() {
            let next = match effect {
                Effect::Load => {
                    let loaded = self.load().await;
                    Some(Input::Loaded(loaded))
                }
                Effect::Persist(persist) => Some(self.persist(persist).await),
                Effect::Send { to, message } => {
                    if matches!(message, WireMessage::Sync { .. }) {
                        self.env.metrics.sync_generated();
                    }
                    self.send(&to, message)
                }
                Effect::Reply { to, result } => {
                    let _ = to.send(result);
                    None
                }
                Effect::Divergence { peer, differs } => {
                    self.env.divergence.set(&peer, self.id, differs);
                    self.differs.insert(peer, differs);
                    None
                }
                Effect::Event(event) => {
                    self.event(&event);
                    None
                }
            };
            if let Some(input) = next {
                queue.extend(self.hub.handle(self.env.now(), input));
            }
        }
        self.settle();
        let stored = self.hub.stored_heads();
        if !self.behind_store {
            self.env.digests.stored(self.id, &stored);
        }
        if !stored.is_empty() {
            self.note_title();
        }
        if self.followers.receiver_count() > 0 {
            self.followers.send_if_modified(|heads| {
                let changed = *heads != stored;
                *heads = stored;
                changed
            });
        }
    }

    /// Tells whoever waits for a mesh peer that the run is in step with it, once the hub
    /// last said so (waiters for a peer it has forgotten are dropped).
    fn settle(&mut self) {
        if self.settling.is_empty() {
            return;
        }
        let (differs, links) = (&self.differs, &self.links);
        self.settling.retain(|peer, waiting| {
            if !links.contains_key(peer) {
                return false; // dropped: the waiters hear it never got in step
            }
            if differs.get(peer) == Some(&false) {
                for settled in waiting.drain(..) {
                    let _ = settled.send(());
                }
                return false;
            }
            true
        });
    }

    /// Sends to the peer's queue. A frame the queue cannot take meets core's
    /// [`node::overflow`] rule: presence is dropped; otherwise the peer is not keeping up
    /// and is cut off (it resyncs from scratch when it reconnects) rather than buffered
    /// without bound, and the hub hears that it left.
    fn send(&mut self, to: &Link, message: WireMessage) -> Option<Input<OpAnswer>> {
        let peer = self
            .links
            .get(&to.peer)
            .filter(|l| l.link.session == to.session)?;
        if matches!(message, WireMessage::Sync { .. }) {
            self.env.metrics.sync_message();
        }
        let overflow = node::overflow(&message);
        let frame = message.encode();
        let len = frame.len();
        if overflow == Overflow::Drop {
            if !peer.outbox.take_presence(len) {
                return None;
            }
        } else if !peer.outbox.take(len) {
            tracing::warn!(doc = %self.id, peer = %to.peer, "peer leaves too many bytes unread; disconnecting it");
            peer.close.cancel();
            self.forget(to);
            return Some(left(to));
        }
        match peer.tx.try_send(frame) {
            Ok(()) => None,
            Err(TrySendError::Full(_)) if overflow == Overflow::Drop => {
                peer.outbox.sent(len);
                None
            }
            Err(TrySendError::Full(_)) => {
                peer.outbox.sent(len);
                tracing::warn!(doc = %self.id, peer = %to.peer, "peer is not keeping up; disconnecting it");
                peer.close.cancel();
                self.forget(to);
                Some(left(to))
            }
            Err(TrySendError::Closed(_)) => {
                peer.outbox.sent(len);
                self.forget(to);
                Some(left(to))
            }
        }
    }

    fn forget(&mut self, link: &Link) -> Option<PeerLink> {
        if self
            .links
            .get(&link.peer)
            .is_some_and(|l| l.link.session == link.session)
        {
            self.differs.remove(&link.peer);
            return self.links.remove(&link.peer);
        }
        None
    }
}

fn left(link: &Link) -> Input<OpAnswer> {
    Input::Left {
        peer: link.peer.clone(),
        session: link.session,
    }
}
