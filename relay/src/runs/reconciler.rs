//! [`Reconciler`]: the relay's one [`RelayMesh`] (core's mesh links, the digest index of
//! stored runs and every link's catch-up, with the rules that join them), shared by the
//! mesh that brings links up and down, the run tasks that keep the index current, the
//! start-up that fills it from the store, the store feed that marks runs other relays
//! changed, and the links that reconcile with it; and the waker of each link's catch-up
//! worker (`reconcile.rs`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use runmesh_core::digest::{DigestMessage, Fingerprint};
use runmesh_core::hub::{Link, Millis, SessionId};
use runmesh_core::node::{Due, Joined, MeshPeers, NewLink, Progress, Reconciliation, RelayMesh};
use runmesh_core::sync::PeerId;
use runmesh_core::{ChangeHash, DocumentId};
use tokio::sync::Notify;

use crate::runs::link::PeerLink;

#[derive(Debug)]
struct Shared {
    mesh: RelayMesh<PeerLink>,
    /// Each link's worker's waker: runs were queued or one finished.
    wakes: HashMap<PeerId, (SessionId, Arc<Notify>)>,
}

impl Shared {
    fn reconciliation(&mut self) -> &mut Reconciliation {
        self.mesh.reconciliation()
    }

    /// Forgets the worker of `peer`'s link on `session`.
    fn forget(&mut self, peer: &PeerId, session: SessionId) {
        if self.wakes.get(peer).is_some_and(|(s, _)| *s == session) {
            self.wakes.remove(peer);
        }
    }

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

/// The relay's mesh and reconciliation, shared.
#[derive(Debug, Clone)]
pub struct Reconciler {
    inner: Arc<Mutex<Shared>>,
}

impl Reconciler {
    /// No links and an empty index, at the relay `me` (its "not known yet" fingerprints
    /// are its own).
    pub fn new(me: PeerId) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Shared {
                mesh: RelayMesh::new(me),
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
        self.lock().reconciliation().digests().stored(run, heads);
    }

    /// Records a stored run from the store's list.
    pub fn listed(&self, run: DocumentId, fingerprint: Option<Fingerprint>) {
        self.lock()
            .reconciliation()
            .digests()
            .listed(run, fingerprint);
    }

    /// What `run` was indexed as, if it was.
    pub fn get(&self, run: &DocumentId) -> Option<Fingerprint> {
        self.lock().reconciliation().digests().get(run)
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
        let (replies, new) = shared.reconciliation().answer(now, link, message);
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
        let new = shared.reconciliation().offer(now, link, runs, fresh);
        shared.wake(link, new)
    }

    /// Another relay sharing the store appended to `run` (before a task reads it).
    pub fn changed_elsewhere(&self, run: DocumentId) {
        self.lock().reconciliation().changed_elsewhere(run);
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
        let new = shared.reconciliation().offer_everywhere(now, run, links);
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
        self.lock().reconciliation().lapsed()
    }

    /// What `link`'s catch-up says to do now; `None` once it is gone.
    pub fn due(&self, link: &Link, now: Millis, free: usize) -> Option<Due> {
        self.lock().reconciliation().due(link, now, Some(free))
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
            .reconciliation()
            .finished(now, link, run, in_step, weight)
        {
            shared.wake(link, false);
        }
    }

    /// A mesh link came up (see core's [`RelayMesh::link_up`]); `then` sees the live
    /// links after it, under the same lock.
    pub fn link_up(
        &self,
        new: NewLink<PeerLink>,
        then: impl FnOnce(&MeshPeers<PeerLink>),
    ) -> Joined<PeerLink> {
        let peer = new.peer.clone();
        let mut shared = self.lock();
        let joined = shared.mesh.link_up(new);
        if let Joined::Up {
            replaced: Some(old),
            ..
        } = &joined
        {
            shared.forget(&peer, old.session);
        }
        if matches!(joined, Joined::Up { .. }) {
            then(shared.mesh.peers());
        }
        joined
    }

    /// `peer`'s link on `session` went down: its catch-up and worker go with it. Returns
    /// whether it was the live link; `then` sees the live links after it.
    pub fn link_down(
        &self,
        peer: &PeerId,
        session: SessionId,
        then: impl FnOnce(&MeshPeers<PeerLink>),
    ) -> bool {
        let mut shared = self.lock();
        shared.forget(peer, session);
        let live = shared.mesh.link_down(peer, session);
        if live {
            then(shared.mesh.peers());
        }
        live
    }

    /// Reads the live mesh links.
    pub fn peers<T>(&self, read: impl FnOnce(&MeshPeers<PeerLink>) -> T) -> T {
        read(self.lock().mesh.peers())
    }

    /// How far the catch-up with `peer` has come, if one ran on its link.
    pub fn progress(&self, peer: &PeerId) -> Option<Progress> {
        self.lock().mesh.reconciliation_ref().progress(peer)
    }

    /// Runs still to offer, over every link.
    pub fn pending(&self) -> u64 {
        self.lock().mesh.reconciliation_ref().pending()
    }
}
