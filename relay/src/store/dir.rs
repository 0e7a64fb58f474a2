//! [`DirStore`]: runs in a directory, one folder per document.
//!
//! `runs/<document id>/snapshot-<n>.bin` is the n-th snapshot and `log-<n>.bin` the
//! chunks appended after it, each record `[len u32][crc32 u32][bytes]`. A record cut
//! short by a crash fails its length or checksum; loading stops there and truncates the
//! log to the last whole record (that record was never acknowledged: `append` returns
//! only after fsync).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use runmesh_core::DocumentId;

use runmesh_core::digest::Fingerprint;
use runmesh_core::reach::StoreEpoch;

use crate::store::dir_digests::Journal;
use crate::store::dir_layout::{
    HEADER, log_path, newest_snapshot, read_log, snapshot_numbers, snapshot_path, sync_dir,
};
use crate::store::{EventMeta, Store, StoreError, Stored};

/// A store in a directory on the local disk.
#[derive(Debug, Clone)]
pub struct DirStore {
    root: PathBuf,
    /// The fingerprints of the runs' stored heads (`dir_digests.rs`).
    journal: Arc<Mutex<Journal>>,
    /// Held (read) by every write while it runs; `close` takes it (write) to stop them.
    closed: Arc<RwLock<bool>>,
    /// The store's life (`store-epoch`).
    epoch: StoreEpoch,
}

impl DirStore {
    /// A store under `root` (created if missing).
    pub fn open(root: &Path) -> io::Result<Self> {
        fs::create_dir_all(root.join("runs"))?;
        Ok(Self {
            root: root.to_owned(),
            journal: Arc::new(Mutex::new(Journal::open(root)?)),
            closed: Arc::default(),
            epoch: super::epoch::of_dir(root)?,
        })
    }

    /// Runs `write` unless the store was closed (then it fails, naming `doc`).
    fn write<T>(
        &self,
        doc: &DocumentId,
        write: impl FnOnce() -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let closed = self.closed.read().unwrap_or_else(|e| e.into_inner());
        if *closed {
            return Err(StoreError::new(
                doc,
                "writing",
                "the store is closed: the relay is stopping",
            ));
        }
        write()
    }

    fn journal(&self) -> MutexGuard<'_, Journal> {
        self.journal.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn dir(&self, doc: &DocumentId) -> PathBuf {
        self.root.join("runs").join(doc.to_string())
    }
}

fn err(doc: &DocumentId, action: &'static str) -> impl FnOnce(io::Error) -> StoreError {
    let doc = doc.to_string();
    move |source| StoreError {
        doc: doc.to_string(),
        action,
        source,
    }
}

impl DirStore {
    fn read_stored(&self, doc: &DocumentId, repair: bool) -> Result<Option<Stored>, StoreError> {
        let dir = self.dir(doc);
        if !dir.exists() {
            return Ok(None);
        }
        let n = newest_snapshot(&dir).map_err(err(doc, "listing snapshots"))?;
        let snapshot = if n > 0 {
            Some(fs::read(snapshot_path(&dir, n)).map_err(err(doc, "reading the snapshot"))?)
        } else {
            None
        };
        let chunks = read_log(&log_path(&dir, n), repair).map_err(err(doc, "reading the log"))?;
        Ok(Some(Stored { snapshot, chunks }))
    }
}

/// Runs `work` on the blocking pool (file I/O and fsync block).
async fn blocking<T: Send + 'static>(
    doc: &DocumentId,
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| Err(StoreError::new(doc, "running the storage task", e)))
}

#[async_trait::async_trait]
impl Store for DirStore {
    fn epoch(&self) -> StoreEpoch {
        self.epoch
    }

    async fn load(&self, doc: &DocumentId) -> Result<Option<Stored>, StoreError> {
        let (store, id) = (self.clone(), *doc);
        blocking(doc, move || store.read_stored(&id, true)).await
    }

    async fn read(&self, doc: &DocumentId) -> Result<Option<Stored>, StoreError> {
        let (store, id) = (self.clone(), *doc);
        blocking(doc, move || store.read_stored(&id, false)).await
    }

    async fn contains(&self, doc: &DocumentId) -> Result<bool, StoreError> {
        // `read_stored` answers `Some` exactly when the run's directory exists.
        let dir = self.dir(doc);
        blocking(doc, move || Ok(dir.exists())).await
    }

