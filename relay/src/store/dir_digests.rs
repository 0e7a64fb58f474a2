//! `digests.log`: the fingerprint of each run's stored heads in a [`DirStore`], one
//! journal for the whole store, so that start-up reads one file instead of one per run.
//!
//! After each append or snapshot the store appends a record: the run, the fingerprint,
//! and the snapshot number and log length it describes. The record is not fsynced: after
//! a crash it may be missing, torn, or describe an older log. So at start-up each run's
//! latest record counts only if the run's log is still that snapshot's and that long
//! (two `stat`s per run); otherwise the run counts as unknown (synced with the mesh on the
//! next link and indexed when loaded) — never as holding heads it does not. A store
//! closed cleanly (no write after its last record) ends the journal with a mark, and the
//! next start trusts the records without the `stat`s. Start-up then rewrites the journal
//! with one record per run, without the mark.
//!
//! [`DirStore`]: super::DirStore

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use runmesh_core::DocumentId;
use runmesh_core::digest::Fingerprint;

use crate::store::dir_layout::log_path;

const FILE: &str = "digests.log";
const LEN: usize = 16 + 16 + 8 + 8 + 4;

/// The record that says the store was closed cleanly after the records before it.
const CLEAN: (DocumentId, Record) = (
    DocumentId::from_bytes([0xff; 16]),
    Record {
        fingerprint: Fingerprint(*b"closed cleanly\0\0"),
        snapshot: u64::MAX,
        log_len: u64::MAX,
    },
);

/// What a record says of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Record {
    pub fingerprint: Fingerprint,
    /// The snapshot whose log it describes.
    pub snapshot: u64,
    /// That log's length once the fingerprinted heads were stored.
    pub log_len: u64,
}

/// The journal, open for appending.
#[derive(Debug)]
pub(super) struct Journal {
    path: PathBuf,
    file: File,
}

fn encode(run: &DocumentId, record: &Record) -> [u8; LEN] {
    let mut out = [0u8; LEN];
    out[..16].copy_from_slice(run.as_bytes());
    out[16..32].copy_from_slice(&record.fingerprint.0);
    out[32..40].copy_from_slice(&record.snapshot.to_le_bytes());
    out[40..48].copy_from_slice(&record.log_len.to_le_bytes());
    let crc = crc32fast::hash(&out[..48]);
    out[48..].copy_from_slice(&crc.to_le_bytes());
    out
}

fn decode(bytes: &[u8]) -> Option<(DocumentId, Record)> {
    let crc = u32::from_le_bytes(bytes[48..LEN].try_into().ok()?);
    if crc32fast::hash(&bytes[..48]) != crc {
        return None;
    }
    let run = DocumentId::from_bytes(bytes[..16].try_into().ok()?);
    let record = Record {
        fingerprint: Fingerprint(bytes[16..32].try_into().ok()?),
        snapshot: u64::from_le_bytes(bytes[32..40].try_into().ok()?),
        log_len: u64::from_le_bytes(bytes[40..48].try_into().ok()?),
    };
    Some((run, record))
}

