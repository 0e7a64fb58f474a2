//! Who wrote a change, what objects it makes, and whether Automerge knows its writer:
//! what `admission.rs` checks before any change from outside is applied.
//!
//! Automerge 0.12 adds an actor to a document's actor table only for a change with
//! sequence number 1 among the changes it applies together (`insert_new_actors` in
//! `op_set2/change/batch.rs`); it then looks up every actor each change names (its
//! writer and its "other actors") and unwraps the result. A change whose writer or other
//! actor is neither in the document nor the writer of a seq-1 change applied with it
//! panics there, on the live document, after the changes before it were put into the
//! history without their ops (a document that later panics in `save`).

use std::collections::HashSet;

use automerge::legacy::{ElementId, Key, ObjectId, OpType};
use automerge::{ActorId, AutoCommit, Change, ChangeHash};

use crate::error::RunError;

/// What `admission.rs` needs to know of a change: its header, and the objects its ops
/// make and write into.
#[derive(Debug)]
pub(crate) struct Written {
    pub(super) hash: ChangeHash,
    pub(super) deps: Vec<ChangeHash>,
    pub(super) actor: ActorId,
    pub(super) seq: u64,
    pub(super) start_op: u64,
    /// Its last op's counter (its start op if it has none).
    pub(super) max_op: u64,
    /// The other actors its ops name.
    pub(super) others: Vec<ActorId>,
    /// The objects its ops make, each with the object it is made in.
    pub(super) made: Vec<Made>,
    /// The objects (not the root) its ops write into.
    pub(super) uses: Vec<Obj>,
    /// Every op id its ops name that is not its own: objects, list elements, and the ops
    /// they overwrite.
    pub(super) refs: Vec<Obj>,
    /// Whether it has mark ops (rich-text formatting, which no run writes).
    pub(super) marks: bool,
    /// The length of the bytes after its ops that Automerge keeps as they are.
    pub(super) extra: usize,
    /// What the change weighs: its length in bytes uncompressed, or its ops at
    /// [`crate::bounds::OP_WEIGHT`] each if that is more (0 for a change of a whole
    /// document). What the limit on waiting changes counts.
    pub(super) len: usize,
}

/// An object id as Automerge's ops write it: counter and actor.
pub(crate) type Obj = (u64, ActorId);

/// An object a change makes, and the object it is made in (`None`: the root).
#[derive(Debug)]
pub(crate) struct Made {
    pub id: Obj,
    pub parent: Option<Obj>,
}

impl Written {
    /// A change of `len` bytes (uncompressed): refused unless its bytes are exactly how
    /// Automerge encodes its content. Automerge keeps a change's hash from the bytes it
    /// came in, but saves a document by encoding each change again: a change encoded
    /// otherwise (two equal values as a literal run, say) gives a save whose changes no
    /// longer have the hashes it names, which no replica can load.
    pub fn of_chunk(change: &Change, len: usize) -> Result<Self, RunError> {
        let expanded = change.decode();
        if Change::from(expanded.clone()).hash() != change.hash() {
            return Err(RunError::NotCanonical {
                writer: change.actor_id().to_hex_string(),
                seq: change.seq(),
            });
        }
        Ok(Self::of_expanded(change, expanded, len))
    }

    /// One change of a loaded document (its load checked the encoding).
    pub fn of_change(change: &Change) -> Self {
        Self::of_expanded(change, change.decode(), 0)
    }

    fn of_expanded(change: &Change, expanded: automerge::ExpandedChange, len: usize) -> Self {
        let start = change.start_op().get();
        let actor = change.actor_id();
        let max = change.max_op();
        let own = |id: &Obj| id.1 == *actor && (start..=max).contains(&id.0);
        let mut made = Vec::new();
        let mut uses = HashSet::new();
        let mut refs = HashSet::new();
        let mut marks = false;
        for (i, op) in expanded.operations.into_iter().enumerate() {
            let obj = match op.obj {
                ObjectId::Root => None,
                ObjectId::Id(id) => Some((id.0, id.1)),
            };
            if matches!(op.action, OpType::Make(_)) {
                made.push(Made {
                    id: (start + i as u64, actor.clone()),
                    parent: obj.clone(),
                });
            }
            marks |= matches!(op.action, OpType::MarkBegin(_) | OpType::MarkEnd(_));
            let elem = match op.key {
                Key::Seq(ElementId::Id(id)) => Some((id.0, id.1)),
                _ => None,
            };
            let preds = op.pred.into_iter().map(|p| (p.0, p.1));
            refs.extend(
                obj.iter()
                    .cloned()
                    .chain(elem)
                    .chain(preds)
                    .filter(|r| !own(r)),
            );
            uses.extend(obj);
        }
        let mut written = Self {
            hash: change.hash(),
            deps: change.deps().to_vec(),
            actor: actor.clone(),
            seq: change.seq(),
            start_op: start,
            max_op: max,
            others: change.other_actor_ids().to_vec(),
            made,
            uses: uses.into_iter().collect(),
            refs: refs.into_iter().collect(),
            marks,
            extra: change.extra_bytes().len(),
            len: 0,
        };
        if len > 0 {
            written.set_len(len);
        }
        written
    }

    /// The change is `len` bytes long, uncompressed: what it weighs.
    pub(super) fn set_len(&mut self, len: usize) {
        // A change without ops still costs a change (and weighs one op in a snapshot).
        let ops = (self.max_op + 1).saturating_sub(self.start_op).max(1);
        let by_ops = ops.saturating_mul(crate::bounds::OP_WEIGHT);
        self.len = len.max(usize::try_from(by_ops).unwrap_or(usize::MAX));
    }
}

/// Whether `actor` is in `doc`'s actor table (it wrote a change the document holds).
/// Automerge has no other public look-up of the table than parsing an object id, which
/// fails for an actor it does not know; `writers_known_to_automerge` in the tests pins
/// that.
pub(super) fn knows(doc: &mut AutoCommit, actor: &ActorId) -> bool {
    doc.document()
        .import_obj(&format!("1@{}", actor.to_hex_string()))
        .is_ok()
}