    async fn append(
        &self,
        doc: &DocumentId,
        chunk: &[u8],
        meta: &EventMeta,
    ) -> Result<(), StoreError> {
        let (store, id, chunk, heads) = (self.clone(), *doc, chunk.to_vec(), meta.heads);
        blocking(doc, move || {
            store.write(&id, || {
                let (n, log_len) = store.append_now(&id, &chunk)?;
                store.note_heads(&id, heads, n, log_len);
                Ok(())
            })
        })
        .await
    }

    async fn snapshot(
        &self,
        doc: &DocumentId,
        bytes: &[u8],
        meta: &EventMeta,
        retain: u32,
    ) -> Result<(), StoreError> {
        let (store, id, bytes, heads) = (self.clone(), *doc, bytes.to_vec(), meta.heads);
        blocking(doc, move || {
            store.write(&id, || {
                let n = store.snapshot_now(&id, &bytes, retain)?;
                store.note_heads(&id, heads, n, 0);
                Ok(())
            })
        })
        .await
    }

    async fn close(&self) -> Result<(), StoreError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut closed = store.closed.write().unwrap_or_else(|e| e.into_inner());
            *closed = true;
            store
                .journal()
                .close()
                .map_err(|e| StoreError::new("*", "closing the digest journal", e))
        })
        .await
        .unwrap_or_else(|e| Err(StoreError::new("*", "closing the store", e)))
    }

    async fn fingerprints(&self) -> Result<Vec<(DocumentId, Option<Fingerprint>)>, StoreError> {
        let store = self.clone();
        let runs = self.root.join("runs");
        tokio::task::spawn_blocking(move || {
            let listed = store.list_now()?;
            let runs = store.root.join("runs");
            store
                .journal()
                .verified(&runs, listed)
                .map_err(|e| StoreError::new("*", "reading the digest journal", e))
        })
        .await
        .unwrap_or_else(|e| Err(StoreError::new(runs.display(), "listing documents", e)))
    }

    async fn list(&self) -> Result<Vec<DocumentId>, StoreError> {
        let store = self.clone();
        let runs = self.root.join("runs");
        tokio::task::spawn_blocking(move || store.list_now())
            .await
            .unwrap_or_else(|e| Err(StoreError::new(runs.display(), "listing documents", e)))
    }
}

impl DirStore {
    /// Records the fingerprint of what the run now holds. Best effort: a run whose
    /// record is missing or stale is synced with the mesh and indexed again, so a failure
    /// here loses nothing. (Without a fingerprint nothing is recorded: the old record no
    /// longer matches the log, so the run counts as unknown.)
    fn note_heads(&self, doc: &DocumentId, heads: Option<Fingerprint>, n: u64, log_len: u64) {
        let Some(fingerprint) = heads else { return };
        if let Err(e) = self.journal().note(doc, fingerprint, n, log_len) {
            tracing::warn!(%doc, error = %e, "could not record the run's heads; it is synced again on the next mesh link");
        }
    }

    /// Appends `chunk` to the run's log; returns the log's snapshot number and new length.
    fn append_now(&self, doc: &DocumentId, chunk: &[u8]) -> Result<(u64, u64), StoreError> {
        let dir = self.dir(doc);
        let created = !dir.exists();
        if created {
            fs::create_dir_all(&dir).map_err(err(doc, "creating its folder"))?;
            sync_dir(&self.root.join("runs")).map_err(err(doc, "syncing the runs folder"))?;
        }
        let n = newest_snapshot(&dir).map_err(err(doc, "listing snapshots"))?;
        let path = log_path(&dir, n);
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(err(doc, "opening the log"))?;
        let mut record = Vec::with_capacity(HEADER + chunk.len());
        record.extend_from_slice(&(chunk.len() as u32).to_le_bytes());
        record.extend_from_slice(&crc32fast::hash(chunk).to_le_bytes());
        record.extend_from_slice(chunk);
        let before = file
            .metadata()
            .map_err(err(doc, "reading the log's length"))?
            .len();
        let written = file
            .write_all(&record)
            .map_err(err(doc, "appending to the log"))
            .and_then(|()| file.sync_data().map_err(err(doc, "syncing the log")));
        if let Err(e) = written {
            // A failed append leaves nothing a later load would read: the relay has
            // answered its changes with an error and dropped them.
            let _ = file.set_len(before).and_then(|()| file.sync_data());
            return Err(e);
        }
        if created {
            sync_dir(&dir).map_err(err(doc, "syncing its folder"))?;
        }
        Ok((n, before + record.len() as u64))
    }

