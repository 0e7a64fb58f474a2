//! Reconciling the stored runs with a mesh peer's by digest ([`runmesh_core::digest`]):
//! the relay that dialled the link starts, each digest frame is answered from the
//! index, and the runs found to differ go to the link's catch-up, whose worker offers
//! them a few at a time.

use std::sync::Arc;
use std::time::Duration;

use runmesh_core::DocumentId;
use runmesh_core::digest::{self, DigestMessage};
use runmesh_core::node::SETTLE_MS;
use runmesh_core::sync::WireMessage;
use tokio::sync::{Notify, oneshot};

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
    pub async fn reconcile(&self, link: &PeerLink, message: DigestMessage) {
        // Off the runtime's threads: a reply over a large index is CPU work.
        let digests = self.digests().clone();
        let answered =
            tokio::task::spawn_blocking(move || digest::respond(digests.lock().index(), &message))
                .await;
        let Ok(step) = answered else {
            return; // the relay is shutting down
        };
        for reply in &step.replies {
            self.send_digest(link, reply).await;
        }
        if !step.offer.is_empty() {
            tracing::debug!(peer = %link.peer(), runs = step.offer.len(), "CRDT mesh: runs to offer after reconciling");
            self.offer(link, step.offer, false);
        }
    }

    /// Queues `runs` on `link`'s catch-up (`fresh`: a forced resync), which offers them
    /// [`runmesh_core::node::IN_FLIGHT`] at a time.
    pub fn offer(&self, link: &PeerLink, runs: impl IntoIterator<Item = DocumentId>, fresh: bool) {
        if let Some(wake) = self.catch_ups().enqueue(link, runs, fresh) {
            tokio::spawn(offer_queued(self.clone(), link.clone(), wake));
        }
    }

    /// Sends a digest frame within the link's queue allowance, as every frame to a peer
    /// is: a peer that leaves too much unread is cut off (its next link reconciles
    /// afresh), and a closed link drops the frame.
    async fn send_digest(&self, link: &PeerLink, message: &DigestMessage) {
        let frame = WireMessage::Digest {
            sender_id: self.me().clone(),
            target_id: link.peer().clone(),
            data: message.encode(),
        }
        .encode();
        let len = frame.len();
        if !link.outbox.take(len) {
            tracing::warn!(peer = %link.peer(), "mesh peer leaves too many bytes unread; disconnecting it");
            link.close.cancel();
            return;
        }
        if link.tx.send(frame).await.is_err() {
            link.outbox.sent(len);
        }
    }
}

/// How soon a catch-up that found no room under the memory bound looks again.
const ROOM_POLL: Duration = Duration::from_millis(20);

/// Offers the runs queued for `link` as its [`runmesh_core::node::CatchUp`] lets them
/// go, until the link closes or its catch-up is forgotten: each counts once its task
/// says it is in step with the peer, or after [`SETTLE_MS`].
async fn offer_queued(docs: Documents, link: PeerLink, wake: Arc<Notify>) {
    loop {
        let now = docs.env().now();
        let free = docs.env().mesh_residents().free();
        let Some((due, next, waiting)) = docs.catch_ups().due(&link, now, free) else {
            return;
        };
        // Runs wait and none could go: the room (or the runs in flight) holds them back.
        let stalled = due.is_empty() && waiting;
        if stalled {
            docs.release_mesh_residents();
        }
        for (run, fresh) in due {
            tokio::spawn(offer(docs.clone(), link.clone(), run, fresh));
        }
        let mut later = next.map(|at| docs.env().instant(at));
        if stalled {
            // Runs asked to leave do not wake this worker: look again soon.
            let soon = std::time::Instant::now() + ROOM_POLL;
            later = Some(later.map_or(soon, |at| at.min(soon)));
        }
        tokio::select! {
            () = wake.notified() => {}
            () = sleep_until_some(later) => {}
            () = link.close.cancelled() => return,
        }
    }
}

/// Offers `run` to the peer on `link` and reports whether it got in step in time.
async fn offer(docs: Documents, link: PeerLink, run: DocumentId, fresh: bool) {
    let (settled, in_step) = oneshot::channel();
    let cmd = DocCmd::Offer {
        to: link.clone(),
        fresh,
        settled: Some(settled),
    };
    docs.send(run, cmd).await;
    let settle = Duration::from_millis(SETTLE_MS);
    let in_step = matches!(tokio::time::timeout(settle, in_step).await, Ok(Ok(())));
    let weight = docs
        .env()
        .mesh_residents()
        .weight_of(runmesh_core::RunId::from(run));
    docs.catch_ups()
        .finished(&link, run, in_step, weight.unwrap_or(0));
    docs.metrics().mesh_caught_up(in_step);
}

async fn sleep_until_some(at: Option<std::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
