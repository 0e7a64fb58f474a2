//! A simulated relay: the real [`RunHub`] for every run it holds, driven the way the
//! relay's shell drives it, with the relay's own rules from `runmesh_core::node`, over a
//! [`MemStore`]:
//! - `sessions.rs`: connections, handshakes, frames routed and admitted;
//! - `feed.rs`: a hub batch in, its effects performed and checked (a sync message or an
//!   answer speaks only of stored changes, a lookup starts only from a client);
//! - `mesh.rs`: one link per relay pair and the tie-break; `digests.rs`: the index of
//!   stored runs and reconciliation; `catch_up.rs`: offering the runs that differ.

use std::collections::BTreeMap;
use std::sync::Arc;

use automerge::ChangeHash;
use runmesh_core::hub::{HubConfig, Link, Persist, PersistId, RunHub, RunOp};
use runmesh_core::node::{Admission, Command, IdlePeriods, RelayMesh, RunShard};
use runmesh_core::sync::{PeerId, PeerMetadata};
use runmesh_core::{ActorId, DocumentId, Identity};

use crate::store::Shared;

mod catch_up;
mod digests;
mod feed;
mod mesh;
mod reach;
mod sessions;

/// A run's shard as the simulated relay holds it: operations answered by number,
/// catch-up waiters named by their link.
type Shard = RunShard<u64, Link, Link>;

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
    /// Claims of where runs are stored this relay heard (the world checks them).
    Claims(Vec<runmesh_core::reach::Claim>),
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
    /// Deliberately broken shards: they tell the heads in memory as stored, so claims of
    /// where changes are stored come before the store holds them.
    pub tell_heads_early: bool,
    /// Print every effect.
    pub log: bool,
    /// A deliberately broken catch-up: loses every n-th run it is given to offer.
    skip_offers: Option<u64>,
    /// Offered runs their shard said are in step with a catch-up's peer.
    in_step: Vec<(Link, DocumentId)>,
    /// A run got in step with a peer since the catch-ups last looked.
    settle_pending: bool,
    /// The catch-ups are offering runs now.
    pumping: bool,
    config: Arc<HubConfig>,
    /// The loaded runs.
    shards: BTreeMap<DocumentId, Shard>,
    /// How long idle runs stay in memory.
    pub idle: IdlePeriods,
    sessions: BTreeMap<u64, Session>,
    /// The mesh links, the digest index of stored runs and each link's catch-up.
    mesh: RelayMesh<Link>,
    /// Which regions' stores hold which runs' changes, as this relay knows.
    reach: runmesh_core::reach::ReachTable,
    /// A deliberately broken tie-break: both links of a pair are kept.
    keep_duplicates: bool,
    /// A deliberately broken admission: a session is admitted as if it held every grant.
    pub ignore_grants: bool,
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
            tell_heads_early: false,
            log: false,
            skip_offers: None,
            in_step: Vec::new(),
            settle_pending: false,
            pumping: false,
            config: config(index, 0),
            shards: BTreeMap::new(),
            idle: IdlePeriods {
                used: 30_000,
                untouched: 2_000,
            },
            sessions: BTreeMap::new(),
            mesh: RelayMesh::new(PeerId::from(format!("relay-{index}-0"))),
            reach: runmesh_core::reach::ReachTable::new(
                PeerId::from(format!("relay-{index}-0")),
                region(index),
                reach::EPOCH,
            ),
            keep_duplicates: false,
            ignore_grants: false,
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
        let before = self.shards.get_mut(&doc)?.hub().heads();
        let input = Command::Op {
            op,
            user: "rest".into(),
            at_ms: now,
            reply: id,
        };
        self.feed(now, doc, vec![input], None, out);
        let after = self.shards.get_mut(&doc)?.hub().heads();
        let change = after.into_iter().find(|h| !before.contains(h))?;
        self.op_changes.insert(id, change);
        Some(change)
    }

    /// A run's wake-up: time passes for its shard, and it leaves memory if the shard
    /// says so (as the relay's run task does).
    pub fn wake(&mut self, now: u64, doc: DocumentId, out: &mut Vec<Out>) {
        let offered = self.offered().contains(&doc);
        let Some(shard) = self.shards.get_mut(&doc) else {
            return;
        };
        let (effects, leave) = shard.wake(now, false, offered);
        self.perform(now, doc, effects, None, out);
        if leave {
            self.unload(doc);
        }
    }

    /// Wakes `doc` when it may leave memory, if it is idle now: a run that is not idle
    /// becomes so through an input, which looks again. (The relay's run task wakes
    /// anyway; here a wake-up that can do nothing would keep the world busy.)
    pub(super) fn wake_to_leave(&mut self, doc: DocumentId, out: &mut Vec<Out>) {
        let offered = self.offered().contains(&doc);
        let shard = self.shards.get_mut(&doc).expect("loaded");
        if offered || !shard.is_idle() {
            return;
        }
        out.push(Out::Wake {
            doc,
            at: shard.next_wake(false),
        });
    }

    /// The runs a catch-up is offering: they stay until they are in step or out of
    /// time, as the relay's run task does while someone waits for it to settle.
    fn offered(&self) -> std::collections::BTreeSet<DocumentId> {
        self.mesh.reconciliation_ref().offered().copied().collect()
    }

    fn unload(&mut self, doc: DocumentId) {
        self.shards.remove(&doc);
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
            Command::Stored(id)
        } else {
            Command::StoreFailed(id, "simulated disk failure".into())
        };
        if self.ack_before_write {
            return; // the broken shell already said it was stored
        }
        if self.shards.contains_key(&doc) {
            self.feed(now, doc, vec![outcome], None, out);
        }
    }

    /// Drops every run that is idle from memory.
    pub fn unload_idle(&mut self) {
        let offered = self.offered();
        let mut idle = Vec::new();
        for (doc, shard) in &mut self.shards {
            if !offered.contains(doc) && shard.is_idle() {
                idle.push(*doc);
            }
        }
        for doc in idle {
            self.unload(doc);
        }
    }

    /// The relay crashes: memory is gone; each write in flight lands or is lost as
    /// `lands` says. Returns the connections that broke and the chunks that landed.
    pub fn crash(
        &mut self,
        mut lands: impl FnMut() -> bool,
    ) -> (Vec<u64>, Vec<(DocumentId, Vec<u8>)>) {
        self.up = false;
        self.epoch += 1;
        self.shards.clear();
        self.mesh = self.fresh_mesh();
        self.in_step.clear();
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
        self.mesh.reconciliation().changed_elsewhere(doc);
        if self.shards.contains_key(&doc) {
            let read = Command::StoredElsewhere(Some(chunk));
            self.feed(now, doc, vec![read], None, out);
        } else {
            let links = self.mesh_links();
            self.mesh
                .reconciliation()
                .offer_everywhere(now, doc, &links);
            self.offer_due(now, out);
        }
    }

    /// Notifications from the shared store were lost: every run in memory reads what
    /// the store holds.
    pub fn resync(&mut self, now: u64, out: &mut Vec<Out>) {
        // Nothing can be trusted: every link reconciles again.
        let first = self.mesh.reconciliation().lapsed();
        for link in self.mesh_links() {
            self.send_digest(link.session.0, &link.peer, &first, out);
        }
        let docs: Vec<DocumentId> = self.shards.keys().copied().collect();
        for doc in docs {
            let stored = self.store.get().load(doc);
            if let Some(stored) = stored {
                self.feed(
                    now,
                    doc,
                    vec![Command::StoredElsewhere(Some(stored.bytes))],
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
        self.reach = self.fresh_reach();
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
        self.shards.get_mut(&doc).expect("just loaded").hub()
    }
}
