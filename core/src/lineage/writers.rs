//! Who wrote the changes an input carries, checked before any is applied.
//!
//! Automerge 0.12 adds an actor to a document's actor table only for a change with
//! sequence number 1 among the changes it applies together (`insert_new_actors` in
//! `op_set2/change/batch.rs`); it then looks up every actor each change names (its
//! writer and its "other actors") and unwraps the result. A change whose writer or other
//! actor is neither in the document nor the writer of a seq-1 change applied with it
//! panics there, on the live document, after the changes before it were put into the
//! history without their ops (a document that later panics in `save`). So such a change
//! is refused here, with nothing applied.
//!
//! Only the changes applied at once are checked: those whose dependencies are in the
//! document or earlier in the input (a seq-1 change vouches for its writer only if it is
//! one of them). A change whose dependencies are not all here is queued by Automerge and
//! applied with whatever later releases it; a replica's own change depends on its writer's
//! previous one, so its writer's change 1 comes out of the queue with it or before it
//! (the shared-store simulation releases such changes: seed 147). A change forged to wait
//! on another actor's change is not caught here when a later input releases it.

use std::collections::HashSet;

use automerge::{ActorId, AutoCommit, ChangeHash, ChangeMetadata};

use crate::error::RunError;

/// What a change's header says about who wrote it.
#[derive(Debug)]
pub(crate) struct Written {
    hash: ChangeHash,
    pub(super) deps: Vec<ChangeHash>,
    actor: ActorId,
    seq: u64,
    /// The other actors its ops name (not read for the changes of whole documents, whose
    /// ops name only actors of that document).
    others: Vec<ActorId>,
}

impl Written {
    /// A plain change chunk's header (after `bounds` passed it): dependencies, actor,
    /// sequence number, start op, time, message, other actors. `hash` is Automerge's.
    pub fn of_plain(body: &[u8], hash: ChangeHash) -> Option<Self> {
        let mut r = body;
        let count = uleb(&mut r)?;
        let mut deps = Vec::new();
        for _ in 0..count {
            let (dep, rest) = r.split_first_chunk::<32>()?;
            deps.push(ChangeHash(*dep));
            r = rest;
        }
        let actor = ActorId::from(prefixed(&mut r)?);
        let seq = uleb(&mut r)?;
        uleb(&mut r)?; // start op
        uleb(&mut r)?; // time (signed LEB128: the same bytes to skip)
        prefixed(&mut r)?; // message
        let count = uleb(&mut r)?;
        let mut others = Vec::new();
        for _ in 0..count {
            others.push(ActorId::from(prefixed(&mut r)?));
        }
        Some(Self {
            hash,
            deps,
            actor,
            seq,
            others,
        })
    }

    /// A parsed change (a compressed chunk).
    pub fn of_change(change: &automerge::Change) -> Self {
        Self {
            hash: change.hash(),
            deps: change.deps().to_vec(),
            actor: change.actor_id().clone(),
            seq: change.seq(),
            others: change.other_actor_ids().to_vec(),
        }
    }

    /// A change of a loaded document.
    pub fn of_meta(meta: &ChangeMetadata<'_>) -> Self {
        Self {
            hash: meta.hash,
            deps: meta.deps.clone(),
            actor: meta.actor.clone().into_owned(),
            seq: meta.seq,
            others: Vec::new(),
        }
    }
}

/// Refuses `changes` (in the order the input carries them) if applying them to `doc`
/// would name an actor Automerge does not know ([`RunError::UnknownWriter`],
/// [`RunError::UnknownActor`]). Nothing is changed.
pub(crate) fn admit(changes: &[Written], doc: &mut AutoCommit) -> Result<(), RunError> {
    let mut here: HashSet<ChangeHash> = HashSet::new();
    let mut fresh: HashSet<&ActorId> = HashSet::new();
    for w in changes {
        let ready = w
            .deps
            .iter()
            .all(|d| here.contains(d) || doc.get_change_meta_by_hash(d).is_some());
        if !ready {
            continue; // queued by Automerge, see above
        }
        let mut known = |a: &ActorId| fresh.contains(a) || knows(doc, a);
        if !(w.seq == 1 || known(&w.actor)) {
            return Err(RunError::UnknownWriter {
                actor: w.actor.to_hex_string(),
                seq: w.seq,
            });
        }
        if let Some(other) = w.others.iter().find(|a| **a != w.actor && !known(a)) {
            return Err(RunError::UnknownActor {
                actor: other.to_hex_string(),
                writer: w.actor.to_hex_string(),
                seq: w.seq,
            });
        }
        here.insert(w.hash);
        if w.seq == 1 {
            fresh.insert(&w.actor);
        }
    }
    Ok(())
}

/// Whether `actor` is in `doc`'s actor table (it wrote a change the document holds).
/// Automerge has no other public look-up of the table than parsing an object id, which
/// fails for an actor it does not know; `writers_known_to_automerge` in the tests pins
/// that.
fn knows(doc: &mut AutoCommit, actor: &ActorId) -> bool {
    doc.document()
        .import_obj(&format!("1@{}", actor.to_hex_string()))
        .is_ok()
}

fn uleb(r: &mut &[u8]) -> Option<u64> {
    let (mut value, mut shift) = (0u64, 0u32);
    loop {
        let (&byte, rest) = r.split_first()?;
        *r = rest;
        value |= u64::from(byte & 0x7f).checked_shl(shift)?;
        if byte & 0x80 == 0 {
            return Some(value);
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
}

fn prefixed<'a>(r: &mut &'a [u8]) -> Option<&'a [u8]> {
    let len = usize::try_from(uleb(r)?).ok()?;
    let (bytes, rest) = r.split_at_checked(len)?;
    *r = rest;
    Some(bytes)
}

#[cfg(test)]
mod tests;
