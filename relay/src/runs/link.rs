//! [`PeerLink`]: a connection's outbound side as run tasks see it, and [`MeshLinks`],
//! the live mesh links that flow down to every run task.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use runmesh_core::hub::{Link, PeerKind, SessionId};
use runmesh_core::sync::PeerId;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// One peer connection: where its frames go and how to close it.
#[derive(Debug, Clone)]
pub struct PeerLink {
    /// The peer, its connection and kind, as the hub knows them.
    pub link: Link,
    /// Encoded frames to send it. Bounded: a peer that does not keep up is cut off.
    pub tx: mpsc::Sender<Vec<u8>>,
    /// Cancelled to close the connection (slow consumer, eviction, shutdown).
    pub close: CancellationToken,
    /// When the peer last sent a frame (milliseconds since the Unix epoch).
    pub last_heard: Arc<AtomicU64>,
}

impl PeerLink {
    /// A new connection of `peer`, numbered apart from every other connection.
    pub fn new(
        peer: PeerId,
        kind: PeerKind,
        queue: usize,
        close: CancellationToken,
    ) -> (Self, mpsc::Receiver<Vec<u8>>) {
        static SESSIONS: AtomicU64 = AtomicU64::new(1);
        let session = SessionId(SESSIONS.fetch_add(1, Ordering::Relaxed));
        let (tx, rx) = mpsc::channel(queue);
        let link = Self {
            link: Link {
                peer,
                session,
                kind,
            },
            tx,
            close,
            last_heard: Arc::new(AtomicU64::new(0)),
        };
        (link, rx)
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
