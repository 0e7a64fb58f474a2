//! A simulated relay: the real [`RunHub`] for every run it holds, driven the way the
//! relay's shell drives it — handshakes, frames routed to hubs, mesh links flowing down,
//! stored runs reconciled by digest on a new mesh link and the ones that differ offered —
//! with a [`MemStore`] under it.
//!
//! Every effect the hubs ask for is checked as it is performed: a sync message must only
//! speak of stored changes, an answer only of stored changes, and a lookup may only be
//! started by a client.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use automerge::ChangeHash;
use runmesh_core::hub::{
    Effect, HubConfig, Input, Link, PeerKind, Persist, PersistId, RunHub, RunOp, SessionId,
};
use runmesh_core::node::{Admission, CatchUp, Grants, MeshPeers, Routed, RunDigests, route};
use runmesh_core::sync::handshake;
use runmesh_core::sync::{PeerId, PeerMetadata, WireMessage, decode_message};
use runmesh_core::{ActorId, DocumentId, Identity};

use crate::store::Shared;

mod catch_up;
mod digests;
mod mesh;

/// The most inputs and answers a hub may hold (far above what the workload brings).
const MAX_BACKLOG: usize = 1024;

/// Something the relay asks of the world.
#[derive(Debug)]
pub enum Out {
    /// Send `frame` on connection `conn`.
    Frame { conn: u64, frame: Vec<u8> },
    /// Start writing `persist` for `doc`.
    Write { doc: DocumentId, persist: Persist },
    /// Wake `doc`'s hub at `at`.
    Wake { doc: DocumentId, at: u64 },
    /// Look at the catch-ups again at `at` (an offer runs out of time).
    CatchUpWake { at: u64 },
    /// Close connection `conn` (a mesh link that lost the tie-break).
    Close { conn: u64 },
    /// Close connection `conn` once what was sent on it has arrived.
    CloseAfterSent { conn: u64 },
    /// Close `conn`, which we dialled and which lost the tie-break: the dialler stands by
    /// while the peer's link to us lives.
    StandBy { conn: u64 },
    /// A write of `doc` completed: `chunk` is in the store (for the relays sharing it).
    Stored { doc: DocumentId, chunk: Vec<u8> },
    /// Operation `op` was answered.
    Answered {
        op: u64,
        stored: bool,
        error: Option<String>,
    },
    /// A rule was broken.
    Violation(String),
}

#[derive(Debug)]
struct Session {
    peer: Option<PeerId>,
    dialled: bool,
    /// What it may do, and the runs it syncs.
    admission: Admission,
}

/// One relay.
pub struct SimRelay {
    pub index: usize,
    pub up: bool,
    pub epoch: u32,
    pub store: Shared,
    /// Every change this relay acknowledged (answered operations).
    pub acked: Vec<(DocumentId, ChangeHash)>,
    /// A deliberately broken shell: tells the hub a write is stored as soon as it starts.
    pub ack_before_write: bool,
    /// Print every effect.
    pub log: bool,
    /// A deliberately broken catch-up: loses every n-th run it is given to offer.
    pub skip_offers: Option<u64>,
    /// The fingerprints of stored runs, as the relay's index keeps them.
    digests: RunDigests,
    /// Each mesh link's catch-up, by connection.
    catch_ups: BTreeMap<u64, (Link, CatchUp)>,
    /// Whether each loaded run's hub last said it differs from a mesh peer.
    differs: BTreeMap<(DocumentId, PeerId), bool>,
    /// A run got in step with a peer since the catch-ups last looked.
    settle_pending: bool,
    /// The catch-ups are offering runs now.
    pumping: bool,
    config: Arc<HubConfig>,
    hubs: BTreeMap<DocumentId, RunHub<u64>>,
    sessions: BTreeMap<u64, Session>,
    mesh: MeshPeers<Link>,
    /// A deliberately broken tie-break: both links of a pair are kept.
    keep_duplicates: bool,
    writes: BTreeMap<(DocumentId, PersistId), Persist>,
    /// The change each operation made.
    op_changes: BTreeMap<u64, ChangeHash>,
}

