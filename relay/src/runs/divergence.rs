//! [`Divergence`]: which runs each mesh peer holds differently from us, and since when,
//! as run tasks last saw it. Run tasks write it (the hub's divergence effects); the mesh
//! reads it for `/api/crdt/mesh/status` and the replication lag, and forgets a peer whose
//! link went down.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use runmesh_core::DocumentId;
use runmesh_core::sync::PeerId;

type Since = HashMap<PeerId, HashMap<DocumentId, Instant>>;

/// Divergent runs per mesh peer, each with when it began to differ.
#[derive(Debug, Clone, Default)]
pub struct Divergence {
    inner: Arc<Mutex<Since>>,
}

impl Divergence {
    fn lock(&self) -> MutexGuard<'_, Since> {
        self.inner
            .lock()
            .expect("divergence lock is never poisoned")
    }

    /// Records whether `peer` holds `doc` differently from us.
    pub fn set(&self, peer: &PeerId, doc: DocumentId, differs: bool) {
        let mut all = self.lock();
        if differs {
            let docs = all.entry(peer.clone()).or_default();
            docs.entry(doc).or_insert_with(Instant::now);
        } else if let Some(docs) = all.get_mut(peer) {
            docs.remove(&doc);
        }
    }

    /// How many runs `peer` holds differently, as far as loaded runs have seen.
    pub fn count(&self, peer: &PeerId) -> usize {
        self.lock().get(peer).map_or(0, HashMap::len)
    }

    /// Since when the oldest difference with `peer` is unresolved, if there is one: the
    /// replication lag.
    pub fn oldest(&self, peer: &PeerId) -> Option<Instant> {
        self.lock().get(peer)?.values().min().copied()
    }

    /// Forgets `peer` (its link went down; a new link starts afresh).
    pub fn forget(&self, peer: &PeerId) {
        self.lock().remove(peer);
    }
}
