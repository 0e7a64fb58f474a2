//! The changes Automerge holds back in a document until their dependencies come: read
//! (so `admission.rs` can check those an input would release) and dropped (when one of
//! them breaks a rule).
//!
//! Automerge has no public view of its queue; a save with `retain_orphans` appends the
//! queued changes, as they came, after the document chunk. Both are done only when a
//! queue exists and an input touches it.

use automerge::{AutoCommit, Change, SaveOptions};

use super::writers::Written;
use crate::chunk::split_chunk;
use crate::error::RunError;

/// The changes queued in `doc`.
pub(crate) fn queued(doc: &mut AutoCommit) -> Result<Vec<Written>, RunError> {
    if doc.get_missing_deps(&[]).is_empty() {
        return Ok(Vec::new());
    }
    let saved = doc.document().save_with_options(SaveOptions {
        deflate: false,
        retain_orphans: true,
    });
    let mut out = Vec::new();
    let Some((_, _, mut rest)) = split_chunk(&saved) else {
        return Ok(out);
    };
    while let Some((_, chunk, next)) = split_chunk(rest) {
        let change = Change::try_from(chunk).map_err(|e| RunError::CorruptBytes {
            len: chunk.len(),
            source: Box::new(e.into()),
        })?;
        // Queued changes passed `of_chunk` when they came (or came from a peer relay).
        let mut written = Written::of_change(&change);
        written.set_len(chunk.len());
        out.push(written);
        rest = next;
    }
    Ok(out)
}

/// Drops every change queued in `doc`: the document is saved without them and loaded
/// again (the same changes, the same actor).
pub(crate) fn drop_queued(doc: &mut AutoCommit) -> Result<(), RunError> {
    let actor = doc.get_actor().clone();
    let saved = doc.document().save_with_options(SaveOptions {
        deflate: true,
        retain_orphans: false,
    });
    let mut fresh = AutoCommit::load(&saved)?;
    fresh.set_actor(actor);
    *doc = fresh;
    Ok(())
}

/// `doc` saved without the changes queued in it. Automerge's `save` keeps them (after
/// the document chunk); a snapshot holding a queued change forged to wait on another
/// writer's, loaded beside the log holding that change, releases it on load, where
/// Automerge panics. A queued change is not part of the document: a peer sends it again.
pub(crate) fn save_applied(doc: &mut AutoCommit) -> Vec<u8> {
    doc.save_with_options(SaveOptions {
        deflate: true,
        retain_orphans: false,
    })
}