fn config(index: usize, epoch: u32) -> Arc<HubConfig> {
    let mut actor = [0xA0u8; 16];
    actor[0] = index as u8;
    actor[1..5].copy_from_slice(&epoch.to_le_bytes());
    Arc::new(HubConfig {
        me: PeerId::from(format!("relay-{index}-{epoch}")),
        identity: Identity::with_actor(ActorId::from(&actor[..]), &region(index), "relay")
            .expect("a valid identity"),
        max_document_bytes: 64 * 1024 * 1024,
        snapshot_interval_events: 4,
        lookup_timeout: 3_000,
        trust_mesh: true,
        budget: None,
    })
}

/// Relay `index`'s region.
pub fn region(index: usize) -> String {
    format!("r{index}")
}

impl SimRelay {
    pub fn new(index: usize) -> Self {
        Self {
            index,
            up: true,
            epoch: 0,
            store: Shared::default(),
            acked: Vec::new(),
            ack_before_write: false,
            log: false,
            skip_offers: None,
            catch_ups: BTreeMap::new(),
            differs: BTreeMap::new(),
            settle_pending: false,
            pumping: false,
            digests: RunDigests::new(&format!("relay-{index}-0")),
            config: config(index, 0),
            hubs: BTreeMap::new(),
            sessions: BTreeMap::new(),
            mesh: MeshPeers::new(PeerId::from(format!("relay-{index}-0"))),
            keep_duplicates: false,
            writes: BTreeMap::new(),
            op_changes: BTreeMap::new(),
        }
    }

    fn metadata(&self) -> PeerMetadata {
        PeerMetadata {
            region: Some(region(self.index)),
            ..PeerMetadata::default()
        }
    }

    /// A client or relay connected to us on `conn`.
    pub fn accepted(&mut self, conn: u64) {
        self.sessions.insert(conn, session(false));
    }

    /// We dialled relay `to` on `conn`: the `join` to send.
    pub fn dialled(&mut self, conn: u64) -> Vec<u8> {
        self.sessions.insert(conn, session(true));
        handshake::join(&self.config.me, self.metadata()).encode()
    }

    /// A frame arrived on `conn`.
    pub fn on_frame(&mut self, now: u64, conn: u64, frame: &[u8], out: &mut Vec<Out>) {
        let Some(session) = self.sessions.get_mut(&conn) else {
            return;
        };
        let message = match WireMessage::decode(frame, usize::MAX) {
            Ok(m) => m,
            Err(e) => return out.push(Out::Violation(format!("undecodable frame: {e}"))),
        };
        let Some(peer) = session.peer.clone() else {
            return self.handshake(now, conn, message, out);
        };
        let link = Link {
            peer,
            session: SessionId(conn),
            kind: session.admission.kind(),
        };
        // Routed and admitted by the shipped rules (`runmesh_core::node`), as the relay's
        // sessions do.
        let routed = match route(message, &link.peer, link.kind) {
            Ok(routed) => routed,
            Err(e) => return out.push(Out::Violation(format!("a peer broke the protocol: {e}"))),
        };
        match routed {
            Routed::Sync {
                doc,
                message,
                request,
            } => {
                if let Err(why) = session.admission.sync(doc, &message, |_| Ok(())) {
                    return out.push(Out::Violation(format!("refused a sync message: {why}")));
                }
                let input = Input::Sync {
                    from: link.clone(),
                    message,
                    request,
                };
                self.feed(now, doc, vec![input], Some(&link), out);
            }
            Routed::Ephemeral {
                doc,
                sender,
                session_id,
                count,
                data,
            } => {
                let input = Input::Ephemeral {
                    from: link,
                    sender,
                    session_id,
                    count,
                    data,
                };
                self.feed(now, doc, vec![input], None, out);
            }
            Routed::Unavailable { doc } => {
                let input = Input::Unavailable { from: link };
                self.feed(now, doc, vec![input], None, out);
            }
            Routed::Digest(message) => self.on_digest(now, conn, &link, &message, out),
            Routed::End(Some(message)) => {
                out.push(Out::Violation(format!(
                    "relay {} was sent an error: {message}",
                    self.index
                )));
            }
            Routed::End(None) | Routed::Nothing => {}
        }
    }

