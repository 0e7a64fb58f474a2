//! Durable storage of runs behind one trait: a directory by default ([`DirStore`]), or
//! PostgreSQL when `DATABASE_URL` is set ([`PgStore`]).
//!
//! Each document is a newest snapshot (a full Automerge save) plus the change chunks
//! appended after it. `append` returns only once the chunk is on disk (fsync), which is
//! what lets the relay acknowledge or forward a change.

mod dir;
mod pg;

pub use dir::DirStore;
pub use pg::PgStore;

use runmesh_core::DocumentId;

/// What the store holds for one document.
#[derive(Debug, Default)]
pub struct Stored {
    /// The newest snapshot, if one was written.
    pub snapshot: Option<Vec<u8>>,
    /// Change chunks appended after it, in order.
    pub chunks: Vec<Vec<u8>>,
}

impl Stored {
    /// Snapshot and chunks as one byte string Automerge can load.
    pub fn concat(&self) -> Vec<u8> {
        let len = self.snapshot.as_ref().map_or(0, Vec::len)
            + self.chunks.iter().map(Vec::len).sum::<usize>();
        let mut all = Vec::with_capacity(len);
        if let Some(s) = &self.snapshot {
            all.extend_from_slice(s);
        }
        for c in &self.chunks {
            all.extend_from_slice(c);
        }
        all
    }
}

/// Facts about a chunk, kept beside it (the spec's `collaboration_events` columns).
#[derive(Debug, Clone, Default)]
pub struct EventMeta {
    /// The region the changes came from.
    pub source_region: String,
    /// The run's lamport clock after them.
    pub lamport: u64,
}

/// A storage failure, naming the document and what failed.
#[derive(Debug, thiserror::Error)]
#[error("storage failed for document {doc} while {action}: {source}")]
pub struct StoreError {
    /// The document.
    pub doc: String,
    /// What the store was doing.
    pub action: &'static str,
    /// The underlying error.
    pub source: std::io::Error,
}

/// Where runs live between restarts.
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// Everything stored for `doc`, or `None` if it was never stored.
    fn load(&self, doc: &DocumentId) -> Result<Option<Stored>, StoreError>;
    /// Appends a chunk of changes; it is durable when this returns `Ok`. When it returns
    /// an error, nothing of the chunk may be returned by a later `load`: the relay has
    /// answered those changes with an error and dropped them.
    fn append(&self, doc: &DocumentId, chunk: &[u8], meta: &EventMeta) -> Result<(), StoreError>;
    /// Stores a full save as the new snapshot, starts an empty log after it, and keeps
    /// only the newest `retain` snapshots.
    fn snapshot(
        &self,
        doc: &DocumentId,
        bytes: &[u8],
        meta: &EventMeta,
        retain: u32,
    ) -> Result<(), StoreError>;
    /// Every stored document.
    fn list(&self) -> Result<Vec<DocumentId>, StoreError>;
    /// What [`Store::load`] returns, read without repairing anything (a torn tail is left
    /// on disk): safe while a relay writes the same store, as `export` does.
    fn read(&self, doc: &DocumentId) -> Result<Option<Stored>, StoreError> {
        self.load(doc)
    }
}
