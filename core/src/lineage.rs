//! The run's lineage rule: **a document that holds the genesis change holds no other
//! change without dependencies.** So every change of a run descends from its genesis,
//! and a document that is not a run (one a stock automerge-repo client made) never
//! becomes one.
//!
//! A change with no dependencies starts a history of its own. Taken into a run, it can
//! write the root keys that hold the run's containers (`steps`, `grafts`, …) concurrently
//! with the genesis and win them; before this rule such a change, sent once, left a run
//! that every later load refused. The view no longer depends on those keys (it reads
//! the containers by the genesis' object ids, see `view/containers.rs`), and this rule
//! keeps such changes out: it is checked on what comes from outside (a client's sync
//! message, `POST …/sync`, [`crate::RunDoc::apply_bytes`], `import`) before anything is
//! applied. A root change the document already holds is not new, so a run damaged before
//! the rule can still be sent again whole; relays take from each other what the other
//! relay holds (it checked what it took in), so such a run still syncs between them.

use automerge::{AutoCommit, Change, ChangeHash};

use crate::chunk::split_chunk;
use crate::error::RunError;
use crate::genesis::genesis_hash;
use writers::Written;

mod admission;
mod after;
mod kept;
mod queue;
mod seen;
mod writers;

pub use admission::{MAX_DEPTH, MAX_HEADS, MAX_WAITING, MAX_WAITING_BYTES};
pub(crate) use after::AfterCache;
pub(crate) use kept::check_kept;
pub(crate) use queue::save_applied;

/// Chunk types (Automerge's storage format).
const DOCUMENT: u8 = 0;
const CHANGE: u8 = 1;
const COMPRESSED: u8 = 2;
const BUNDLE: u8 = 3;

/// What the document that changes are bound for holds, as the rule sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Holds {
    /// No change yet.
    Nothing,
    /// The genesis: it is a run.
    Run,
    /// Changes, but not the genesis: some other document.
    Other,
}

impl Holds {
    /// What `doc` holds.
    pub fn of(doc: &mut AutoCommit) -> Self {
        if doc.get_heads().is_empty() {
            Self::Nothing
        } else if holds_genesis(doc) {
            Self::Run
        } else {
            Self::Other
        }
    }
}

/// Whether `doc` holds the genesis change.
pub(crate) fn holds_genesis(doc: &mut AutoCommit) -> bool {
    doc.get_change_meta_by_hash(&genesis_hash()).is_some()
}

/// The changes without dependencies that some bytes carry.
#[derive(Debug, Default)]
pub(crate) struct Roots {
    genesis: bool,
    others: Vec<ChangeHash>,
    /// Who wrote each change, in the order the bytes carry them (see `writers.rs`).
    writers: Vec<Written>,
}

impl Roots {
    /// The roots carried by `chunks`, each a run of Automerge chunks (a sync message's
    /// changes, a save, incremental saves) that `bounds` has already passed (callers take
    /// them from `strict_load` or `decode_message`). A plain change's dependencies are read
    /// from its header; compressed changes and whole documents are parsed (a panic inside
    /// Automerge is caught). Bytes that are not chunks are refused here, so that nothing in
    /// front of them is applied.
    pub fn of_chunks<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Result<Self, RunError> {
        let mut roots = Self::default();
        for mut bytes in chunks {
            while !bytes.is_empty() {
                let Some((kind, chunk, rest)) = split_chunk(bytes) else {
                    return Err(unparsable(bytes, "not an Automerge chunk"));
                };
                match kind {
                    CHANGE | COMPRESSED => {
                        let change = parse(chunk, || Change::try_from(chunk))?;
                        roots.add(change.deps().is_empty(), change.hash());
                        let written = crate::intake::guard(chunk.len(), || {
                            // Weighed as Automerge holds it: inflated.
                            Written::of_chunk(&change, change.raw_bytes().len())
                        })??;
                        roots.writers.push(written);
                    }
                    // Refused before parsing everywhere (`bounds`): Automerge's bundle
                    // parser sizes buffers from its input.
                    BUNDLE => return Err(unparsable(chunk, "an Automerge bundle (chunk type 3)")),
                    DOCUMENT => {
                        // Loaded as any document from outside is (bounded, guarded).
                        let mut doc = crate::intake::strict_load(chunk)?.ok_or_else(|| {
                            unparsable(chunk, "a whole document that lacks changes it needs")
                        })?;
                        roots.extend(Self::of_document(&mut doc)?);
                    }
                    other => {
                        return Err(unparsable(chunk, &format!("unknown chunk type {other}")));
                    }
                }
                bytes = rest;
            }
        }
        Ok(roots)
    }

    /// The roots of a loaded document from outside. Automerge rebuilds its changes from
    /// its op set, which can panic on a document whose ops do not fit (see `kept.rs`):
    /// under the guard, that is an error.
    pub fn of_document(doc: &mut AutoCommit) -> Result<Self, RunError> {
        crate::intake::guard(0, || {
            let mut roots = Self::default();
            for change in doc.get_changes(&[]) {
                roots.add(change.deps().is_empty(), change.hash());
                roots.writers.push(Written::of_change(&change));
            }
            roots
        })
        .map_err(|e| RunError::ChangesUnreadable(e.to_string()))
    }

    /// Refuses the changes if taking them into a document that holds `holds` would break
    /// the rule. `known` says whether the document already has a change.
    pub fn admit(
        &self,
        holds: Holds,
        mut known: impl FnMut(&ChangeHash) -> bool,
    ) -> Result<(), RunError> {
        let new_other = self.others.iter().find(|h| !known(h));
        match (holds, new_other) {
            (Holds::Run, Some(hash)) => Err(RunError::ForeignRoot {
                hash: hash.to_string(),
            }),
            (Holds::Nothing, Some(hash)) if self.genesis => Err(RunError::ForeignRoot {
                hash: hash.to_string(),
            }),
            (Holds::Other, _) if self.genesis => Err(RunError::GenesisIntoOther),
            _ => Ok(()),
        }
    }

