//! Reconciling the stored runs with a mesh peer's by digest, as core's
//! [`Reconciliation`](runmesh_core::node::Reconciliation) decides: the relay that dialled
//! the link starts, each digest frame is answered from the index, and the runs found to
//! differ go to the link's catch-up, whose worker offers them a few at a time.

use std::sync::Arc;
use std::time::Duration;

use runmesh_core::DocumentId;
use runmesh_core::digest::DigestMessage;
use runmesh_core::node::SETTLE_MS;
use runmesh_core::sync::WireMessage;
use tokio::sync::{Notify, oneshot};

use crate::runs::command::DocCmd;
use crate::runs::link::PeerLink;
use crate::runs::registry::Documents;

impl Documents {
    /// Starts reconciling with the peer at the other end of `link`: the first digest
    /// frame.
    pub async fn start_reconcile(&self, link: &PeerLink, first: &DigestMessage) {
        self.send_digest(link, first).await;
    }

    /// Answers a digest frame from the peer at the other end of `link`, and queues the
    /// runs this relay must offer it.
    pub async fn reconcile(&self, link: &PeerLink, message: DigestMessage) {
        // Off the runtime's threads: a reply over a large index is CPU work.
        let reconciler = self.reconciler().clone();
        let (now, hub_link) = (self.env().now(), link.link.clone());
        let answered =
            tokio::task::spawn_blocking(move || reconciler.answer(now, &hub_link, &message)).await;
        let Ok((replies, worker)) = answered else {
            return; // the relay is shutting down
        };
        for reply in &replies {
            self.send_digest(link, reply).await;
        }
        if let Some(wake) = worker {
            tokio::spawn(offer_queued(self.clone(), link.clone(), wake));
        }
    }

    /// Queues `runs` on `link`'s catch-up (`fresh`: a forced resync), which offers them
    /// [`runmesh_core::node::IN_FLIGHT`] at a time.
    pub fn offer(&self, link: &PeerLink, runs: impl IntoIterator<Item = DocumentId>, fresh: bool) {
        let now = self.env().now();
        if let Some(wake) = self.reconciler().offer(now, &link.link, runs, fresh) {
            tokio::spawn(offer_queued(self.clone(), link.clone(), wake));
        }
    }

    /// A run another relay sharing the store changed, which no task here holds: every
    /// link's catch-up offers it.
    pub(crate) fn offer_everywhere(&self, run: DocumentId) {
        let links: Vec<PeerLink> = self.env().mesh.borrow().iter().cloned().collect();
        let hub_links: Vec<_> = links.iter().map(|l| l.link.clone()).collect();
        let now = self.env().now();
        for (started, wake) in self.reconciler().offer_everywhere(now, run, &hub_links) {
            if let Some(link) = links.iter().find(|l| l.link == started) {
                tokio::spawn(offer_queued(self.clone(), link.clone(), wake));
            }
        }
    }

    /// The store's feed lapsed: every link reconciles again.
    pub(crate) async fn lapsed(&self) {
        let first = self.reconciler().lapsed();
        let links: Vec<PeerLink> = self.env().mesh.borrow().iter().cloned().collect();
        for link in links {
            self.send_digest(&link, &first).await;
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
        link.send_mesh_frame(frame).await;
    }
}

/// Offers the runs queued for `link` as its [`runmesh_core::node::CatchUp`] lets them
/// go, until the link closes or its catch-up is forgotten: each counts once its task
/// says it is in step with the peer, or after [`SETTLE_MS`].
async fn offer_queued(docs: Documents, link: PeerLink, wake: Arc<Notify>) {
    loop {
        let now = docs.env().now();
        let free = docs.env().mesh_residents().free();
        let Some(due) = docs.reconciler().due(&link.link, now, free) else {
            return;
        };
        if due.release {
            docs.release_mesh_residents();
        }
        for (run, fresh) in due.offers {
            tokio::spawn(offer(docs.clone(), link.clone(), run, fresh));
        }
        let later = due.next.map(|at| docs.env().instant(at));
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
    let now = docs.env().now();
    docs.reconciler()
        .finished(now, &link.link, run, in_step, weight.unwrap_or(0));
    docs.metrics().mesh_caught_up(in_step);
}

async fn sleep_until_some(at: Option<std::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
