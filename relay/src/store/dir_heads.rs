//! `runs/<id>/heads.bin`: the fingerprint of a run's stored heads in a [`DirStore`], with
//! the snapshot number and log length it describes, so start-up reads one small file
//! per run instead of every run.
//!
//! It is written after each append and snapshot without fsync. After a crash it may be
//! torn or describe an older log; then its length or checksum fails, or the log on disk
//! is not the length it names, and the run counts as not known (synced with the mesh
//! on the next link, and indexed when loaded) — never as holding heads it does not.
//!
//! [`DirStore`]: super::DirStore

use std::fs;
use std::io;
use std::path::Path;

use runmesh_core::digest::Fingerprint;

use crate::store::dir::{log_path, newest_snapshot};

const FILE: &str = "heads.bin";
const LEN: usize = 16 + 8 + 8 + 4;

/// Records `fingerprint` as describing snapshot `n` and its log at its present length.
pub(super) fn write(dir: &Path, fingerprint: &Fingerprint, n: u64) -> io::Result<()> {
    let log_len = match fs::metadata(log_path(dir, n)) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
        Err(e) => return Err(e),
    };
    let mut bytes = Vec::with_capacity(LEN);
    bytes.extend_from_slice(&fingerprint.0);
    bytes.extend_from_slice(&n.to_le_bytes());
    bytes.extend_from_slice(&log_len.to_le_bytes());
    bytes.extend_from_slice(&crc32fast::hash(&bytes).to_le_bytes());
    fs::write(dir.join(FILE), bytes)
}

/// The fingerprint, if the file is whole and the run's newest snapshot and log are
/// still the ones it describes.
pub(super) fn read(dir: &Path) -> Option<Fingerprint> {
    let bytes = fs::read(dir.join(FILE)).ok()?;
    if bytes.len() != LEN {
        return None;
    }
    let (body, crc) = bytes.split_at(LEN - 4);
    if crc32fast::hash(body).to_le_bytes() != crc {
        return None;
    }
    let fingerprint = Fingerprint(body[..16].try_into().ok()?);
    let n = u64::from_le_bytes(body[16..24].try_into().ok()?);
    let log_len = u64::from_le_bytes(body[24..32].try_into().ok()?);
    let on_disk = match fs::metadata(log_path(dir, n)) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
        Err(_) => return None,
    };
    (newest_snapshot(dir).ok()? == n && on_disk == log_len).then_some(fingerprint)
}

/// Removes the file (a store written without fingerprints: the run counts as unknown).
pub(super) fn forget(dir: &Path) -> io::Result<()> {
    match fs::remove_file(dir.join(FILE)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use runmesh_core::RunId;

    use crate::store::{DirStore, EventMeta, Store};

    fn meta(fingerprint: u8) -> EventMeta {
        EventMeta {
            heads: Some(super::Fingerprint([fingerprint; 16])),
            ..EventMeta::default()
        }
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
        let known = |listed: Vec<(_, Option<super::Fingerprint>)>| {
            listed
                .into_iter()
                .find(|(id, _)| *id == run)
                .and_then(|(_, f)| f)
        };
        let listed = store.fingerprints().await.unwrap();
        assert_eq!(listed.len(), 2);
        assert!(listed.iter().any(|(id, f)| *id == other && f.is_none()));
        assert_eq!(known(listed), Some(super::Fingerprint([1; 16])));

        // A snapshot moves it along.
        store.snapshot(&run, b"all", &meta(2), 2).await.unwrap();
        let listed = store.fingerprints().await.unwrap();
        assert_eq!(known(listed), Some(super::Fingerprint([2; 16])));

        // A chunk that landed after the file was written (a crash between the two): the
        // file no longer describes the log, so the run counts as unknown.
        let dir = tmp.path().join("runs").join(run.to_string());
        let log = super::log_path(&dir, 1);
        let mut bytes = std::fs::read(&log).unwrap();
        bytes.extend_from_slice(&[3, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3]);
        std::fs::write(&log, bytes).unwrap();
        assert_eq!(known(store.fingerprints().await.unwrap()), None);

        // A torn file is not believed either.
        store.append(&run, b"two", &meta(4)).await.unwrap();
        assert!(known(store.fingerprints().await.unwrap()).is_some());
        let file = dir.join(super::FILE);
        let bytes = std::fs::read(&file).unwrap();
        std::fs::write(&file, &bytes[..20]).unwrap();
        assert_eq!(known(store.fingerprints().await.unwrap()), None);
    }
}
