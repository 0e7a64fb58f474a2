//! Reconciling the stored runs with a mesh peer's by digest ([`runmesh_core::digest`]):
//! the relay that dialled the link starts, each digest frame is answered from the
//! index, and the runs found to differ go to the link's catch-up.

use runmesh_core::digest::{self, DigestMessage};
use runmesh_core::sync::WireMessage;

use crate::docs::link::PeerLink;
use crate::docs::registry::Documents;

impl Documents {
    /// Starts reconciling with the peer at the other end of `link`.
    pub async fn start_reconcile(&self, link: &PeerLink) {
        let first = digest::start(&self.digests().lock());
        self.send_digest(link, &first).await;
    }

    /// Answers a digest frame from the peer at the other end of `link`, and queues the
    /// runs this relay must offer it.
    pub async fn reconcile(&self, link: &PeerLink, message: &DigestMessage) {
        let step = digest::respond(&self.digests().lock(), message);
        for reply in &step.replies {
            self.send_digest(link, reply).await;
        }
        if !step.offer.is_empty() {
            tracing::debug!(peer = %link.peer(), runs = step.offer.len(), "CRDT mesh: runs to offer after reconciling");
            self.catch_ups().enqueue(self, link, step.offer, false);
        }
    }

    async fn send_digest(&self, link: &PeerLink, message: &DigestMessage) {
        let frame = WireMessage::Digest {
            sender_id: self.me().clone(),
            target_id: link.peer().clone(),
            data: message.encode(),
        };
        // A closed link drops the frame: its next link reconciles afresh.
        let _ = link.tx.send(frame.encode()).await;
    }
}
