//! Where a [`DirStore`](super::DirStore) keeps a run: `runs/<document id>/`, with
//! `snapshot-<n>.bin`, the n-th snapshot, and `log-<n>.bin`, the chunks after it.

use std::path::{Path, PathBuf};

/// The log of chunks appended after snapshot `n` (0: before any snapshot).
pub(super) fn log_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("log-{n:08}.bin"))
}

/// The `n`-th snapshot.
pub(super) fn snapshot_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("snapshot-{n:08}.bin"))
}
