//! The task that owns one document: its Automerge state, its peers' sync sessions and
//! its storage. Commands are handled in batches: every change in a batch is applied,
//! then made durable with one append (one fsync), and only then are replies and
//! forwarded sync messages sent — group commit, and nothing leaves before it is stored.

mod io;
mod lookup;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use automerge::ChangeHash;
use runmesh_core::sync::{DocSync, PeerId, WireMessage};
use runmesh_core::{DocumentId, Identity, RunDoc, RunId};
use tokio::sync::{mpsc, oneshot};

use crate::config::Config;
use crate::docs::command::{DocCmd, OpError, OpReply, PeerLink, Read};
use crate::docs::doc::Doc;
use crate::docs::ops::apply_op;
use crate::docs::registry::Registry;
use crate::metrics::Metrics;
use crate::store::Store;

/// Most commands handled in one batch (one fsync).
const BATCH: usize = 128;

/// What every document task shares.
#[derive(Debug)]
pub struct DocContext {
    /// Checked configuration.
    pub config: Arc<Config>,
    /// Where documents are stored.
    pub store: Arc<dyn Store>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// The task registry (to hand over commands when a task leaves).
    pub registry: Registry,
    /// This relay's peer id.
    pub me: PeerId,
    /// This relay's identity for changes it writes (one actor id per process).
    pub identity: Identity,
    /// Links to relays in other regions.
    pub mesh: crate::mesh::Mesh,
    /// Checks credentials.
    pub verifier: crate::auth::Verifier,
    /// Per-user change limits.
    pub limits: crate::limits::MutationLimits,
    /// TLS settings for dialling `wss://` mesh peers.
    pub mesh_tls: std::sync::Arc<rustls::ClientConfig>,
}

pub(crate) struct Actor {
    ctx: Arc<DocContext>,
    id: DocumentId,
    run_id: RunId,
    doc: Result<Option<Doc>, String>,
    sync: DocSync,
    links: HashMap<PeerId, PeerLink>,
    persisted: Vec<ChangeHash>,
    since_snapshot: u32,
    /// Bytes the store holds for this document (snapshot plus chunks after it): what
    /// `--max-document-bytes` limits.
    stored_bytes: usize,
    /// Sync changed the document since its run view was last refreshed.
    stale: bool,
    /// Mesh peers asked for this (unknown) document, still to answer.
    asked: HashSet<PeerId>,
    /// Clients waiting for the answer of that lookup.
    waiting: HashSet<PeerId>,
    /// When the lookup gives up.
    lookup_deadline: Option<Instant>,
}

/// Replies held back until the batch is durable.
enum Pending {
    Op(
        oneshot::Sender<Result<OpReply, OpError>>,
        Result<OpReply, OpError>,
    ),
}

pub(crate) async fn run(
    ctx: Arc<DocContext>,
    id: DocumentId,
    generation: u64,
    mut rx: mpsc::Receiver<DocCmd>,
) {
    let mut actor = Actor::load(ctx.clone(), id).await;
    ctx.metrics.runs_loaded(1);
    loop {
        let wait = actor.next_wake(ctx.config.idle_unload);
        let first = match tokio::time::timeout(wait, rx.recv()).await {
            Ok(Some(cmd)) => cmd,
            Ok(None) => break,
            Err(_) => {
                let mut out = Vec::new();
                if actor.expire_lookup(&mut out) {
                    actor.send(out);
                    continue;
                }
                // Mesh links are attached to every loaded run; only clients keep it in
                // memory.
                let idle =
                    actor.links.values().all(|l| l.is_mesh) && actor.lookup_deadline.is_none();
                if idle && ctx.registry.leave(&id, generation, &rx) {
                    break;
                }
                continue;
            }
        };
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(cmd) => batch.push(cmd),
                Err(_) => break,
            }
        }
        actor.handle_batch(batch).await;
    }
    ctx.metrics.runs_loaded(-1);
    ctx.metrics.forget_run(&actor.run_id.to_string());
    // Anything sent after we left the registry goes to a fresh task.
    rx.close();
    while let Ok(cmd) = rx.try_recv() {
        ctx.registry.send(&ctx, id, cmd).await;
    }
}

