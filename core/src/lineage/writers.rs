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

use automerge::legacy::{ObjectId, OpType};
use automerge::{ActorId, AutoCommit, ChangeHash};

/// What a change's header says about who wrote it.
#[derive(Debug)]
pub(crate) struct Written {
    pub(super) hash: ChangeHash,
    pub(super) deps: Vec<ChangeHash>,
    pub(super) actor: ActorId,
    pub(super) seq: u64,
    /// The other actors its ops name (not read for the changes of whole documents, whose
    /// ops name only actors of that document).
    pub(super) others: Vec<ActorId>,
    /// The objects its ops make, each with the object it is made in.
    pub(super) made: Vec<Made>,
    /// The chunk's length in bytes (0 for a change of a whole document).
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
    /// A parsed change (a chunk, or one change of a whole document), with the objects
    /// its ops make.
    pub fn of_change(change: &automerge::Change, len: usize) -> Self {
        Self {
            hash: change.hash(),
            deps: change.deps().to_vec(),
            actor: change.actor_id().clone(),
            seq: change.seq(),
            others: change.other_actor_ids().to_vec(),
            made: made_by(change),
            len,
        }
    }
}

/// The objects `change` makes: each op's id is the change's start op plus its index.
fn made_by(change: &automerge::Change) -> Vec<Made> {
    let start = change.start_op().get();
    let actor = change.actor_id();
    change
        .decode()
        .operations
        .into_iter()
        .enumerate()
        .filter(|(_, op)| matches!(op.action, OpType::Make(_)))
        .map(|(i, op)| Made {
            id: (start + i as u64, actor.clone()),
            parent: match op.obj {
                ObjectId::Root => None,
                ObjectId::Id(id) => Some((id.0, id.1)),
            },
        })
        .collect()
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