fn file_len(path: &Path) -> io::Result<Option<u64>> {
    match fs::metadata(path) {
        Ok(m) => Ok(Some(m.len())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

impl Journal {
    /// The journal under `root`, opened for appending (created if missing).
    pub(super) fn open(root: &Path) -> io::Result<Self> {
        let path = root.join(FILE);
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        Ok(Self { path, file })
    }

    /// Records that `run`'s stored heads are `fingerprint`, its log being snapshot `n`'s,
    /// `log_len` bytes long.
    pub(super) fn note(
        &self,
        run: &DocumentId,
        fingerprint: Fingerprint,
        n: u64,
        log_len: u64,
    ) -> io::Result<()> {
        let record = Record {
            fingerprint,
            snapshot: n,
            log_len,
        };
        (&self.file).write_all(&encode(run, &record))
    }

    /// Marks the journal closed cleanly: the records before are the last.
    pub(super) fn close(&self) -> io::Result<()> {
        let (run, record) = CLEAN;
        (&self.file).write_all(&encode(&run, &record))?;
        self.file.sync_data()
    }

    /// The latest whole record of each run, and whether the journal ends closed cleanly.
    fn read(&self) -> io::Result<(HashMap<DocumentId, Record>, bool)> {
        let bytes = fs::read(&self.path)?;
        let mut latest = HashMap::new();
        let mut clean = false;
        for chunk in bytes.chunks_exact(LEN) {
            clean = false;
            if let Some((run, record)) = decode(chunk) {
                if (run, record) == CLEAN {
                    clean = bytes.len() % LEN == 0;
                    continue;
                }
                latest.insert(run, record);
            }
        }
        Ok((latest, clean))
    }

    /// The fingerprint of each of `listed`'s stored heads where a record still describes
    /// its log on disk; then rewrites the journal with just those records.
    pub(super) fn verified(
        &mut self,
        runs: &Path,
        listed: Vec<DocumentId>,
    ) -> io::Result<Vec<(DocumentId, Option<Fingerprint>)>> {
        let (latest, clean) = self.read()?;
        let mut known = Vec::new();
        let mut out = Vec::with_capacity(listed.len());
        for run in listed {
            let dir = runs.join(run.to_string());
            let holds = |r: &Record| -> io::Result<bool> {
                if clean {
                    return Ok(true);
                }
                Ok(file_len(&log_path(&dir, r.snapshot))? == Some(r.log_len)
                    && file_len(&log_path(&dir, r.snapshot + 1))?.is_none())
            };
            let fingerprint = match latest.get(&run) {
                Some(record) if holds(record)? => {
                    known.push((run, *record));
                    Some(record.fingerprint)
                }
                _ => None,
            };
            out.push((run, fingerprint));
        }
        self.rewrite(&known)?;
        Ok(out)
    }

    /// Replaces the journal with `records` (written aside, then renamed over it).
    fn rewrite(&mut self, records: &[(DocumentId, Record)]) -> io::Result<()> {
        let tmp = self.path.with_extension("tmp");
        let mut bytes = Vec::with_capacity(records.len() * LEN);
        for (run, record) in records {
            bytes.extend_from_slice(&encode(run, record));
        }
        fs::write(&tmp, bytes)?;
        fs::rename(&tmp, &self.path)?;
        self.file = OpenOptions::new().append(true).open(&self.path)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use runmesh_core::RunId;

    use crate::store::{DirStore, EventMeta, Store};

    use super::*;

    fn meta(fingerprint: u8) -> EventMeta {
        EventMeta {
            heads: Some(Fingerprint([fingerprint; 16])),
            ..EventMeta::default()
        }
    }

    async fn known(store: &DirStore, run: DocumentId) -> Option<Fingerprint> {
        let listed = store.fingerprints().await.unwrap();
        listed
            .into_iter()
            .find(|(id, _)| *id == run)
            .and_then(|(_, f)| f)
    }

    #[tokio::test]
    async fn a_fingerprint_counts_only_while_it_describes_the_log_on_disk() {
        let tmp = tempfile::tempdir().unwrap();
        let store = DirStore::open(tmp.path()).unwrap();
        let (run, other) = (RunId::random().document_id(), RunId::random().document_id());
        store.append(&run, b"one", &meta(1)).await.unwrap();
        store
            .append(&other, b"x", &EventMeta::default())
            .await
            .unwrap();
        let listed = store.fingerprints().await.unwrap();
        assert_eq!(listed.len(), 2);
        assert!(listed.iter().any(|(id, f)| *id == other && f.is_none()));
        assert_eq!(known(&store, run).await, Some(Fingerprint([1; 16])));

        // A snapshot moves it along; a reopened store reads the same.
        store.snapshot(&run, b"all", &meta(2), 2).await.unwrap();
        let reopened = DirStore::open(tmp.path()).unwrap();
        assert_eq!(known(&reopened, run).await, Some(Fingerprint([2; 16])));

        // A chunk that landed without its record (a crash between the two): the record
        // no longer describes the log, so the run counts as unknown.
        let log = log_path(&tmp.path().join("runs").join(run.to_string()), 1);
        let mut bytes = fs::read(&log).unwrap();
        bytes.extend_from_slice(&[3, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3]);
        fs::write(&log, bytes).unwrap();
        assert_eq!(known(&store, run).await, None);

        // A later write describes the log again; a torn record is not believed.
        store.append(&run, b"two", &meta(4)).await.unwrap();
        assert_eq!(known(&store, run).await, Some(Fingerprint([4; 16])));
        store.append(&run, b"three", &meta(5)).await.unwrap();
        let journal = tmp.path().join(FILE);
        let mut bytes = fs::read(&journal).unwrap();
        let torn = bytes.len() - 3;
        bytes[torn] ^= 0xff;
        fs::write(&journal, bytes).unwrap();
        assert_eq!(
            known(&store, run).await,
            None,
            "the torn record is skipped; the one before it describes a shorter log"
        );
        // Start-up rewrote the journal: one record per known run.
        assert_eq!(fs::read(&journal).unwrap().len(), 0);
    }

    #[tokio::test]
    async fn a_store_closed_cleanly_is_trusted_once_without_checking_each_run() {
        let tmp = tempfile::tempdir().unwrap();
        let store = DirStore::open(tmp.path()).unwrap();
        let run = RunId::random().document_id();
        store.append(&run, b"one", &meta(1)).await.unwrap();
        store.close().await.unwrap();
        let refused = store.append(&run, b"late", &meta(2)).await.unwrap_err();
        assert!(refused.to_string().contains("closed"), "{refused}");

        // Changing the log behind the journal's back: a clean close is believed (the
        // relay wrote nothing after it), and the mark is gone after that start.
        let log = log_path(&tmp.path().join("runs").join(run.to_string()), 0);
        let mut bytes = fs::read(&log).unwrap();
        bytes.push(0);
        fs::write(&log, bytes).unwrap();
        let next = DirStore::open(tmp.path()).unwrap();
        assert_eq!(known(&next, run).await, Some(Fingerprint([1; 16])));
        let after = DirStore::open(tmp.path()).unwrap();
        assert_eq!(
            known(&after, run).await,
            None,
            "checked again: the log is longer"
        );
    }
}
