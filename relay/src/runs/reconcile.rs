//! Reconciling the stored runs with a mesh peer's by digest ([`runmesh_core::digest`]):
//! the relay that dialled the link starts, each digest frame is answered from the
//! index, and the runs found to differ go to the link's catch-up, whose worker offers
//! them a few at a time.

use futures_util::StreamExt;
use runmesh_core::DocumentId;
use runmesh_core::digest::{self, DigestMessage};
use runmesh_core::sync::WireMessage;
use tokio::sync::oneshot;

use crate::runs::catch_up::{IN_FLIGHT, Queued, SETTLE};
use crate::runs::command::DocCmd;
use crate::runs::link::PeerLink;
use crate::runs::registry::Documents;

impl Documents {
    /// Starts reconciling with the peer at the other end of `link`.
    pub async fn start_reconcile(&self, link: &PeerLink) {
        let first = digest::start(self.digests().lock().index());
        self.send_digest(link, &first).await;
    }

    /// Answers a digest frame from the peer at the other end of `link`, and queues the
    /// runs this relay must offer it.
    pub async fn reconcile(&self, link: &PeerLink, message: &DigestMessage) {
        let step = digest::respond(self.digests().lock().index(), message);
        for reply in &step.replies {
            self.send_digest(link, reply).await;
        }
        if !step.offer.is_empty() {
            tracing::debug!(peer = %link.peer(), runs = step.offer.len(), "CRDT mesh: runs to offer after reconciling");
            self.offer(link, step.offer, false);
        }
    }

    /// Queues `runs` on `link`'s catch-up (`fresh`: a forced resync), which offers them
    /// [`IN_FLIGHT`] at a time.
    pub fn offer(&self, link: &PeerLink, runs: impl IntoIterator<Item = DocumentId>, fresh: bool) {
        if let Some(queued) = self.catch_ups().enqueue(link, runs, fresh) {
            tokio::spawn(offer_queued(self.clone(), link.clone(), queued));
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

/// Offers the runs queued for `link`, [`IN_FLIGHT`] at a time, until the link closes: each
/// counts once its task says it is in step with the peer, or after [`SETTLE`].
async fn offer_queued(docs: Documents, link: PeerLink, queued: Queued) {
    let runs = futures_util::stream::unfold(queued, |mut rx| async move {
        rx.recv().await.map(|run| (run, rx))
    });
    let closed = link.close.clone();
    let offers = runs
        .take_until(closed.cancelled_owned())
        .for_each_concurrent(IN_FLIGHT, |(run, fresh)| {
            let (docs, link) = (&docs, &link);
            async move {
                let (settled, in_step) = oneshot::channel();
                let to = link.clone();
                let offer = DocCmd::Offer {
                    to,
                    fresh,
                    settled: Some(settled),
                };
                docs.send(run, offer).await;
                let settled = tokio::time::timeout(SETTLE, in_step).await;
                let in_step = matches!(settled, Ok(Ok(())));
                docs.catch_ups().finished(link, in_step);
                docs.metrics().mesh_caught_up(in_step);
            }
        });
    offers.await;
}
