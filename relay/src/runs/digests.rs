//! [`Digests`]: the relay's [`RunDigests`] (the fingerprint of every stored run's heads,
//! compared with mesh peers'), shared by the run tasks that keep it current, the
//! start-up that fills it from the store, the store feed that marks runs other relays
//! changed, and the mesh links that reconcile with it.

use std::sync::{Arc, Mutex, MutexGuard};

use runmesh_core::digest::Fingerprint;
use runmesh_core::node::RunDigests;
use runmesh_core::{ChangeHash, DocumentId};

/// The shared index of stored runs' fingerprints.
#[derive(Debug, Clone)]
pub struct Digests {
    inner: Arc<Mutex<RunDigests>>,
}

impl Digests {
    /// An empty index; `me` makes this relay's "not known yet" fingerprints its own.
    pub fn new(me: &str) -> Self {
        Self {
            inner: Arc::new(Mutex::new(RunDigests::new(me))),
        }
    }

    /// The index, locked (never across an `.await`).
    pub fn lock(&self) -> MutexGuard<'_, RunDigests> {
        self.inner.lock().expect("digest lock is never poisoned")
    }

    /// Records what the store holds for `run` after a load or a persist.
    pub fn stored(&self, run: DocumentId, heads: &[ChangeHash]) {
        self.lock().stored(run, heads);
    }

    /// Records a stored run from the store's list.
    pub fn listed(&self, run: DocumentId, fingerprint: Option<Fingerprint>) {
        self.lock().listed(run, fingerprint);
    }

    /// What `run` was indexed as, if it was.
    pub fn get(&self, run: &DocumentId) -> Option<Fingerprint> {
        self.lock().get(run)
    }

    /// Another relay sharing the store changed `run`.
    pub fn forget(&self, run: DocumentId) {
        self.lock().forget(run);
    }

    /// Other relays' changes went unreported: no run's entry can be trusted.
    pub fn forget_all(&self) {
        self.lock().forget_all();
    }
}