impl Actor {
    async fn load(ctx: Arc<DocContext>, id: DocumentId) -> Self {
        let run_id = RunId::from(id);
        let store = ctx.store.clone();
        let loaded = tokio::task::spawn_blocking(move || store.load(&id)).await;
        let (doc, since_snapshot, stored_bytes) = match loaded {
            Ok(Ok(None)) => (Ok(None), 0, 0),
            Ok(Ok(Some(stored))) => {
                let bytes = stored.concat();
                match Doc::load(run_id, ctx.identity.clone(), &bytes) {
                    Ok(doc) => (Ok(Some(doc)), stored.chunks.len() as u32, bytes.len()),
                    Err(e) => (Err(e), 0, 0),
                }
            }
            Ok(Err(e)) => (Err(e.to_string()), 0, 0),
            Err(e) => (Err(format!("loading task failed: {e}")), 0, 0),
        };
        if let Err(e) = &doc {
            tracing::error!(doc = %id, error = %e, "stored document cannot be loaded; refusing to serve it");
        }
        let mut actor = Self {
            sync: DocSync::new(id.to_string(), ctx.me.clone()),
            ctx,
            id,
            run_id,
            doc,
            links: HashMap::new(),
            persisted: Vec::new(),
            since_snapshot,
            stored_bytes,
            stale: false,
            asked: HashSet::new(),
            waiting: HashSet::new(),
            lookup_deadline: None,
        };
        if let Ok(Some(doc)) = &mut actor.doc {
            actor.persisted = doc.automerge().get_heads();
        }
        actor
    }

    async fn handle_batch(&mut self, batch: Vec<DocCmd>) {
        let mut out: Vec<(PeerId, WireMessage)> = Vec::new();
        let mut pending = Vec::new();
        let mut changed = false;
        let mut source_region = self.ctx.config.region.clone();
        self.attach_mesh(&mut out);
        for cmd in batch {
            match cmd {
                DocCmd::Sync {
                    from,
                    data,
                    request,
                } => changed |= self.on_sync(from, &data, request, &mut out),
                DocCmd::Ephemeral { from, message } => {
                    self.relay_ephemeral(&from, message, &mut out)
                }
                DocCmd::Detach { peer, session } => {
                    // Only if it is still that connection: the peer may have reconnected.
                    if self.links.get(&peer).is_some_and(|l| l.session == session) {
                        self.links.remove(&peer);
                        self.sync.remove_peer(&peer);
                    }
                }
                DocCmd::Offer { to } => self.offer(to, &mut out),
                DocCmd::Unavailable { from } => self.mesh_unavailable(&from, &mut out),
                DocCmd::Op { op, user, reply } => {
                    self.refresh_view();
                    if let crate::docs::command::RunOp::ApplyBytes {
                        source_region: r, ..
                    } = &op
                    {
                        source_region = r.clone();
                    }
                    let result = self.op(op, &user);
                    if let Ok(r) = &result {
                        changed |= r.changed;
                    }
                    pending.push(Pending::Op(reply, result));
                }
                DocCmd::Read(read) => {
                    self.refresh_view();
                    self.read(read);
                }
            }
        }
        self.refresh_view();
        if changed {
            if let Some(doc) = self.doc.as_mut().ok().and_then(Option::as_mut) {
                // Peers that asked before the document existed here hear of it now.
                let waiting: Vec<PeerId> = self
                    .links
                    .keys()
                    .filter(|p| !self.sync.has_peer(p))
                    .cloned()
                    .collect();
                for peer in waiting {
                    if let Some(message) = self.sync.add_peer(doc.automerge(), &peer) {
                        out.push((peer, message));
                    }
                }
                self.sync.local_change();
                self.lookup_done();
            }
            self.attach_mesh(&mut out);
            if let Err(e) = self.persist(&source_region).await {
                tracing::error!(doc = %self.id, error = %e, "could not store changes; not acknowledging them");
                for Pending::Op(reply, _) in pending {
                    let _ = reply.send(Err(OpError::Storage(e.clone())));
                }
                return;
            }
        }
        // One message per peer for the whole batch, sent only now that it is durable.
        if let Some(doc) = self.doc.as_mut().ok().and_then(Option::as_mut) {
            out.extend(self.sync.flush(doc.automerge()));
            self.report_divergence();
        }
        for Pending::Op(reply, result) in pending {
            let _ = reply.send(result);
        }
        self.send(out);
    }

