//! [`RunDigests`]: the fingerprint of every stored run's heads, which a relay compares
//! with its mesh peers' ([`crate::digest`]) to find the runs they hold differently,
//! without loading any. The relay keeps it current from its runs' stored heads after
//! each batch, fills it from its store's list at start-up, and marks a run "not known"
//! when another relay sharing the store changed it: such a run gets a fingerprint that
//! matches no other relay's, so it is synced (and then indexed truly).

use std::collections::HashSet;

use automerge::ChangeHash;
use sha2::{Digest, Sha256};

use crate::digest::{DigestIndex, Fingerprint};
use crate::id::DocumentId;

/// The index of one relay's stored runs.
#[derive(Debug, Clone)]
pub struct RunDigests {
    index: DigestIndex,
    /// Mixed into a "not known" fingerprint, so that it is this relay's own.
    salt: [u8; 16],
    /// Runs indexed as not known.
    unknown: HashSet<DocumentId>,
}

impl RunDigests {
    /// An empty index for the relay `me` (whose "not known" fingerprints are its own).
    pub fn new(me: &str) -> Self {
        let salt = Sha256::digest(format!("runmesh-unknown-heads:{me}").as_bytes());
        Self {
            index: DigestIndex::new(),
            salt: salt[..16].try_into().expect("SHA-256 is 32 bytes"),
            unknown: HashSet::new(),
        }
    }

    /// The index, to reconcile with a peer's ([`crate::digest::start`], `respond`).
    pub fn index(&self) -> &DigestIndex {
        &self.index
    }

    /// The store holds `heads` for `run` (after a load or a persist). Nothing stored:
    /// nothing to index.
    pub fn stored(&mut self, run: DocumentId, heads: &[ChangeHash]) {
        if heads.is_empty() {
            return;
        }
        let fingerprint = Fingerprint::of_heads(heads);
        if self.index.get(&run) != Some(fingerprint) {
            self.index.set(run, fingerprint);
        }
        self.unknown.remove(&run);
    }

    /// A run in the store's list at start-up: its fingerprint, or "not known" if the
    /// store does not know it.
    pub fn listed(&mut self, run: DocumentId, fingerprint: Option<Fingerprint>) {
        match fingerprint {
            Some(fingerprint) => {
                self.index.set(run, fingerprint);
                self.unknown.remove(&run);
            }
            None => self.forget(run),
        }
    }

    /// What `run` is indexed as, if it is.
    pub fn get(&self, run: &DocumentId) -> Option<Fingerprint> {
        self.index.get(run)
    }

    /// Another relay sharing the store changed `run`: what is indexed no longer says
    /// what the store holds, until this relay reads it.
    pub fn forget(&mut self, run: DocumentId) {
        let unknown = self.unknown_of(&run);
        self.index.set(run, unknown);
        self.unknown.insert(run);
    }

    /// Other relays' changes went unreported: no run's entry can be trusted.
    pub fn forget_all(&mut self) {
        for (run, _) in self.index.items(&[]) {
            self.forget(run);
        }
    }

    /// Every run whose stored heads this relay knows, with its fingerprint.
    pub fn known(&self) -> Vec<(DocumentId, Fingerprint)> {
        let mut known = self.index.items(&[]);
        known.retain(|(run, _)| !self.unknown.contains(run));
        known
    }

    fn unknown_of(&self, run: &DocumentId) -> Fingerprint {
        let mut hasher = Sha256::new();
        hasher.update(self.salt);
        hasher.update(run.as_bytes());
        Fingerprint(hasher.finalize()[..16].try_into().expect("32 bytes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs<const N: usize>() -> [DocumentId; N] {
        std::array::from_fn(|_| crate::id::RunId::random().document_id())
    }

    #[test]
    fn a_run_not_known_matches_no_other_relays_fingerprint_until_it_is_stored() {
        let heads = [ChangeHash([7; 32])];
        let [r1] = runs();
        let (mut a, mut b) = (RunDigests::new("a"), RunDigests::new("b"));
        a.stored(r1, &heads);
        b.stored(r1, &heads);
        assert_eq!(a.get(&r1), b.get(&r1));
        b.forget(r1);
        assert_ne!(a.get(&r1), b.get(&r1));
        assert!(b.known().is_empty());
        let mut c = RunDigests::new("c");
        c.forget(r1);
        assert_ne!(c.get(&r1), b.get(&r1), "each relay's own");
        b.stored(r1, &heads);
        assert_eq!(b.known(), a.known());
    }

    #[test]
    fn forgetting_all_leaves_nothing_known() {
        let [r1, r2, r3] = runs();
        let mut a = RunDigests::new("a");
        a.stored(r1, &[ChangeHash([1; 32])]);
        a.listed(r2, Some(Fingerprint([2; 16])));
        a.listed(r3, None);
        assert_eq!(a.known().len(), 2);
        a.forget_all();
        assert!(a.known().is_empty());
        assert_eq!(a.index().len(), 3);
    }
}
