//! [`PeerLink`]: a connection's outbound side as run tasks see it, and [`MeshLinks`],
//! the live mesh links that flow down to every run task.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use runmesh_core::hub::{Link, MemoryBudget, PeerKind, SessionId};
use runmesh_core::node::{Overflow, has_room, queue_cap};
use runmesh_core::sync::PeerId;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// What is queued for one connection, in bytes, counted in the relay's memory budget: a
/// peer that asked for a whole run again and again and read nothing was sent a copy each
/// time (its queue counted frames, not bytes: 350 bytes sent, a 40 MB run fifty times,
/// the relay dead: ninth attack, E23).
#[derive(Debug, Default)]
pub struct Outbox {
    queued: AtomicUsize,
    budget: Option<Arc<MemoryBudget>>,
    /// What it may leave unread besides one frame ([`queue_cap`]).
    cap: usize,
}

impl Outbox {
    /// Counts a frame of `len` bytes queued; `false` if the queue has no room for it
    /// (core's [`has_room`] for a frame that overflows as `overflow`: the peer is not
    /// keeping up, or presence waits behind too much) or the relay's memory
    /// (`--max-loaded-bytes`) cannot hold it.
    pub fn take(&self, overflow: Overflow, len: usize) -> bool {
        if !has_room(overflow, self.queued.load(Ordering::Acquire), len, self.cap) {
            return false;
        }
        if let Some(budget) = &self.budget
            && !budget.try_hold(len)
        {
            return false;
        }
        self.queued.fetch_add(len, Ordering::AcqRel);
        true
    }

    /// A frame of `len` bytes left the queue (written to the socket).
    pub fn sent(&self, len: usize) {
        let before = self
            .queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |q| {
                Some(q.saturating_sub(len))
            })
            .unwrap_or(0);
        if let Some(budget) = &self.budget {
            budget.release_held(before.min(len));
        }
    }

    /// The connection ended: what was still queued is dropped.
    pub fn close(&self) {
        let left = self.queued.swap(0, Ordering::AcqRel);
        if let Some(budget) = &self.budget {
            budget.release_held(left);
        }
    }
}

/// One peer connection: where its frames go and how to close it. Cloned for every
/// command and every frame a run sends, so it is one shared allocation.
#[derive(Debug, Clone)]
pub struct PeerLink(Arc<Connection>);

impl std::ops::Deref for PeerLink {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self.0
    }
}

/// What a [`PeerLink`] shares.
#[derive(Debug)]
pub struct Connection {
    /// The peer, its connection and kind, as the hub knows them.
    pub link: Link,
    /// Encoded frames to send it. Bounded: a peer that does not keep up is cut off.
    pub tx: mpsc::Sender<Vec<u8>>,
    /// Cancelled to close the connection (slow consumer, eviction, shutdown).
    pub close: CancellationToken,
    /// When the peer last sent a frame (milliseconds since the Unix epoch).
    pub last_heard: Arc<AtomicU64>,
    /// The bytes of the run frames queued for it.
    pub outbox: Arc<Outbox>,
}

impl PeerLink {
    /// Queues `frame` (relay to relay: digests, claims) within the link's queue
    /// allowance, waiting for room in its channel: a peer that leaves too much unread is
    /// cut off (its next link starts afresh). `false` if the frame was not sent (cut off,
    /// or the link closed).
    pub async fn send_mesh_frame(&self, frame: Vec<u8>) -> bool {
        let len = frame.len();
        if !self.outbox.take(Overflow::CutOff, len) {
            tracing::warn!(peer = %self.peer(), "mesh peer leaves too many bytes unread; disconnecting it");
            self.close.cancel();
            return false;
        }
        if self.tx.send(frame).await.is_err() {
            self.outbox.sent(len);
            return false;
        }
        true
    }

    /// A new connection of `peer`, numbered apart from every other connection.
    pub fn new(
        peer: PeerId,
        kind: PeerKind,
        queue: usize,
        close: CancellationToken,
        budget: Option<Arc<MemoryBudget>>,
    ) -> (Self, mpsc::Receiver<Vec<u8>>) {
        static SESSIONS: AtomicU64 = AtomicU64::new(1);
        let session = SessionId(SESSIONS.fetch_add(1, Ordering::Relaxed));
        let (tx, rx) = mpsc::channel(queue);
        let link = Connection {
            link: Link {
                peer,
                session,
                kind,
            },
            tx,
            close,
            last_heard: Arc::new(AtomicU64::new(0)),
            outbox: Arc::new(Outbox {
                queued: AtomicUsize::new(0),
                budget,
                cap: queue_cap(kind),
            }),
        };
        (Self(Arc::new(link)), rx)
    }

    /// The peer.
    pub fn peer(&self) -> &PeerId {
        &self.link.peer
    }

    /// Whether the peer is another relay.
    pub fn is_mesh(&self) -> bool {
        self.link.kind == PeerKind::Mesh
    }

    /// Notes that a frame arrived from the peer.
    pub fn heard(&self) {
        self.last_heard.store(epoch_millis(), Ordering::Relaxed);
    }

    /// When the peer last sent a frame, if it has.
    pub fn last_heard(&self) -> Option<u64> {
        Some(self.last_heard.load(Ordering::Relaxed)).filter(|t| *t > 0)
    }
}

/// The live mesh links, published by the mesh and read by every run task.
pub type MeshLinks = Arc<Vec<PeerLink>>;

/// Milliseconds since the Unix epoch, now.
pub fn epoch_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl runmesh_core::node::Conn for PeerLink {
    fn link(&self) -> &Link {
        &self.link
    }
}
