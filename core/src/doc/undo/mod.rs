//! Undo: one new change that reverses one earlier change, whoever made it.
//!
//! What the change did is read from its own operations ([`plan`]); each part is reversed
//! only if it still holds now: a graft it made is retracted (it leaves the pipeline and
//! stays in the history), a prune is restored and a restore pruned again, a flag goes back
//! to its value before the change, a retraction is reinstated. If a later change already
//! replaced any part, nothing is written and the error names it.
//!
//! Undo writes ordinary operations, so it converges as they do: two replicas that undo
//! one change concurrently write the same values (or remove the same marks).

mod plan;

use automerge::transaction::Transactable;
use automerge::{ChangeHash, ReadDoc};

use crate::doc::RunDoc;
use crate::doc::edits::{ChangeNote, Op};

use crate::error::RunError;
use crate::flag::FlagValue;
use crate::genesis::GENESIS_ACTOR;
use crate::id::NodeId;
use crate::record::{GraftRecord, PruneRecord, RetractRecord, encode, graft_bucket};
use crate::view::Graft;

/// One part of an undo.
enum Reverse {
    /// Take the graft out of the pipeline (`true`) or put it back (`false`).
    Retract(Graft, bool),
    /// Remove the node's prune mark.
    Restore(NodeId),
    /// Mark the node pruned again.
    Prune(NodeId),
    /// Give the flag this value, or clear it.
    Flag(String, Option<FlagValue>),
}

impl RunDoc {
    /// Reverses the change `hash` with one new change, and returns the new change's
    /// hash. Refused, with nothing written, if the run lacks the change, if it cannot be
    /// undone (the creation, a fork or merge record, a change that altered nothing shown),
    /// or if a later change superseded part of it.
    pub fn undo(&mut self, hash: &ChangeHash, now_ms: u64) -> Result<ChangeHash, RunError> {
        let cannot = |why: &str| RunError::CannotUndo {
            hash: hash.to_string(),
            why: why.to_owned(),
        };
        let Some(meta) = self.doc.get_change_meta_by_hash(hash) else {
            return Err(RunError::UnknownHeads {
                what: "change",
                hash: hash.to_string(),
            });
        };
        if meta.actor.to_bytes() == GENESIS_ACTOR {
            return Err(cannot("it is the genesis every run starts from"));
        }
        let note = meta
            .message
            .as_deref()
            .and_then(|m| serde_json::from_str::<ChangeNote>(m).ok());
        match note.as_ref().map(|n| n.op) {
            Some(Op::Create) => return Err(cannot("it creates the run")),
            Some(Op::Fork) => return Err(cannot("it records that the run was forked")),
            Some(Op::Merge) => return Err(cannot("it records a merge")),
            _ => {}
        }
        let plan = self.plan_undo(hash)?;
        let Some(first) = plan.first() else {
            return Err(cannot("it changed nothing the run shows"));
        };
        let (op, node) = match first {
            Reverse::Retract(g, true) => (Op::Retract, g.id.to_string()),
            Reverse::Retract(g, false) => (Op::Reinstate, g.id.to_string()),
            Reverse::Restore(n) => (Op::Restore, n.to_string()),
            Reverse::Prune(n) => (Op::Prune, n.to_string()),
            Reverse::Flag(k, Some(_)) => (Op::SetFlag, k.clone()),
            Reverse::Flag(k, None) => (Op::ClearFlag, k.clone()),
        };
        for step in &plan {
            if let Err(e) = self.write(step, now_ms) {
                self.doc.rollback();
                return Err(e);
            }
        }
        let mut note = self.note(op, Some(&node), &format!("undo of {hash}"));
        note.undoes = Some(hash.to_string());
        // Writing back a value the run holds already is no op at all (a flag write that
        // only settled a conflict, say): there is nothing to undo then.
        let Some(undo) = self.commit_note(&note, now_ms) else {
            return Err(cannot("it changed nothing the run shows"));
        };
        // The view follows from the change's patches, as for a change from a peer.
        self.refresh();
        Ok(undo)
    }

    /// Writes one part of an undo into the open transaction.
    fn write(&mut self, step: &Reverse, now_ms: u64) -> Result<(), RunError> {
        let containers = self.view().containers.clone();
        match step {
            Reverse::Retract(graft, retract) => {
                let record = GraftRecord {
                    after: graft.after.as_str().into(),
                    agent_name: graft.agent_name.as_str().into(),
                    by: graft.by.as_ref().into(),
                    region: graft.region.as_ref().into(),
                    lamport: graft.lamport,
                    at: graft.at,
                    retracted: retract.then(|| RetractRecord {
                        by: self.identity.user().into(),
                        region: self.identity.region().into(),
                        at: now_ms,
                    }),
                };
                // Where the graft is stored: its own bucket, or (written by another tool)
                // the first bucket that holds it.
                let own = &containers.buckets[graft_bucket(graft.lamport)];
                let bucket = std::iter::once(own)
                    .chain(&containers.buckets)
                    .find(|b| matches!(self.doc.get(*b, graft.id.as_str()), Ok(Some(_))))
                    .unwrap_or(own)
                    .clone();
                self.doc.put(&bucket, graft.id.as_str(), encode(&record))?;
            }
            Reverse::Restore(node) => self.doc.delete(&containers.pruned, node.as_str())?,
            Reverse::Prune(node) => {
                let record = PruneRecord {
                    by: self.identity.user().into(),
                    region: self.identity.region().into(),
                    lamport: self.lamport + 1,
                    at: now_ms,
                };
                self.doc
                    .put(&containers.pruned, node.as_str(), encode(&record))?;
            }
            Reverse::Flag(key, Some(value)) => {
                self.doc
                    .put(&containers.flags, key.as_str(), value.to_scalar())?;
            }
            Reverse::Flag(key, None) => self.doc.delete(&containers.flags, key.as_str())?,
        }
        Ok(())
    }
}
