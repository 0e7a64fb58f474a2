//! Undo: one new change that reverses one earlier change, whoever made it.
//!
//! What the change did is read as the diff from its dependencies to it; each part is
//! reversed only if it still holds now: a graft it made is retracted (it leaves the
//! pipeline and stays in the history), a prune is restored and a restore pruned again, a
//! flag goes back to its value before the change, a retraction is reinstated. If a later
//! change already replaced any part, nothing is written and the error names it.
//!
//! Undo writes ordinary operations, so it converges as they do: two replicas that undo
//! one change concurrently write the same values (or remove the same marks).

use automerge::transaction::Transactable;
use automerge::{ChangeHash, ReadDoc};

use crate::doc::RunDoc;
use crate::doc::ops::{ChangeNote, Op};
use crate::doc::past::{RunDiff, Touched, compare};
use crate::error::RunError;
use crate::flag::FlagValue;
use crate::genesis::GENESIS_ACTOR;
use crate::id::NodeId;
use crate::record::{GraftRecord, PruneRecord, RetractRecord, encode, graft_bucket};
use crate::view::Graft;
use crate::view::index::ViewIndex;
use crate::view::reader::At;

/// The ops one change wrote: its actor and op counters.
struct Written {
    actor: automerge::ActorId,
    ops: std::ops::RangeInclusive<u64>,
}

