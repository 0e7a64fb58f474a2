//! `runmesh-relay export` and `import`: every stored run to a tar archive and back.
//!
//! The archive holds one entry per run, `runs/<documentId>.automerge`: the run as
//! Automerge bytes (its newest snapshot and the changes after it), which any Automerge
//! can load. Export reads the store without repairing anything, so it is safe while the
//! relay runs: each run is copied as of one moment (a write in progress is left out, as a
//! crash would leave it). Import merges each run into the store it is given — a stopped
//! relay's data directory or a PostgreSQL database — writing it as a new snapshot; a run
//! the store already holds keeps what it has and gains what the archive adds.

use std::io::{Read, Write};
use std::path::PathBuf;

use automerge::AutoCommit;
use clap::Args;
use runmesh_core::DocumentId;

use crate::store::{DirStore, EventMeta, PgStore, Store, StoreError};

/// Where the runs are: `--data-dir` or `--database-url`, as the relay is configured.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// The relay's data directory.
    #[arg(long, env = "DATA_DIR", default_value = "./runmesh-data")]
    pub data_dir: PathBuf,

    /// The relay's PostgreSQL database instead of --data-dir.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

/// Write every stored run to a tar archive: `runmesh-relay export --data-dir … > runs.tar`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub store: StoreArgs,

    /// The archive to write (`-`: standard output).
    #[arg(long, default_value = "-")]
    pub out: PathBuf,
}

/// Merge the runs of an archive into a store: `runmesh-relay import --data-dir … runs.tar`.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub store: StoreArgs,

    /// The archive to read (`-`: standard input).
    #[arg(default_value = "-")]
    pub archive: PathBuf,

    /// Snapshots kept per run (as the relay's --snapshot-retain).
    #[arg(long, env = "SNAPSHOT_RETAIN", default_value_t = 10)]
    pub snapshot_retain: u32,
}

/// Why a backup or restore stopped.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The archive could not be written or read.
    #[error("the archive {0}: {1}")]
    Archive(String, std::io::Error),
    /// An entry of the archive is not a run.
    #[error("the archive's entry {0}: {1}")]
    Entry(String, String),
}

/// What was copied.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Copied {
    /// Runs.
    pub runs: usize,
    /// Bytes of Automerge data.
    pub bytes: u64,
}

impl StoreArgs {
    /// Opens the store.
    pub async fn open(&self) -> anyhow::Result<Box<dyn Store>> {
        Ok(match &self.database_url {
            Some(url) => Box::new(PgStore::connect(url).await?),
            None => Box::new(DirStore::open(&self.data_dir).map_err(|e| {
                anyhow::anyhow!(
                    "cannot open the data directory {}: {e}",
                    self.data_dir.display()
                )
            })?),
        })
    }
}

fn entry_name(doc: &DocumentId) -> String {
    format!("runs/{doc}.automerge")
}

/// Writes every run of `store` to `out` as a tar archive.
pub async fn export(
    store: &dyn Store,
    out: impl Write,
    label: &str,
) -> Result<Copied, BackupError> {
    let archive_err = |e| BackupError::Archive(label.to_owned(), e);
    let mut tar = tar::Builder::new(out);
    let mut copied = Copied::default();
    let mut runs = store.list().await?;
    runs.sort();
    for doc in runs {
        let Some(stored) = store.read(&doc).await? else {
            continue;
        };
        let bytes = stored.concat();
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, entry_name(&doc), bytes.as_slice())
            .map_err(archive_err)?;
        copied.runs += 1;
        copied.bytes += bytes.len() as u64;
    }
    tar.into_inner()
        .and_then(|mut w| w.flush())
        .map_err(archive_err)?;
    Ok(copied)
}

/// Merges every run of the archive `input` into `store`.
pub async fn import(
    store: &dyn Store,
    input: impl Read,
    label: &str,
    retain: u32,
) -> Result<Copied, BackupError> {
    let archive_err = |e| BackupError::Archive(label.to_owned(), e);
    let mut tar = tar::Archive::new(input);
    let mut copied = Copied::default();
    for entry in tar.entries().map_err(archive_err)? {
        let mut entry = entry.map_err(archive_err)?;
        let name = entry.path().map_err(archive_err)?.display().to_string();
        let bad = |why: String| BackupError::Entry(name.clone(), why);
        let doc: DocumentId = name
            .strip_prefix("runs/")
            .and_then(|n| n.strip_suffix(".automerge"))
            .ok_or_else(|| bad("expected runs/<documentId>.automerge".into()))?
            .parse()
            .map_err(|e: runmesh_core::InvalidDocumentId| bad(e.to_string()))?;
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).map_err(archive_err)?;
        let mut incoming =
            AutoCommit::load(&bytes).map_err(|e| bad(format!("not Automerge bytes: {e}")))?;
        let merged = match store.read(&doc).await? {
            Some(stored) => {
                let mut here = AutoCommit::load(&stored.concat())
                    .map_err(|e| bad(format!("the run already stored does not load: {e}")))?;
                here.merge(&mut incoming)
                    .map_err(|e| bad(format!("cannot merge: {e}")))?;
                here
            }
            None => incoming,
        };
        let mut merged = merged;
        let snapshot = merged.save();
        let meta = EventMeta {
            source_region: "import".into(),
            lamport: 0,
            heads: None,
            base: None,
        };
        store.snapshot(&doc, &snapshot, &meta, retain).await?;
        copied.runs += 1;
        copied.bytes += bytes.len() as u64;
    }
    Ok(copied)
}
