//! Durable storage of runs behind one trait: a directory by default ([`DirStore`]), or
//! PostgreSQL when `DATABASE_URL` is set ([`PgStore`]).
//!
//! Each document is a newest snapshot (a full Automerge save) plus the change chunks
//! appended after it. `append` returns only once the chunk is on disk (fsync), which is
//! what lets the relay acknowledge or forward a change.
//!
//! A store several relays share (PostgreSQL) also tells each relay what the others
//! append ([`Store::feed`]), so their clients see each other's changes live.

mod dir;
mod dir_digests;
mod dir_layout;
mod epoch;
mod feed;
mod pg;

pub use dir::DirStore;
pub use feed::{Appended, Feed, FeedItem};
pub use pg::{PgStore, PgTlsError};

use runmesh_core::DocumentId;
use runmesh_core::digest::Fingerprint;
use runmesh_core::reach::StoreEpoch;

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
    /// The fingerprint of the run's heads once the chunk is stored, if known.
    pub heads: Option<Fingerprint>,
    /// The fingerprint of what the writer knew the store to hold before the chunk, if
    /// known: a store several relays write keeps `heads` only when it still holds that.
    pub base: Option<Fingerprint>,
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

impl StoreError {
    /// A failure of `action` on `doc` for the reason `why`.
    pub fn new(
        doc: impl ToString,
        action: &'static str,
        why: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        // The whole chain: a driver's top error ("error performing TLS handshake") rarely
        // says what went wrong.
        let why = why.into();
        let mut text = why.to_string();
        let mut cause = why.source();
        while let Some(e) = cause {
            let more = e.to_string();
            if !text.ends_with(&more) {
                text = format!("{text}: {more}");
            }
            cause = e.source();
        }
        Self {
            doc: doc.to_string(),
            action,
            source: std::io::Error::other(text),
        }
    }
}

/// Where runs live between restarts.
#[async_trait::async_trait]
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// Everything stored for `doc`, or `None` if it was never stored.
    async fn load(&self, doc: &DocumentId) -> Result<Option<Stored>, StoreError>;
    /// Appends a chunk of changes; it is durable when this returns `Ok`. When it returns
    /// an error, nothing of the chunk may be returned by a later `load`: the relay has
    /// answered those changes with an error and dropped them.
    async fn append(
        &self,
        doc: &DocumentId,
        chunk: &[u8],
        meta: &EventMeta,
    ) -> Result<(), StoreError>;
    /// Stores a full save as the new snapshot, starts an empty log after it, and keeps
    /// only the newest `retain` snapshots.
    async fn snapshot(
        &self,
        doc: &DocumentId,
        bytes: &[u8],
        meta: &EventMeta,
        retain: u32,
    ) -> Result<(), StoreError>;
    /// Every stored document.
    async fn list(&self) -> Result<Vec<DocumentId>, StoreError>;
    /// The store's life: made with it, new when it is made again (see `epoch.rs`).
    fn epoch(&self) -> StoreEpoch;
    /// Whether anything is stored for `doc` (what `load` would return `Some` for),
    /// without reading it.
    async fn contains(&self, doc: &DocumentId) -> Result<bool, StoreError> {
        Ok(self.read(doc).await?.is_some())
    }
    /// Every stored document with the fingerprint of its stored heads, where the store
    /// knows it for certain (`None`: the mesh syncs the run and indexes it then).
    async fn fingerprints(&self) -> Result<Vec<(DocumentId, Option<Fingerprint>)>, StoreError> {
        Ok(self
            .list()
            .await?
            .into_iter()
            .map(|id| (id, None))
            .collect())
    }
    /// What [`Store::load`] returns, read without repairing anything (a torn tail is left
    /// on disk): safe while a relay writes the same store, as `export` does.
    async fn read(&self, doc: &DocumentId) -> Result<Option<Stored>, StoreError> {
        self.load(doc).await
    }
    /// The relay stops: every later write fails, and the store may record that it was
    /// closed cleanly (so the next start can trust what it noted without checking).
    async fn close(&self) -> Result<(), StoreError> {
        Ok(())
    }
    /// What other relays append to this store, as they append it; `None` for a store no
    /// other relay writes (a data directory). Call it once, inside the runtime.
    fn feed(&self) -> Option<Feed> {
        None
    }
    /// The chunks of `doc` appended as `events` (numbers a [`Feed`] named), in order;
    /// `None` if any of them is gone (pruned under a newer snapshot): then read the run.
    async fn events(
        &self,
        doc: &DocumentId,
        events: &[i64],
    ) -> Result<Option<Vec<Vec<u8>>>, StoreError> {
        let _ = (doc, events);
        Ok(None)
    }
}