impl Written {
    /// Whether the op `id` is one of them.
    fn wrote(&self, id: &automerge::ObjId) -> bool {
        matches!(id, automerge::ObjId::Id(counter, actor, _)
            if *actor == self.actor && self.ops.contains(counter))
    }
}

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
        let deps = meta.deps.clone();
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
        let written_by = Written {
            actor: meta.actor.as_ref().clone(),
            ops: meta.start_op..=meta.max_op,
        };
        let plan = match note {
            Some(note) => self.reversal_of_note(hash, &note, &written_by, &deps)?,
            None => {
                let done = self.what_changed(hash, &deps)?;
                self.reversal(hash, &done)?
            }
        };
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

    /// The parts to reverse of a change runmesh wrote, read from its note and the run now:
    /// a value is still the change's own if the change wrote it (its op id), so no point
    /// of the past is read but a flag's value before.
    fn reversal_of_note(
        &self,
        hash: &ChangeHash,
        note: &ChangeNote,
        written_by: &Written,
        deps: &[ChangeHash],
    ) -> Result<Vec<Reverse>, RunError> {
        let superseded = |why: String| RunError::Superseded {
            hash: hash.to_string(),
            why,
        };
        let Some(node) = note.node.as_deref() else {
            return Ok(Vec::new());
        };
        let view = self.view();
        let graft = |id: &str| {
            view.index
                .grafts
                .get(id)
                .cloned()
                .ok_or_else(|| superseded(format!("graft {id} is no longer in the run")))
        };
        let step = match note.op {
            Op::Graft | Op::Reinstate => {
                let graft = graft(node)?;
                if let Some(r) = &graft.retracted {
                    return Err(superseded(format!(
                        "graft {node} was retracted since, by {} ({})",
                        r.by, r.region
                    )));
                }
                Reverse::Retract(graft, true)
            }
            Op::Retract => {
                let graft = graft(node)?;
                if graft.is_live() {
                    return Err(superseded(format!("graft {node} was reinstated since")));
                }
                Reverse::Retract(graft, false)
            }
            Op::Prune => {
                let now = self.doc.get(&view.containers.pruned, node)?;
                match (now, view.index.pruned.get(node)) {
                    (Some((_, op)), _) if written_by.wrote(&op) => {
                        Reverse::Restore(node.parse().map_err(|e| RunError::node_id("node", e))?)
                    }
                    (_, Some(mark)) => {
                        return Err(superseded(format!(
                            "{node} was pruned again since, by {} ({})",
                            mark.by, mark.region
                        )));
                    }
                    _ => return Err(superseded(format!("{node} was restored since"))),
                }
            }
            Op::Restore => {
                if let Some(mark) = view.index.pruned.get(node) {
                    return Err(superseded(format!(
                        "{node} was pruned again since, by {} ({})",
                        mark.by, mark.region
                    )));
                }
                Reverse::Prune(node.parse().map_err(|e| RunError::node_id("node", e))?)
            }
            Op::SetFlag | Op::ClearFlag => {
                let now = self.doc.get(&view.containers.flags, node)?;
                let value_at = |heads: &[ChangeHash]| {
                    let mut index = ViewIndex::default();
                    index.reload_flag(
                        At {
                            doc: &self.doc,
                            heads,
                        },
                        &view.containers,
                        node,
                    );
                    index.flags.get(node).map(|v| v[0].clone())
                };
                // Still what the change left if it wrote the value there now, or a later
                // change wrote the same value again.
                let still = match (&now, note.op) {
                    (Some((_, op)), Op::SetFlag) if written_by.wrote(op) => true,
                    (None, Op::ClearFlag) => true,
                    (Some(_), Op::SetFlag) => {
                        view.index.flags.get(node).map(|v| &v[0]) == value_at(&[*hash]).as_ref()
                    }
                    _ => false,
                };
                if !still {
                    let now = view
                        .index
                        .flags
                        .get(node)
                        .map_or("cleared".to_owned(), |v| {
                            format!(
                                "set to {}",
                                serde_json::to_string(&v[0]).unwrap_or_default()
                            )
                        });
                    return Err(superseded(format!(
                        "flag {node:?} was changed since (it is {now})"
                    )));
                }
                Reverse::Flag(node.to_owned(), value_at(deps))
            }
            Op::Create | Op::Fork | Op::Merge => return Ok(Vec::new()),
        };
        Ok(vec![step])
    }

    /// What the change `hash` (on `deps`) did.
    fn what_changed(
        &mut self,
        hash: &ChangeHash,
        deps: &[ChangeHash],
    ) -> Result<RunDiff, RunError> {
        let to = [*hash];
        let meta = self
            .doc
            .get_change_meta_by_hash(hash)
            .expect("checked by the caller");
        Ok(match Touched::of(std::slice::from_ref(&meta)) {
            Some(touched) => self.diff_touched(deps, &to, &touched, &Touched::default()),
            // Written by another tool: compare the whole run before and after it.
            None => compare(&self.state_at(deps)?, &self.state_at(&to)?),
        })
    }

    /// The parts of `done` to reverse, each checked against the run now.
    fn reversal(&self, hash: &ChangeHash, done: &RunDiff) -> Result<Vec<Reverse>, RunError> {
        let superseded = |why: String| RunError::Superseded {
            hash: hash.to_string(),
            why,
        };
        let index = &self.view().index;
        let mut plan = Vec::new();
        let now_graft = |id: &NodeId| {
            index
                .grafts
                .get(id)
                .cloned()
                .ok_or_else(|| superseded(format!("graft {id} is no longer in the run")))
        };
        for graft in done.grafts_added.iter().chain(&done.reinstated) {
            let now = now_graft(&graft.id)?;
            if let Some(r) = &now.retracted {
                return Err(superseded(format!(
                    "graft {} was retracted since, by {} ({})",
                    graft.id, r.by, r.region
                )));
            }
            plan.push(Reverse::Retract(now, true));
        }
        for graft in &done.retracted {
            let now = now_graft(&graft.id)?;
            if now.is_live() {
                return Err(superseded(format!(
                    "graft {} was reinstated since",
                    graft.id
                )));
            }
            plan.push(Reverse::Retract(now, false));
        }
        for mark in &done.pruned {
            match index.pruned.get(&mark.id) {
                Some(now) if now == mark => plan.push(Reverse::Restore(mark.id.clone())),
                Some(now) => {
                    return Err(superseded(format!(
                        "{} was pruned again since, by {} ({})",
                        mark.id, now.by, now.region
                    )));
                }
                None => return Err(superseded(format!("{} was restored since", mark.id))),
            }
        }
        for restored in &done.restored {
            if let Some(now) = index.pruned.get(&restored.id) {
                return Err(superseded(format!(
                    "{} was pruned again since, by {} ({})",
                    restored.id, now.by, now.region
                )));
            }
            plan.push(Reverse::Prune(restored.id.clone()));
        }
        for flag in &done.flags {
            let now = index.flags.get(&flag.key).map(|values| &values[0]);
            if now != flag.after.as_ref() {
                let now = now.map_or("cleared".to_owned(), |v| {
                    format!("set to {}", serde_json::to_string(v).unwrap_or_default())
                });
                return Err(superseded(format!(
                    "flag {:?} was changed since (it is {now})",
                    flag.key
                )));
            }
            plan.push(Reverse::Flag(flag.key.clone(), flag.before.clone()));
        }
        Ok(plan)
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
