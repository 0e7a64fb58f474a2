//! Where a [`DirStore`](super::DirStore) keeps a run: `runs/<document id>/`, with
//! `snapshot-<n>.bin`, the n-th snapshot, and `log-<n>.bin`, the chunks after it, each
//! record `[len u32][crc32 u32][bytes]`; and reading them back.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// Bytes before each record of a log: its length and its CRC-32.
pub(super) const HEADER: usize = 8;

/// The log of chunks appended after snapshot `n` (0: before any snapshot).
pub(super) fn log_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("log-{n:08}.bin"))
}

/// The `n`-th snapshot.
pub(super) fn snapshot_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("snapshot-{n:08}.bin"))
}

/// Snapshot numbers present in `dir`, ascending.
pub(super) fn snapshot_numbers(dir: &Path) -> io::Result<Vec<u64>> {
    let mut numbers: Vec<u64> = fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.strip_prefix("snapshot-")?
                .strip_suffix(".bin")?
                .parse()
                .ok()
        })
        .collect();
    numbers.sort_unstable();
    Ok(numbers)
}

/// The newest snapshot's number (0: none).
pub(super) fn newest_snapshot(dir: &Path) -> io::Result<u64> {
    Ok(snapshot_numbers(dir)?.last().copied().unwrap_or(0))
}

/// Makes `dir`'s entries durable (a rename, a new file).
pub(super) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Reads whole records; with `repair`, truncates a torn tail so later appends stay
/// readable.
pub(super) fn read_log(path: &Path, repair: bool) -> io::Result<Vec<Vec<u8>>> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut chunks = Vec::new();
    let mut at = 0;
    while at + HEADER <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().expect("4 bytes"));
        let Some(body) = bytes.get(at + HEADER..at + HEADER + len) else {
            break;
        };
        if crc32fast::hash(body) != crc {
            break;
        }
        chunks.push(body.to_vec());
        at += HEADER + len;
    }
    if repair && at < bytes.len() {
        tracing::warn!(path = %path.display(), kept = at, dropped = bytes.len() - at, "truncating a torn log tail");
        let file = OpenOptions::new().write(true).open(path)?;
        file.set_len(at as u64)?;
        file.sync_all()?;
    }
    Ok(chunks)
}