    fn on_sync(
        &mut self,
        from: PeerLink,
        data: &[u8],
        request: bool,
        out: &mut Vec<(PeerId, WireMessage)>,
    ) -> bool {
        self.ctx.metrics.sync_message();
        let peer = from.peer.clone();
        if let Err(why) = &self.doc {
            // An unreadable stored document is this document's problem, not the
            // connection's: answer `doc-unavailable` (an `error` would close the socket,
            // and with it every other run a mesh link carries).
            tracing::warn!(doc = %self.id, %peer, error = %why, "asked for an unreadable document");
            let message = WireMessage::DocUnavailable {
                document_id: self.id.to_string(),
                sender_id: self.ctx.me.clone(),
                target_id: peer.clone(),
            };
            self.attach(from);
            out.push((peer, message));
            return false;
        }
        if request && matches!(self.doc, Ok(None)) {
            self.lookup(from, out);
            return false;
        }
        self.attach(from);
        let actor = self.ctx.identity.actor().clone();
        if let Some(why) = self.too_large(data) {
            out.push((peer.clone(), self.error_message(&peer, why)));
            return false;
        }
        let Ok(slot) = &mut self.doc else {
            unreachable!("checked above")
        };
        let doc = slot.get_or_insert_with(|| {
            Doc::Plain(Box::new(automerge::AutoCommit::new().with_actor(actor)))
        });
        match self.sync.receive(doc.automerge(), &peer, data) {
            Ok(changed) => {
                // The run's view is brought up to date once per batch, not per message.
                self.stale |= changed;
                changed
            }
            Err(e) => {
                self.ctx.metrics.sync_failure();
                tracing::warn!(doc = %self.id, peer = %peer, error = %e, "refused a sync message");
                out.push((peer.clone(), self.error_message(&peer, e.to_string())));
                false
            }
        }
    }

    /// Records `link` as this peer's connection. A new connection of a known peer starts
    /// a new sync session: the old one's state belongs to a socket that is gone.
    pub(super) fn attach(&mut self, link: PeerLink) {
        if let Some(old) = self.links.get(&link.peer)
            && old.session != link.session
        {
            self.sync.remove_peer(&link.peer);
        }
        self.links.insert(link.peer.clone(), link);
    }

    /// Brings the run view up to date after sync changes (or notices that a plain
    /// document has become a run).
    fn refresh_view(&mut self) {
        if !std::mem::take(&mut self.stale) {
            return;
        }
        if let Ok(slot) = &mut self.doc
            && let Some(doc) = slot.take()
        {
            *slot = Some(doc.after_sync(self.run_id, &self.ctx.identity));
        }
    }

    fn offer(&mut self, to: PeerLink, out: &mut Vec<(PeerId, WireMessage)>) {
        if !matches!(self.doc, Ok(Some(_))) {
            return;
        }
        let peer = to.peer.clone();
        // A fresh session: a forced resync (register-peer) starts from scratch.
        self.sync.remove_peer(&peer);
        self.attach(to);
        let Ok(Some(doc)) = &mut self.doc else { return };
        if let Some(message) = self.sync.add_peer(doc.automerge(), &peer) {
            out.push((peer, message));
        }
    }

