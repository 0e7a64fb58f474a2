//! `runmesh-relay export` and `import`: every stored run to a tar archive and back.
//!
//! The archive holds one entry per run, `runs/<documentId>.automerge`: the run as
//! Automerge bytes (its newest snapshot and the changes after it), which any Automerge
//! can load. Export reads the store without repairing anything, so it is safe while the
//! relay runs: each run is copied as of one moment (a write in progress is left out, as a
//! crash would leave it). Import merges each run into the store it is given — a stopped
//! relay's data directory or a PostgreSQL database — writing it as a new snapshot; a run
//! the store already holds keeps what it has and gains what the archive adds. A bad entry
//! (not a run's bytes, hostile bytes, changes outside a run's lineage) is named and
//! skipped, and the rest is imported; the command then exits non-zero.

use std::io::{Read, Write};
use std::path::PathBuf;

use clap::Args;
use runmesh_core::{DocumentId, check_merge, load_run_document};

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

    /// The relay's run size limit (as its --max-document-bytes): a run the relay could
    /// load (up to 4 times this) imports, a heavier one is refused.
    #[arg(long, env = "MAX_DOCUMENT_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_document_bytes: usize,
}

/// Why a backup or restore stopped.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The archive could not be written.
    #[error("the archive {0}: {1}")]
    Archive(String, std::io::Error),
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

/// What an import did. Each entry is merged on its own: a bad one is named and skipped,
/// the others are imported. The archive itself breaking (a damaged header, data cut
/// short) stops the import there, since nothing after it can be trusted to be read.
#[derive(Debug, Default)]
pub struct Imported {
    /// The runs merged into the store.
    pub copied: Copied,
    /// Entries not imported, each by name with why.
    pub refused: Vec<(String, String)>,
    /// Why the archive could not be read further, if it could not (entries after that
    /// point were not read).
    pub stopped: Option<String>,
}

impl Imported {
    /// Whether every entry of the archive was imported.
    pub fn complete(&self) -> bool {
        self.refused.is_empty() && self.stopped.is_none()
    }
}

/// Keeps quiet about panics inside Automerge's parser (and the column decoder it uses):
/// `import` catches them and names the entry, and the default report, a panic message
/// per bad entry, would read as the command failing. Any other panic is reported as
/// before.
pub fn quiet_parser_panics() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let file = info.location().map_or("", |at| at.file());
        if !(file.contains("/automerge-") || file.contains("/hexane-")) {
            report(info);
        }
    }));
}

/// Merges every run of the archive `input` into `store`. `Err` only when the store
/// fails (the runs imported before stay imported).
pub async fn import(
    store: &dyn Store,
    input: impl Read,
    label: &str,
    retain: u32,
    max_document_bytes: usize,
) -> Result<Imported, BackupError> {
    let max_weight = max_document_bytes.saturating_mul(runmesh_core::hub::LOAD_CEILING);
    let mut tar = tar::Archive::new(input);
    let mut done = Imported::default();
    // Raw: `tar` would read a GNU long-name or pax extension entry whole, whatever its
    // size, to apply it to the next (a 3 GiB long name: 2.1 GB resident: eleventh attack,
    // E33). Export writes none; they are looked at here, by their header, unread.
    let entries = match tar.entries() {
        Ok(entries) => entries.raw(true),
        Err(e) => {
            done.stopped = Some(format!("the archive {label} cannot be read: {e}"));
            return Ok(done);
        }
    };
    let mut last = None::<String>;
    for (at, entry) in entries.enumerate() {
        let after = || match &last {
            Some(name) => format!("after entry {name}"),
            None => "at its first entry".to_owned(),
        };
        let mut entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                done.stopped = Some(format!("the archive {label} is damaged {}: {e}", after()));
                break;
            }
        };
        let name = match entry.path() {
            Ok(path) => path.display().to_string(),
            Err(e) => format!("#{} (its name is unreadable: {e})", at + 1),
        };
        // A short read is not an error to `tar`: compare with the size the header gives.
        let size = entry.size();
        let kind = entry.header().entry_type();
        if let Some(why) = not_a_run(kind, size) {
            if let Some(why) = why {
                done.refused.push((name.clone(), why));
            }
            last = Some(name);
            continue;
        }
        // Stored bytes never weigh more than they inflate to: an entry larger than a run
        // may weigh is refused before it is read (a 2 KB archive of a sparse entry
        // declared 8 GiB, and `import` read it whole: tenth attack, E30).
        if size > max_weight as u64 {
            let why = format!(
                "it declares {size} bytes, more than a run may weigh ({max_weight} bytes, --max-document-bytes): not read"
            );
            done.refused.push((name.clone(), why));
            last = Some(name);
            continue;
        }
        let mut bytes = Vec::new();
        let read = entry.read_to_end(&mut bytes);
        if read.is_err() || bytes.len() as u64 != size {
            let why = read.err().map_or_else(
                || format!("its header gives {size} bytes, {} follow", bytes.len()),
                |e| e.to_string(),
            );
            done.stopped = Some(format!(
                "the archive {label} ends inside entry {name}: {why}"
            ));
            break;
        }
        match merge_entry(store, &name, &bytes, retain, max_weight).await {
            Ok(()) => {
                done.copied.runs += 1;
                done.copied.bytes += bytes.len() as u64;
            }
            Err(EntryError::Refused(why)) => done.refused.push((name.clone(), why)),
            Err(EntryError::Store(e)) => return Err(e.into()),
        }
        last = Some(name);
    }
    Ok(done)
}

