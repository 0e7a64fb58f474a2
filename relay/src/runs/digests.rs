//! [`Digests`]: the fingerprint of every stored run's heads, which the mesh compares with
//! its peers' ([`runmesh_core::digest`]). Run tasks keep it current as they store
//! changes; at start-up it is filled from the store, without loading any run. A run
//! another relay sharing the store changed counts as not known (a fingerprint no other
//! relay has) until a task here has read what the store holds.

use std::sync::{Arc, Mutex, MutexGuard};

use runmesh_core::digest::{DigestIndex, Fingerprint};
use runmesh_core::{ChangeHash, DocumentId};
use sha2::{Digest, Sha256};

/// The shared index of stored runs' fingerprints.
#[derive(Debug, Clone)]
pub struct Digests {
    index: Arc<Mutex<DigestIndex>>,
    /// Mixed into the fingerprint of a run whose stored heads are not known yet, so it
    /// differs from every other relay's and gets synced (and then indexed truly).
    unknown: [u8; 16],
}

impl Digests {
    /// An empty index; `me` makes this relay's "not known yet" fingerprints its own.
    pub fn new(me: &str) -> Self {
        let salt = Sha256::digest(format!("runmesh-unknown-heads:{me}").as_bytes());
        Self {
            index: Arc::default(),
            unknown: salt[..16].try_into().expect("SHA-256 is 32 bytes"),
        }
    }

    /// The index, locked (never across an `.await`).
    pub fn lock(&self) -> MutexGuard<'_, DigestIndex> {
        self.index.lock().expect("digest lock is never poisoned")
    }

    /// Records what the store holds for `run` after a load or a persist (if it differs
    /// from what is indexed).
    pub fn stored(&self, run: DocumentId, heads: &[ChangeHash]) {
        if heads.is_empty() {
            return;
        }
        let fingerprint = Fingerprint::of_heads(heads);
        let mut index = self.lock();
        if index.get(&run) != Some(fingerprint) {
            index.set(run, fingerprint);
        }
    }

    /// Records a stored run from the store's list: its fingerprint, or one that matches
    /// no other relay's if the store does not know it.
    pub fn listed(&self, run: DocumentId, fingerprint: Option<Fingerprint>) {
        let fingerprint = fingerprint.unwrap_or_else(|| self.unknown_of(&run));
        self.lock().set(run, fingerprint);
    }

    /// What `run` was indexed as, if it was.
    pub fn get(&self, run: &DocumentId) -> Option<Fingerprint> {
        self.lock().get(run)
    }

    /// Another relay sharing the store changed `run`: what is indexed no longer says what
    /// the store holds, until a task here reads it.
    pub fn forget(&self, run: DocumentId) {
        let unknown = self.unknown_of(&run);
        self.lock().set(run, unknown);
    }

    /// Other relays' changes went unreported: no run's entry can be trusted.
    pub fn forget_all(&self) {
        let mut index = self.lock();
        for (run, _) in index.items(&[]) {
            index.set(run, self.unknown_of(&run));
        }
    }

    fn unknown_of(&self, run: &DocumentId) -> Fingerprint {
        let mut hasher = Sha256::new();
        hasher.update(self.unknown);
        hasher.update(run.as_bytes());
        Fingerprint(hasher.finalize()[..16].try_into().expect("32 bytes"))
    }
}