    fn relay_ephemeral(
        &mut self,
        from: &PeerId,
        message: WireMessage,
        out: &mut Vec<(PeerId, WireMessage)>,
    ) {
        let WireMessage::Ephemeral {
            count,
            session_id,
            data,
            ..
        } = message
        else {
            return;
        };
        for peer in self.links.keys().filter(|p| *p != from) {
            out.push((
                peer.clone(),
                WireMessage::Ephemeral {
                    sender_id: from.clone(),
                    target_id: peer.clone(),
                    count,
                    session_id: session_id.clone(),
                    document_id: self.id.to_string(),
                    data: data.clone(),
                },
            ));
        }
    }

    /// Why a message carrying `incoming` bytes of changes would make this document too
    /// large, if it would (messages without changes always pass).
    fn too_large(&self, incoming: &[u8]) -> Option<String> {
        let max = self.ctx.config.max_document_bytes;
        if self.stored_bytes + incoming.len() <= max {
            return None;
        }
        let carries_changes = automerge::sync::Message::decode(incoming)
            .map(|m| !m.changes.is_empty())
            .unwrap_or(true);
        carries_changes.then(|| {
            format!(
                "run {} holds {} bytes; these changes would pass the limit of {max} bytes (--max-document-bytes): refused, nothing applied",
                self.run_id, self.stored_bytes
            )
        })
    }

    fn op(&mut self, op: crate::docs::command::RunOp, user: &str) -> Result<OpReply, OpError> {
        let incoming = match &op {
            crate::docs::command::RunOp::ApplyBytes { bytes, .. } => bytes.len(),
            _ => 1024,
        };
        let max = self.ctx.config.max_document_bytes;
        if self.stored_bytes + incoming > max {
            return Err(OpError::TooLarge(format!(
                "run {} holds {} bytes; this change would pass the limit of {max} bytes (--max-document-bytes)",
                self.run_id, self.stored_bytes
            )));
        }
        let doc = self.doc.as_mut().map_err(|e| OpError::Broken(e.clone()))?;
        let reply = apply_op(doc, self.run_id, &self.ctx.identity, op, user)?;
        if let Some(Doc::Run(run)) = doc {
            self.ctx
                .metrics
                .lamport(&self.run_id.to_string(), run.lamport());
        }
        Ok(reply)
    }

    fn read(&mut self, read: Read) {
        let run = match &mut self.doc {
            Err(e) => Err(OpError::Broken(e.clone())),
            Ok(None) => Err(OpError::NotFound),
            Ok(Some(Doc::Plain(_))) => Err(OpError::NotARun("it has no run containers".into())),
            Ok(Some(Doc::Run(run))) => Ok(run),
        };
        match read {
            Read::State(reply) => {
                let _ = reply.send(run.map(|r| r.state()));
            }
            Read::Changes(reply) => {
                let bytes = match &mut self.doc {
                    Ok(Some(doc)) => Ok(doc.automerge().save()),
                    Ok(None) => Err(OpError::NotFound),
                    Err(e) => Err(OpError::Broken(e.clone())),
                };
                let _ = reply.send(bytes);
            }
            Read::History(reply) => {
                let _ = reply.send(run.map(|r| r.history()));
            }
            Read::Heads(reply) => {
                let heads = match &mut self.doc {
                    Ok(Some(doc)) => doc
                        .automerge()
                        .get_heads()
                        .iter()
                        .map(ToString::to_string)
                        .collect(),
                    _ => Vec::new(),
                };
                let _ = reply.send(heads);
            }
        }
    }

    fn error_message(&self, peer: &PeerId, message: String) -> WireMessage {
        WireMessage::Error {
            message,
            sender_id: Some(self.ctx.me.clone()),
            target_id: Some(peer.clone()),
        }
    }
}

/// A run document for a REST operation on a run the relay has never seen: the genesis.
pub(crate) fn new_run(run_id: RunId, identity: &Identity) -> RunDoc {
    RunDoc::genesis(run_id, identity.clone())
}