    /// Writes a snapshot and starts an empty log after it; returns its number.
    fn snapshot_now(&self, doc: &DocumentId, bytes: &[u8], retain: u32) -> Result<u64, StoreError> {
        let dir = self.dir(doc);
        if !dir.exists() {
            fs::create_dir_all(&dir).map_err(err(doc, "creating its folder"))?;
            sync_dir(&self.root.join("runs")).map_err(err(doc, "syncing the runs folder"))?;
        }
        let n = newest_snapshot(&dir).map_err(err(doc, "listing snapshots"))? + 1;
        let tmp = dir.join(format!("snapshot-{n:08}.tmp"));
        let mut file = File::create(&tmp).map_err(err(doc, "writing the snapshot"))?;
        file.write_all(bytes)
            .map_err(err(doc, "writing the snapshot"))?;
        file.sync_all().map_err(err(doc, "syncing the snapshot"))?;
        File::create(log_path(&dir, n)).map_err(err(doc, "starting a new log"))?;
        fs::rename(&tmp, snapshot_path(&dir, n)).map_err(err(doc, "renaming the snapshot"))?;
        sync_dir(&dir).map_err(err(doc, "syncing its folder"))?;
        // Older logs are covered by the new snapshot; older snapshots beyond `retain` go.
        let numbers = snapshot_numbers(&dir).map_err(err(doc, "listing snapshots"))?;
        let keep_from = numbers.len().saturating_sub(retain as usize);
        for old in &numbers[..keep_from] {
            let _ = fs::remove_file(snapshot_path(&dir, *old));
        }
        for old in 0..n {
            let _ = fs::remove_file(log_path(&dir, old));
        }
        Ok(n)
    }

    fn list_now(&self) -> Result<Vec<DocumentId>, StoreError> {
        let runs = self.root.join("runs");
        let entries = fs::read_dir(&runs).map_err(|source| StoreError {
            doc: "*".into(),
            action: "listing documents",
            source,
        })?;
        Ok(entries
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok()?.parse().ok())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use runmesh_core::RunId;

    fn doc() -> DocumentId {
        RunId::random().document_id()
    }

    #[test]
    fn appends_survive_reopening_in_order() {
        let tmp = tempfile::tempdir().unwrap();
        let store = DirStore::open(tmp.path()).unwrap();
        let d = doc();
        assert!(store.read_stored(&d, true).unwrap().is_none());
        store.append_now(&d, b"one").unwrap();
        store.append_now(&d, b"two").unwrap();
        let again = DirStore::open(tmp.path()).unwrap();
        let stored = again.read_stored(&d, true).unwrap().unwrap();
        assert_eq!(stored.chunks, [b"one".to_vec(), b"two".to_vec()]);
        assert_eq!(again.list_now().unwrap(), [d]);
    }

    #[test]
    fn a_snapshot_replaces_the_log_and_old_snapshots_are_pruned() {
        let tmp = tempfile::tempdir().unwrap();
        let store = DirStore::open(tmp.path()).unwrap();
        let d = doc();
        for i in 0..5u8 {
            store.append_now(&d, &[i]).unwrap();
            store.snapshot_now(&d, &[100 + i], 2).unwrap();
        }
        store.append_now(&d, b"after").unwrap();
        let stored = store.read_stored(&d, true).unwrap().unwrap();
        assert_eq!(stored.snapshot, Some(vec![104]));
        assert_eq!(stored.chunks, [b"after".to_vec()]);
        let dir = store.dir(&d);
        assert_eq!(snapshot_numbers(&dir).unwrap(), [4, 5]);
        assert!(!log_path(&dir, 4).exists());
    }

    #[test]
    fn a_torn_tail_is_dropped_and_later_appends_still_load() {
        let tmp = tempfile::tempdir().unwrap();
        let store = DirStore::open(tmp.path()).unwrap();
        let d = doc();
        store.append_now(&d, b"kept").unwrap();
        let path = log_path(&store.dir(&d), 0);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[9, 0, 0, 0, 1, 2]).unwrap(); // a header cut short by a crash
        assert_eq!(
            store.read_stored(&d, true).unwrap().unwrap().chunks,
            [b"kept".to_vec()]
        );
        store.append_now(&d, b"next").unwrap();
        assert_eq!(
            store.read_stored(&d, true).unwrap().unwrap().chunks,
            [b"kept".to_vec(), b"next".to_vec()]
        );
    }
}