    fn handshake(&mut self, now: u64, conn: u64, message: WireMessage, out: &mut Vec<Out>) {
        let metadata = self.metadata();
        let session = self.sessions.get_mut(&conn).expect("checked by the caller");
        let joined = if session.dialled {
            handshake::confirm(message).map_err(|e| e.to_string())
        } else {
            match handshake::accept(message, &self.config.me, &metadata) {
                Ok((joined, reply)) => {
                    out.push(Out::Frame {
                        conn,
                        frame: reply.encode(),
                    });
                    Ok(joined)
                }
                Err(refusal) => Err(format!("{refusal:?}")),
            }
        };
        let joined = match joined {
            Ok(joined) => joined,
            Err(e) => return out.push(Out::Violation(format!("handshake failed: {e}"))),
        };
        session.peer = Some(joined.peer.clone());
        let dialled = session.dialled;
        if let Some(region) = joined.metadata.region {
            session.admission = Admission::new(Grants::Mesh, usize::MAX);
            self.mesh_link_up(now, conn, joined.peer, region, dialled, out);
        }
    }

    /// Connection `conn` closed.
    pub fn closed(&mut self, now: u64, conn: u64, out: &mut Vec<Out>) {
        let Some(session) = self.sessions.remove(&conn) else {
            return;
        };
        let Some(peer) = session.peer else { return };
        self.mesh_link_down(now, conn, &peer, out);
        for &doc in session.admission.attached() {
            if self.hubs.contains_key(&doc) {
                let left = Input::Left {
                    peer: peer.clone(),
                    session: SessionId(conn),
                };
                self.feed(now, doc, vec![left], None, out);
            }
        }
    }

    /// A local operation (the REST API) on `doc`, numbered `op`. Returns the change it
    /// made, if it made one.
    pub fn op(
        &mut self,
        now: u64,
        doc: DocumentId,
        op: RunOp,
        id: u64,
        out: &mut Vec<Out>,
    ) -> Option<ChangeHash> {
        self.hub(now, doc, out);
        let before = self.hubs.get_mut(&doc)?.heads();
        let input = Input::Op {
            op,
            user: "rest".into(),
            at_ms: now,
            reply: id,
        };
        self.feed(now, doc, vec![input], None, out);
        let after = self.hubs.get_mut(&doc)?.heads();
        let change = after.into_iter().find(|h| !before.contains(h))?;
        self.op_changes.insert(id, change);
        Some(change)
    }

    /// A hub's wake-up.
    pub fn wake(&mut self, now: u64, doc: DocumentId, out: &mut Vec<Out>) {
        if self.hubs.contains_key(&doc) {
            self.feed(now, doc, vec![Input::Tick], None, out);
        }
    }

    /// A write completed (`ok`) or failed.
    pub fn written(
        &mut self,
        now: u64,
        doc: DocumentId,
        id: PersistId,
        ok: bool,
        out: &mut Vec<Out>,
    ) {
        let Some(persist) = self.writes.remove(&(doc, id)) else {
            return;
        };
        let outcome = if ok {
            self.store.get().write(doc, &persist);
            out.push(Out::Stored {
                doc,
                chunk: persist.chunk.clone(),
            });
            Input::Stored(id)
        } else {
            Input::StoreFailed(id, "simulated disk failure".into())
        };
        if self.ack_before_write {
            return; // the broken shell already said it was stored
        }
        if self.hubs.contains_key(&doc) {
            self.feed(now, doc, vec![outcome], None, out);
        }
    }

    /// Drops every run that is idle from memory.
    pub fn unload_idle(&mut self) {
        // A run a catch-up is offering stays until it is in step or out of time, as the
        // relay's run task does while someone waits for it to settle.
        let offered: std::collections::BTreeSet<DocumentId> = self
            .catch_ups
            .values()
            .flat_map(|(_, c)| c.offered().copied())
            .collect();
        self.hubs
            .retain(|doc, hub| offered.contains(doc) || !hub.is_idle());
        let hubs = &self.hubs;
        self.differs.retain(|(doc, _), _| hubs.contains_key(doc));
    }