    /// Refuses the changes if applying them to `doc` would break a rule of
    /// `admission.rs`: an actor Automerge does not know, objects nested too deep, too
    /// many heads or too many changes waiting. Nothing of them is applied; `doc` may lose
    /// queued changes that they would release and that break a rule.
    pub fn admit_into(&self, doc: &mut AutoCommit) -> Result<(), RunError> {
        admission::admit(&self.writers, doc)
    }

    /// [`Roots::admit_into`] for a document that takes many inputs: what the check
    /// learns of the document is kept in `after` for the next one.
    pub fn admit_into_kept(
        &self,
        doc: &mut AutoCommit,
        after: &mut AfterCache,
    ) -> Result<(), RunError> {
        admission::admit_kept(&self.writers, doc, after)
    }

    /// Refuses the changes if loading them into a new document would meet an actor
    /// Automerge does not know (see `writers.rs`).
    #[cfg(any(not(target_arch = "wasm32"), feature = "wasm"))]
    pub fn admit_writers(&self) -> Result<(), RunError> {
        admission::admit_writers(&self.writers)
    }

    fn add(&mut self, root: bool, hash: ChangeHash) {
        if !root {
            return;
        }
        if hash == genesis_hash() {
            self.genesis = true;
        } else {
            self.others.push(hash);
        }
    }

    fn extend(&mut self, other: Self) {
        self.genesis |= other.genesis;
        self.others.extend(other.others);
        self.writers.extend(other.writers);
    }
}

/// [`crate::intake::strict_load`] for bytes from outside. Changes alone (no whole
/// document first) load as one batch into a new document, where one naming an actor
/// Automerge does not know would panic (which the guard cannot catch in a wasm build):
/// their writers are checked first, and what that check read of them is returned, so
/// that a caller checking them further does not read them again.
///
/// The web app's build (`browser` without the npm API) leaves this check out: the app loads
/// only its own saves and documents a relay made, and the check's code (a change decoded
/// and encoded again, the admission rules) is 20 KB of its gzipped wasm.
pub(crate) fn load_from_outside(
    bytes: &[u8],
) -> Result<(Option<AutoCommit>, Option<Roots>), RunError> {
    crate::intake::check_bounds(bytes)?;
    load_bounded_from_outside(bytes)
}

/// [`load_from_outside`] of bytes a bounds check has passed.
fn load_bounded_from_outside(
    bytes: &[u8],
) -> Result<(Option<AutoCommit>, Option<Roots>), RunError> {
    #[cfg(any(not(target_arch = "wasm32"), feature = "wasm"))]
    let roots = if matches!(split_chunk(bytes), Some((kind, _, _)) if kind != DOCUMENT) {
        let roots = Roots::of_chunks([bytes])?;
        roots.admit_writers()?;
        Some(roots)
    } else {
        None
    };
    #[cfg(not(any(not(target_arch = "wasm32"), feature = "wasm")))]
    let roots = None;
    Ok((crate::intake::load_bounded(bytes)?, roots))
}

/// Loads a whole document from outside (a backup's entry): every chunk checked, a panic
/// inside Automerge caught, changes whose dependencies are missing refused.
pub fn load_document(bytes: &[u8]) -> Result<AutoCommit, RunError> {
    whole(bytes, load_from_outside(bytes)?.0)
}

/// [`load_document`] with the ceilings a run weighing up to `max_weight` needs
/// ([`crate::bounds::check_run`]): what a relay exported with that size limit imports
/// again, whatever the ratio of its ops to its length.
pub fn load_run_document(bytes: &[u8], max_weight: usize) -> Result<AutoCommit, RunError> {
    crate::bounds::check_run(bytes, max_weight).map_err(|source| RunError::Refused {
        len: bytes.len(),
        source,
    })?;
    whole(bytes, load_bounded_from_outside(bytes)?.0)
}

fn whole(bytes: &[u8], loaded: Option<AutoCommit>) -> Result<AutoCommit, RunError> {
    loaded.ok_or_else(|| RunError::CorruptBytes {
        len: bytes.len(),
        source: Box::new(automerge::AutomergeError::MissingDeps),
    })
}

/// Checks that merging `incoming` (from outside: a backup) into `into` (what is held of
/// the same document, if anything) keeps the lineage rule; nothing is changed.
pub fn check_merge(
    into: Option<&mut AutoCommit>,
    incoming: &mut AutoCommit,
) -> Result<(), RunError> {
    let roots = Roots::of_document(incoming)?;
    match into {
        None => roots.admit(Holds::Nothing, |_| false),
        Some(doc) => {
            let holds = Holds::of(doc);
            roots.admit(holds, |h| doc.get_change_meta_by_hash(h).is_some())
        }
    }
}

/// Runs an Automerge parse of `chunk` under the panic guard, naming what failed.
fn parse<T, E: std::fmt::Display>(
    chunk: &[u8],
    f: impl FnOnce() -> Result<T, E>,
) -> Result<T, RunError> {
    crate::intake::guard(chunk.len(), f)?.map_err(|e| unparsable(chunk, &e.to_string()))
}

fn unparsable(bytes: &[u8], why: &str) -> RunError {
    RunError::BadChunk {
        len: bytes.len(),
        reason: why.to_owned(),
    }
}

#[cfg(test)]
mod tests;
