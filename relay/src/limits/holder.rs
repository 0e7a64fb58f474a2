//! Each caller's share of the relay's memory, as the relay performs it: [`Holder`] names
//! a socket or change feed to [`runmesh_core::node::Holdings`] (the rule), and
//! [`sweep`] closes, every second, the holders of callers found past their share (their
//! runs grew after they opened them: changes sent before the first was weighed, or made
//! by others), telling a socket why in an `error` message.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use runmesh_core::node::Holdings;
use runmesh_core::sync::{PeerId, WireMessage};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::limits::Who;
use crate::runs::PeerLink;

/// How often callers are weighed against their share.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// Who holds what, by caller.
pub type MemoryShares = Holdings<Who, Holder>;

/// A socket or change feed that holds runs, and how to close it.
#[derive(Debug, Clone)]
pub struct Holder {
    id: u64,
    close: CancellationToken,
    /// A socket's peer and outbound queue, to say why it is closed.
    socket: Option<(PeerId, mpsc::Sender<Vec<u8>>)>,
}

impl PartialEq for Holder {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Holder {
    /// A socket's connection.
    pub fn socket(link: &PeerLink) -> Self {
        Self {
            id: link.link.session.0,
            close: link.close.clone(),
            socket: Some((link.peer().clone(), link.tx.clone())),
        }
    }

    /// A change feed, ended by cancelling `close`.
    pub fn feed(close: CancellationToken) -> Self {
        // Numbered apart from sockets' sessions, which count up from 1.
        static FEEDS: AtomicU64 = AtomicU64::new(1 << 63);
        Self {
            id: FEEDS.fetch_add(1, Ordering::Relaxed),
            close,
            socket: None,
        }
    }

    fn close_with(&self, me: &PeerId, why: &str) {
        if let Some((peer, tx)) = &self.socket {
            let error = WireMessage::error(me, Some(peer), why);
            let _ = tx.try_send(error.encode());
        }
        self.close.cancel();
    }
}

/// Closes the holders of callers past their share, every second, until `shutdown`.
pub async fn sweep(shares: Arc<MemoryShares>, me: PeerId, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(SWEEP_EVERY);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            () = shutdown.cancelled() => return,
        }
        for (holder, why) in shares.over_share() {
            tracing::warn!(%why, "closing a session or feed of a caller past its memory share");
            holder.close_with(&me, &why);
        }
    }
}