    /// The relay crashes: memory is gone; each write in flight lands or is lost as
    /// `lands` says. Returns the connections that broke and the chunks that landed.
    pub fn crash(
        &mut self,
        mut lands: impl FnMut() -> bool,
    ) -> (Vec<u64>, Vec<(DocumentId, Vec<u8>)>) {
        self.up = false;
        self.epoch += 1;
        self.hubs.clear();
        self.mesh = self.fresh_mesh();
        self.catch_ups.clear();
        self.differs.clear();
        let mut landed = Vec::new();
        for ((doc, _), persist) in std::mem::take(&mut self.writes) {
            if lands() {
                let mut store = self.store.get();
                store.write(doc, &persist);
                store.forget_fingerprint(doc);
                landed.push((doc, persist.chunk));
            }
        }
        let broken = std::mem::take(&mut self.sessions).into_keys().collect();
        (broken, landed)
    }

    /// Another relay sharing the store appended `chunk` to `doc`.
    pub fn stored_elsewhere(
        &mut self,
        now: u64,
        doc: DocumentId,
        chunk: Vec<u8>,
        out: &mut Vec<Out>,
    ) {
        if self.hubs.contains_key(&doc) {
            self.feed(now, doc, vec![Input::StoredElsewhere(chunk)], None, out);
        } else {
            // Its digest no longer says what the store holds; and the relay that
            // appended may have no link to the regions this one links to.
            self.digests.forget(doc);
            for link in self.mesh_links() {
                self.catch_up(now, &link, [doc], out);
            }
        }
    }

    /// Notifications from the shared store were lost: every run in memory reads what
    /// the store holds.
    pub fn resync(&mut self, now: u64, out: &mut Vec<Out>) {
        self.digests.forget_all();
        // Nothing can be trusted: every link reconciles again.
        for link in self.mesh_links() {
            self.start_reconcile(link.session.0, &link.peer, out);
        }
        let docs: Vec<DocumentId> = self.hubs.keys().copied().collect();
        for doc in docs {
            let stored = self.store.get().load(doc);
            if let Some(stored) = stored {
                self.feed(
                    now,
                    doc,
                    vec![Input::StoredElsewhere(stored.bytes)],
                    None,
                    out,
                );
            }
        }
    }

    /// The relay starts again from its store, as a new process (new peer and actor id).
    pub fn restart(&mut self) -> Result<(), String> {
        self.up = true;
        self.config = config(self.index, self.epoch);
        self.mesh = self.fresh_mesh();
        self.reindex();
        self.store.get().check_loads()?;
        self.check_acked()
    }

    /// Every change this relay acknowledged is stored.
    pub fn check_acked(&mut self) -> Result<(), String> {
        for (doc, hash) in &self.acked {
            if !self.store.get().holds(*doc, hash) {
                return Err(format!(
                    "relay {} acknowledged change {hash} of {doc}, and its store lost it",
                    self.index
                ));
            }
        }
        Ok(())
    }

    /// The run `doc` as this relay holds it, loaded if need be.
    pub fn hub_for_check(&mut self, now: u64, doc: DocumentId) -> &mut RunHub<u64> {
        let mut out = Vec::new();
        self.hub(now, doc, &mut out);
        self.hubs.get_mut(&doc).expect("just loaded")
    }

    fn hub(&mut self, now: u64, doc: DocumentId, out: &mut Vec<Out>) {
        if self.hubs.contains_key(&doc) {
            return;
        }
        let hub = RunHub::new(self.config.clone(), doc);
        self.hubs.insert(doc, hub);
        let loaded = Input::Loaded(Ok(self.store.get().load(doc)));
        let mesh = Input::Mesh(self.mesh_links());
        self.feed(now, doc, vec![loaded, mesh], None, out);
    }