/// The most bytes of an extension entry (pax, GNU long name) skipped without a word.
const EXTENSION_BYTES: u64 = 64 * 1024;

/// Whether an entry of type `kind` and `size` bytes cannot be a run, and if so whether
/// to say why: `Some(None)` skips it silently (a small extension header, which an
/// archiver may add); `Some(Some(why))` refuses it by name. Only a regular file with
/// bytes in it is read.
fn not_a_run(kind: tar::EntryType, size: u64) -> Option<Option<String>> {
    let extension = kind.is_pax_local_extensions()
        || kind.is_pax_global_extensions()
        || kind.is_gnu_longname()
        || kind.is_gnu_longlink();
    if extension {
        return Some((size > EXTENSION_BYTES).then(|| {
            format!(
                "an extension header ({kind:?}) of {size} bytes, over {EXTENSION_BYTES}: not read"
            )
        }));
    }
    if !kind.is_file() {
        return Some(Some(format!(
            "a {kind:?} entry, not a regular file: not read"
        )));
    }
    if size == 0 {
        return Some(Some(
            "an empty file: a run has at least its first change".into(),
        ));
    }
    None
}

/// Why one entry was not imported.
enum EntryError {
    /// The entry is bad; the import goes on.
    Refused(String),
    /// The store failed; the import stops.
    Store(StoreError),
}

impl From<StoreError> for EntryError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// Merges one entry into the store, keeping the run rules: its bytes are bounded (by
/// what a run weighing up to `max_weight` may hold) and checked before Automerge parses them (a panic inside Automerge is caught), and a run
/// keeps its lineage (`runmesh_core::check_merge`).
async fn merge_entry(
    store: &dyn Store,
    name: &str,
    bytes: &[u8],
    retain: u32,
    max_weight: usize,
) -> Result<(), EntryError> {
    let refused = |why: String| EntryError::Refused(why);
    let doc: DocumentId = name
        .strip_prefix("runs/")
        .and_then(|n| n.strip_suffix(".automerge"))
        .ok_or_else(|| refused("expected runs/<documentId>.automerge".into()))?
        .parse()
        .map_err(|e: runmesh_core::InvalidDocumentId| refused(e.to_string()))?;
    let load = |bytes: &[u8]| load_run_document(bytes, max_weight);
    let mut incoming = load(bytes).map_err(|e| refused(e.to_string()))?;
    let mut merged = match store.read(&doc).await? {
        Some(stored) => {
            let mut here = load(&stored.concat())
                .map_err(|e| refused(format!("the run already stored does not load: {e}")))?;
            check_merge(Some(&mut here), &mut incoming).map_err(|e| refused(e.to_string()))?;
            let merge = std::panic::AssertUnwindSafe(|| here.merge(&mut incoming));
            match std::panic::catch_unwind(merge) {
                Ok(Ok(_)) => here,
                Ok(Err(e)) => return Err(refused(format!("cannot merge: {e}"))),
                Err(_) => return Err(refused("cannot merge: automerge failed".into())),
            }
        }
        None => {
            check_merge(None, &mut incoming).map_err(|e| refused(e.to_string()))?;
            incoming
        }
    };
    let snapshot = merged.save();
    let meta = EventMeta {
        source_region: "import".into(),
        lamport: 0,
        heads: None,
        base: None,
    };
    store.snapshot(&doc, &snapshot, &meta, retain).await?;
    Ok(())
}
