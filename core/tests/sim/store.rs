//! A relay's store in memory, as the directory store behaves: a snapshot plus the chunks
//! appended after it. A write is durable once it completes; writes still in flight when
//! the relay crashes are lost, or land without their acknowledgement.
//!
//! Beside the bytes it keeps a shadow document of everything durable, so a check can ask
//! "is this change stored?" without loading. The shadow takes in what was written only
//! when a check asks: then it takes in every write since at once, and skips a run of
//! writes a snapshot replaced (taking each in as it landed cost a seventh of the
//! simulation's time).
//!
//! Several relays may share one ([`Shared`]), as relays share a PostgreSQL database. A
//! snapshot written there must keep what other relays appended that its writer never saw:
//! `merge` makes a snapshot hold everything stored (as `PgStore` does); without it a
//! snapshot replaces what was there (as the directory store does, which only one relay
//! ever writes).

use std::cell::{RefCell, RefMut};
use std::collections::BTreeMap;
use std::rc::Rc;

use automerge::{AutoCommit, ChangeHash};
use runmesh_core::DocumentId;
use runmesh_core::digest::Fingerprint;
use runmesh_core::hub::{Persist, Stored};

#[derive(Default)]
struct Entry {
    snapshot: Option<Vec<u8>>,
    chunks: Vec<Vec<u8>>,
    shadow: Option<AutoCommit>,
    /// What was written since the shadow last took it in.
    unread: Vec<u8>,
    /// The fingerprint of the stored heads, as the directory store keeps it beside the
    /// run (`None`: unknown — a shared store, or a write that landed in a crash).
    fingerprint: Option<Fingerprint>,
}

impl Entry {
    /// The shadow, caught up with everything written.
    fn shadow(&mut self) -> &mut AutoCommit {
        let shadow = self.shadow.get_or_insert_with(AutoCommit::new);
        if !self.unread.is_empty() {
            shadow
                .load_incremental(&self.unread)
                .expect("what was stored loads");
            self.unread.clear();
        }
        shadow
    }
}

/// One relay's durable storage.
#[derive(Default)]
pub struct MemStore {
    runs: BTreeMap<DocumentId, Entry>,
    /// Snapshots merge with what is stored instead of replacing it.
    merge: bool,
}

/// A store, shared by the relays that use it.
#[derive(Clone, Default)]
pub struct Shared(Rc<RefCell<MemStore>>);

impl Shared {
    /// A store whose snapshots merge (`merge`) or replace.
    pub fn new(merge: bool) -> Self {
        Self(Rc::new(RefCell::new(MemStore {
            runs: BTreeMap::new(),
            merge,
        })))
    }

    pub fn get(&self) -> RefMut<'_, MemStore> {
        self.0.borrow_mut()
    }
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
        // One writer knows what its write leaves stored; relays sharing a store do not.
        entry.fingerprint = (!self.merge).then(|| Fingerprint::of_heads(&persist.heads));
        entry.chunks.push(persist.chunk.clone());
        entry.unread.extend_from_slice(&persist.chunk);
        if let Some(snapshot) = &persist.snapshot {
            if self.merge {
                let shadow = entry.shadow();
                shadow.load_incremental(snapshot).expect("a snapshot loads");
                entry.snapshot = Some(shadow.save());
            } else {
                entry.snapshot = Some(snapshot.clone());
                entry.shadow = None;
                entry.unread = snapshot.clone();
            }
            entry.chunks.clear();
        }
    }

    /// Whether the change `hash` of `doc` is durable.
    pub fn holds(&mut self, doc: DocumentId, hash: &ChangeHash) -> bool {
        self.runs
            .get_mut(&doc)
            .is_some_and(|e| e.shadow().get_change_by_hash(hash).is_some())
    }

    /// Forgets `doc`'s fingerprint (its write landed while the relay crashed: the file
    /// beside it may describe an older log).
    pub fn forget_fingerprint(&mut self, doc: DocumentId) {
        if let Some(entry) = self.runs.get_mut(&doc) {
            entry.fingerprint = None;
        }
    }

    /// The heads `doc`'s store holds (none if it holds nothing).
    pub fn stored_heads(&mut self, doc: DocumentId) -> Vec<ChangeHash> {
        let entry = self.runs.get_mut(&doc);
        entry.map(|e| e.shadow().get_heads()).unwrap_or_default()
    }

    /// Every run stored, with its fingerprint if known.
    pub fn fingerprints(&self) -> Vec<(DocumentId, Option<Fingerprint>)> {
        self.runs
            .iter()
            .map(|(id, e)| (*id, e.fingerprint))
            .collect()
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
            let mut expected = self.stored_heads(doc);
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