    /// Feeds `inputs` to `doc`'s hub as one batch and performs what it asks. `from` is
    /// the peer whose message this is, if any (lookups may only start from clients).
    fn feed(
        &mut self,
        now: u64,
        doc: DocumentId,
        inputs: Vec<Input<u64>>,
        from: Option<&Link>,
        out: &mut Vec<Out>,
    ) {
        if !self.hubs.contains_key(&doc) {
            self.hub(now, doc, out);
        }
        let hub = self.hubs.get_mut(&doc).expect("just loaded");
        let mut queue = VecDeque::from(hub.handle_batch(now, inputs));
        while let Some(effect) = queue.pop_front() {
            let hub = self.hubs.get_mut(&doc).expect("still loaded");
            if self.log {
                let what = match &effect {
                    Effect::Send { to, message } => {
                        format!("send {} to {} s{}", message.kind(), to.peer, to.session.0)
                    }
                    Effect::Persist(p) => format!("persist {:?}", p.id),
                    Effect::Reply { .. } => "reply".into(),
                    Effect::Load => "load".into(),
                    Effect::Divergence { peer, differs } => format!("divergence {peer} {differs}"),
                    Effect::Event(e) => format!("{e:?}"),
                };
                eprintln!(
                    "{now}   relay {} doc {}: {what}",
                    self.index,
                    &doc.to_string()[..4]
                );
            }
            match effect {
                Effect::Load => {
                    let loaded = Input::Loaded(Ok(self.store.get().load(doc)));
                    queue.extend(hub.handle(now, loaded));
                }
                Effect::Persist(persist) => {
                    let id = persist.id;
                    self.writes.insert((doc, id), persist.clone());
                    out.push(Out::Write { doc, persist });
                    if self.ack_before_write {
                        queue.extend(hub.handle(now, Input::Stored(id)));
                    }
                }
                Effect::Send { to, message } => {
                    if let Some(why) = self.breach(doc, &message, from) {
                        out.push(Out::Violation(why));
                    }
                    if let Some(session) = self.sessions.get(&to.session.0)
                        && session.peer.as_ref() == Some(&to.peer)
                    {
                        let frame = message.encode();
                        out.push(Out::Frame {
                            conn: to.session.0,
                            frame,
                        });
                    }
                }
                Effect::Reply { to, result } => {
                    let error = result.as_ref().err().map(ToString::to_string);
                    let stored = matches!(result, Ok(ref r) if r.changed);
                    if stored && let Some(change) = self.op_changes.get(&to).copied() {
                        if !self.store.get().holds(doc, &change) {
                            out.push(Out::Violation(format!(
                                "relay {} answered an operation on {doc} before its change {change} was stored",
                                self.index
                            )));
                        }
                        self.acked.push((doc, change));
                    }
                    out.push(Out::Answered {
                        op: to,
                        stored,
                        error,
                    });
                }
                Effect::Divergence { peer, differs } => {
                    self.note_divergence(doc, peer, differs);
                }
                Effect::Event(_) => {}
            }
        }
        let stored = self.hubs[&doc].stored_heads();
        self.digests.stored(doc, &stored);
        let hub = self.hubs.get_mut(&doc).expect("still loaded");
        if let Some(at) = hub.next_wake() {
            out.push(Out::Wake { doc, at });
        }
        if hub.backlog() > MAX_BACKLOG {
            out.push(Out::Violation(format!(
                "a hub holds {} inputs and answers",
                hub.backlog()
            )));
        }
        self.after_batch(now, out);
    }

    /// Why sending `message` about `doc` breaks a rule, if it does.
    fn breach(
        &mut self,
        doc: DocumentId,
        message: &WireMessage,
        from: Option<&Link>,
    ) -> Option<String> {
        let (data, request) = match message {
            WireMessage::Sync { data, .. } => (data, false),
            WireMessage::Request { data, .. } => (data, true),
            _ => return None,
        };
        if request && from.is_some_and(|l| l.kind == PeerKind::Mesh) {
            return Some(format!(
                "relay {} passed a mesh peer's request on to the mesh: lookups could loop",
                self.index
            ));
        }
        let sync = decode_message(data).expect("the hub encodes what it sends");
        let mut store = self.store.get();
        let unstored = sync.heads.iter().find(|h| !store.holds(doc, h))?;
        Some(format!(
            "relay {} sent a sync message for {doc} whose change {unstored} is not stored",
            self.index
        ))
    }
}

fn session(dialled: bool) -> Session {
    Session {
        peer: None,
        dialled,
        // A client until its handshake says it is a relay; the simulation's clients
        // hold every grant.
        admission: Admission::new(Grants::Open, usize::MAX),
    }
}
