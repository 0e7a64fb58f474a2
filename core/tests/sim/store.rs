//! A relay's store in memory, as the directory store behaves: a snapshot plus the chunks
//! appended after it. A write is durable once it completes; writes still in flight when
//! the relay crashes are lost, or land without their acknowledgement.
//!
//! Beside the bytes it keeps a shadow document of everything durable, so a check can ask
//! "is this change stored?" without loading.

use std::collections::BTreeMap;

use automerge::{AutoCommit, ChangeHash};
use runmesh_core::DocumentId;
use runmesh_core::hub::{Persist, Stored};

#[derive(Default)]
struct Entry {
    snapshot: Option<Vec<u8>>,
    chunks: Vec<Vec<u8>>,
    shadow: Option<AutoCommit>,
}

/// One relay's durable storage.
#[derive(Default)]
pub struct MemStore {
    runs: BTreeMap<DocumentId, Entry>,
}

impl MemStore {
    /// What a load finds.
    pub fn load(&self, doc: DocumentId) -> Option<Stored> {
        let entry = self.runs.get(&doc)?;
        let mut bytes = entry.snapshot.clone().unwrap_or_default();
        for chunk in &entry.chunks {
            bytes.extend_from_slice(chunk);
        }
        Some(Stored {
            bytes,
            chunks: entry.chunks.len() as u32,
        })
    }

    /// The write completes: the chunk, then the snapshot if there is one.
    pub fn write(&mut self, doc: DocumentId, persist: &Persist) {
        let entry = self.runs.entry(doc).or_default();
        entry.chunks.push(persist.chunk.clone());
        let shadow = entry.shadow.get_or_insert_with(AutoCommit::new);
        shadow
            .load_incremental(&persist.chunk)
            .expect("a persisted chunk loads");
        if let Some(snapshot) = &persist.snapshot {
            entry.snapshot = Some(snapshot.clone());
            entry.chunks.clear();
            entry.shadow = Some(AutoCommit::load(snapshot).expect("a snapshot loads"));
        }
    }

    /// Whether the change `hash` of `doc` is durable.
    pub fn holds(&mut self, doc: DocumentId, hash: &ChangeHash) -> bool {
        self.runs
            .get_mut(&doc)
            .and_then(|e| e.shadow.as_mut())
            .is_some_and(|s| s.get_change_by_hash(hash).is_some())
    }

    /// Every run stored.
    pub fn runs(&self) -> Vec<DocumentId> {
        self.runs.keys().copied().collect()
    }

    /// Checks that loading gives back exactly what the shadow holds.
    pub fn check_loads(&mut self) -> Result<(), String> {
        let docs = self.runs();
        for doc in docs {
            let stored = self.load(doc).expect("listed");
            let mut loaded = AutoCommit::load(&stored.bytes)
                .map_err(|e| format!("stored run {doc} does not load: {e}"))?;
            let shadow = self.runs.get_mut(&doc).and_then(|e| e.shadow.as_mut());
            let mut expected = shadow.map(|s| s.get_heads()).unwrap_or_default();
            let mut heads = loaded.get_heads();
            expected.sort();
            heads.sort();
            if heads != expected {
                return Err(format!(
                    "stored run {doc} loads with heads {heads:?}, but {expected:?} were stored"
                ));
            }
        }
        Ok(())
    }
}
