//! [`Divergence`]: which runs each mesh peer holds differently from us, and since when,
//! as run tasks last saw it. Run tasks write it (the hub's divergence effects); the mesh
//! reads it for `/api/crdt/mesh/status` and the replication lag, and forgets a peer whose
//! link went down. A catch-up waits here for an offered run to be in step.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use runmesh_core::DocumentId;
use runmesh_core::sync::PeerId;
use tokio::sync::oneshot;

#[derive(Debug, Default)]
struct State {
    /// Per peer, the runs that differ and since when.
    since: HashMap<PeerId, HashMap<DocumentId, Instant>>,
    /// Who waits for a run to be in step with a peer.
    waiting: HashMap<(PeerId, DocumentId), oneshot::Sender<()>>,
}

/// Divergent runs per mesh peer, each with when it began to differ.
#[derive(Debug, Clone, Default)]
pub struct Divergence {
    inner: Arc<Mutex<State>>,
}

impl Divergence {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner
            .lock()
            .expect("divergence lock is never poisoned")
    }

    /// Records whether `peer` holds `doc` differently from us.
    pub fn set(&self, peer: &PeerId, doc: DocumentId, differs: bool) {
        let mut state = self.lock();
        if differs {
            let docs = state.since.entry(peer.clone()).or_default();
            docs.entry(doc).or_insert_with(Instant::now);
            return;
        }
        if let Some(docs) = state.since.get_mut(peer) {
            docs.remove(&doc);
        }
        if let Some(waiter) = state.waiting.remove(&(peer.clone(), doc)) {
            let _ = waiter.send(());
        }
    }

    /// Resolves when a run task next reports `doc` in step with `peer` (dropped if
    /// someone else starts waiting for the same).
    pub fn in_step(&self, peer: &PeerId, doc: DocumentId) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        self.lock().waiting.insert((peer.clone(), doc), tx);
        rx
    }

    /// How many runs `peer` holds differently, as far as loaded runs have seen.
    pub fn count(&self, peer: &PeerId) -> usize {
        self.lock().since.get(peer).map_or(0, HashMap::len)
    }

    /// Since when the oldest difference with `peer` is unresolved, if there is one: the
    /// replication lag.
    pub fn oldest(&self, peer: &PeerId) -> Option<Instant> {
        self.lock().since.get(peer)?.values().min().copied()
    }

    /// Forgets `peer` (its link went down; a new link starts afresh).
    pub fn forget(&self, peer: &PeerId) {
        let mut state = self.lock();
        state.since.remove(peer);
        state.waiting.retain(|(p, _), _| p != peer);
    }
}
