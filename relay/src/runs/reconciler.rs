//! [`Reconciler`]: the relay's one [`Reconciliation`] (core's digest index of stored runs
//! and every mesh link's catch-up, with the rules that join them), shared by the run tasks
//! that keep the index current, the start-up that fills it from the store, the store feed
//! that marks runs other relays changed, and the mesh links that reconcile with it; and
//! the waker of each link's catch-up worker (`reconcile.rs`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use runmesh_core::digest::{DigestMessage, Fingerprint};
use runmesh_core::hub::{Link, Millis, SessionId};
use runmesh_core::node::{Due, Progress, Reconciliation};
use runmesh_core::sync::PeerId;
use runmesh_core::{ChangeHash, DocumentId};
use tokio::sync::Notify;

#[derive(Debug)]
struct Shared {
    reconciliation: Reconciliation,
    /// Each link's worker's waker: runs were queued or one finished.
    wakes: HashMap<PeerId, (SessionId, Arc<Notify>)>,
}

impl Shared {
    /// Wakes `link`'s worker, making one if the link's catch-up is `new`; returns the new
    /// waker (the caller starts the worker).
    fn wake(&mut self, link: &Link, new: bool) -> Option<Arc<Notify>> {
        if new {
            let wake = Arc::new(Notify::new());
            self.wakes
                .insert(link.peer.clone(), (link.session, wake.clone()));
            return Some(wake);
        }
        if let Some((session, wake)) = self.wakes.get(&link.peer)
            && *session == link.session
        {
            wake.notify_one();
        }
        None
    }
}

/// The relay's reconciliation, shared.
#[derive(Debug, Clone)]
pub struct Reconciler {
    inner: Arc<Mutex<Shared>>,
}

impl Reconciler {
    /// An empty index; `me` makes this relay's "not known yet" fingerprints its own.
    pub fn new(me: &str) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Shared {
                reconciliation: Reconciliation::new(me),
                wakes: HashMap::new(),
            })),
        }
    }

    /// Locked (never across an `.await`).
    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.inner
            .lock()
            .expect("reconciliation lock is never poisoned")
    }

    /// Records what the store holds for `run` after a load or a persist.
    pub fn stored(&self, run: DocumentId, heads: &[ChangeHash]) {
        self.lock().reconciliation.digests().stored(run, heads);
    }

    /// Records a stored run from the store's list.
    pub fn listed(&self, run: DocumentId, fingerprint: Option<Fingerprint>) {
        self.lock()
            .reconciliation
            .digests()
            .listed(run, fingerprint);
    }

    /// What `run` was indexed as, if it was.
    pub fn get(&self, run: &DocumentId) -> Option<Fingerprint> {
        self.lock().reconciliation.digests().get(run)
    }

    /// The first digest frame to a peer.
    pub fn start(&self) -> DigestMessage {
        self.lock().reconciliation.start()
    }

    /// A digest frame from the peer on `link`: the replies to send, and the waker of a
    /// new catch-up worker to start if the answer made one.
    pub fn answer(
        &self,
        now: Millis,
        link: &Link,
        message: &DigestMessage,
    ) -> (Vec<DigestMessage>, Option<Arc<Notify>>) {
        let mut shared = self.lock();
        let (replies, new) = shared.reconciliation.answer(now, link, message);
        (replies, shared.wake(link, new))
    }

    /// Queues `runs` on `link`'s catch-up; returns the waker of a new worker to start.
    pub fn offer(
        &self,
        now: Millis,
        link: &Link,
        runs: impl IntoIterator<Item = DocumentId>,
        fresh: bool,
    ) -> Option<Arc<Notify>> {
        let mut shared = self.lock();
        let new = shared.reconciliation.offer(now, link, runs, fresh);
        shared.wake(link, new)
    }

    /// Another relay sharing the store appended to `run` (before a task reads it).
    pub fn changed_elsewhere(&self, run: DocumentId) {
        self.lock().reconciliation.changed_elsewhere(run);
    }

    /// A run changed elsewhere that no task here holds, offered to every link. Returns
    /// the links whose new catch-up worker must start, with their wakers.
    pub fn offer_everywhere(
        &self,
        now: Millis,
        run: DocumentId,
        links: &[Link],
    ) -> Vec<(Link, Arc<Notify>)> {
        let mut shared = self.lock();
        let new = shared.reconciliation.offer_everywhere(now, run, links);
        let mut started = Vec::new();
        for link in links {
            let fresh = new.contains(link);
            if let Some(wake) = shared.wake(link, fresh) {
                started.push((link.clone(), wake));
            }
        }
        started
    }

    /// The store's feed lapsed: the first digest frame every link sends again.
    pub fn lapsed(&self) -> DigestMessage {
        self.lock().reconciliation.lapsed()
    }

    /// What `link`'s catch-up says to do now; `None` once it is gone.
    pub fn due(&self, link: &Link, now: Millis, free: usize) -> Option<Due> {
        self.lock().reconciliation.due(link, now, Some(free))
    }

    /// One offered run finished on `link` (in step, or not in time), weighing `weight`.
    pub fn finished(
        &self,
        now: Millis,
        link: &Link,
        run: DocumentId,
        in_step: bool,
        weight: usize,
    ) {
        let mut shared = self.lock();
        if shared
            .reconciliation
            .finished(now, link, run, in_step, weight)
        {
            shared.wake(link, false);
        }
    }

    /// `peer`'s link on `session` went down: its catch-up and worker go with it.
    pub fn link_down(&self, peer: &PeerId, session: SessionId) {
        let mut shared = self.lock();
        shared.reconciliation.link_down(peer, session);
        if shared.wakes.get(peer).is_some_and(|(s, _)| *s == session) {
            shared.wakes.remove(peer);
        }
    }

    /// How far the catch-up with `peer` has come, if one ran on its link.
    pub fn progress(&self, peer: &PeerId) -> Option<Progress> {
        self.lock().reconciliation.progress(peer)
    }

    /// Runs still to offer, over every link.
    pub fn pending(&self) -> u64 {
        self.lock().reconciliation.pending()
    }
}
