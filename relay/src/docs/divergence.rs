//! [`Divergence`]: which runs each mesh peer holds differently from us, as run tasks last
//! saw it. Run tasks write it (the hub's divergence effects); the mesh reads it for
//! `/api/crdt/mesh/status` and forgets a peer whose link went down.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use runmesh_core::DocumentId;
use runmesh_core::sync::PeerId;

/// Divergent runs per mesh peer.
#[derive(Debug, Clone, Default)]
pub struct Divergence {
    inner: Arc<Mutex<HashMap<PeerId, HashSet<DocumentId>>>>,
}

impl Divergence {
    fn lock(&self) -> MutexGuard<'_, HashMap<PeerId, HashSet<DocumentId>>> {
        self.inner
            .lock()
            .expect("divergence lock is never poisoned")
    }

    /// Records whether `peer` holds `doc` differently from us.
    pub fn set(&self, peer: &PeerId, doc: DocumentId, differs: bool) {
        let mut all = self.lock();
        if differs {
            all.entry(peer.clone()).or_default().insert(doc);
        } else if let Some(docs) = all.get_mut(peer) {
            docs.remove(&doc);
        }
    }

    /// How many runs `peer` holds differently, as far as loaded runs have seen.
    pub fn count(&self, peer: &PeerId) -> usize {
        self.lock().get(peer).map_or(0, HashSet::len)
    }

    /// Forgets `peer` (its link went down; a new link starts afresh).
    pub fn forget(&self, peer: &PeerId) {
        self.lock().remove(peer);
    }
}
