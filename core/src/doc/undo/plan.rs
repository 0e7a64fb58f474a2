//! What undoing a change takes, read from the change's own operations and the run now.
//!
//! Each operation of the change is reversed if what it wrote still holds: a graft record
//! it wrote (new, retracted or reinstated) is written back the other way while the graft
//! is as the change left it; a prune mark it wrote is removed while it is still that mark
//! (its op id); a mark it removed is written again while the node is unpruned; a flag it
//! wrote or cleared goes back to the value the change replaced — the winner among the
//! values its operation overwrote, read from the change that wrote it — while the flag
//! still holds what the change left. Operations on anything else (title, steps, the run's
//! containers) cannot be undone. No point of the run's past is read, so this needs none of
//! Automerge's readers at heads (the web app does not link them).

use std::collections::{HashSet, VecDeque};

use automerge::legacy::{Key, ObjectId, OpId, OpType};
use automerge::{ChangeHash, ObjId, ReadDoc, ScalarValue};

use crate::doc::RunDoc;
use crate::doc::undo::Reverse;
use crate::error::RunError;
use crate::flag::FlagValue;
use crate::record::GraftRecord;
use crate::view::containers::Containers;

/// Which container an operation wrote to.
enum Target {
    Bucket,
    Pruned,
    Flags,
    Other,
}

impl RunDoc {
    /// The parts to reverse of the change `hash`, each checked against the run now.
    pub(super) fn plan_undo(&mut self, hash: &ChangeHash) -> Result<Vec<Reverse>, RunError> {
        let cannot = |why: &str| RunError::CannotUndo {
            hash: hash.to_string(),
            why: why.to_owned(),
        };
        let superseded = |why: String| RunError::Superseded {
            hash: hash.to_string(),
            why,
        };
        let change = self
            .doc
            .get_change_by_hash(hash)
            .expect("checked by the caller")
            .decode();
        let containers = self.view().containers.clone();
        let mut plan = Vec::new();
        for (i, op) in change.operations.iter().enumerate() {
            let id = OpId(change.start_op.get() + i as u64, change.actor_id.clone());
            let (Key::Map(key), target) = (&op.key, target(&containers, &op.obj)) else {
                return Err(cannot("it edits the run's steps"));
            };
            let key = key.as_str();
            let step = match (target, &op.action) {
                (Target::Bucket, OpType::Put(ScalarValue::Str(text))) => {
                    let retracted = GraftRecord::parse(text)
                        .map_err(|e| cannot(&format!("its graft record is unreadable: {e}")))?
                        .retracted
                        .is_some();
                    let graft = self.view().index.grafts.get(key).cloned().ok_or_else(|| {
                        superseded(format!("graft {key} is no longer in the run"))
                    })?;
                    match (retracted, &graft.retracted) {
                        (false, None) => Reverse::Retract(graft, true),
                        (true, Some(_)) => Reverse::Retract(graft, false),
                        (false, Some(r)) => {
                            return Err(superseded(format!(
                                "graft {key} was retracted since, by {} ({})",
                                r.by, r.region
                            )));
                        }
                        (true, None) => {
                            return Err(superseded(format!("graft {key} was reinstated since")));
                        }
                    }
                }
                (Target::Pruned, OpType::Put(_)) => {
                    let now = self.doc.get(&containers.pruned, key)?;
                    match (now, self.view().index.pruned.get(key)) {
                        (Some((_, now)), _) if same_op(&now, &id) => {
                            Reverse::Restore(node(key, &cannot)?)
                        }
                        (_, Some(mark)) => {
                            return Err(superseded(format!(
                                "{key} was pruned again since, by {} ({})",
                                mark.by, mark.region
                            )));
                        }
                        _ => return Err(superseded(format!("{key} was restored since"))),
                    }
                }
                (Target::Pruned, OpType::Delete) => {
                    if let Some(mark) = self.view().index.pruned.get(key) {
                        return Err(superseded(format!(
                            "{key} was pruned again since, by {} ({})",
                            mark.by, mark.region
                        )));
                    }
                    Reverse::Prune(node(key, &cannot)?)
                }
                (Target::Flags, action @ (OpType::Put(_) | OpType::Delete)) => {
                    let now = self.doc.get(&containers.flags, key)?;
                    let left = match action {
                        OpType::Put(value) => FlagValue::from_scalar(value),
                        _ => None,
                    };
                    let still = match (&now, action) {
                        (Some((_, now)), OpType::Put(_)) if same_op(now, &id) => true,
                        (Some((value, _)), OpType::Put(_)) => {
                            value.as_scalar().and_then(FlagValue::from_scalar) == left
                        }
                        (None, OpType::Delete) => true,
                        _ => false,
                    };
                    if !still {
                        let now =
                            self.view()
                                .index
                                .flags
                                .get(key)
                                .map_or("cleared".to_owned(), |v| {
                                    format!(
                                        "set to {}",
                                        serde_json::to_string(&v[0]).unwrap_or_default()
                                    )
                                });
                        return Err(superseded(format!(
                            "flag {key:?} was changed since (it is {now})"
                        )));
                    }
                    let before = self.value_of_winner(op.pred.iter(), &change.deps);
                    Reverse::Flag(key.to_owned(), before)
                }
                _ => return Err(cannot("it changes the run's title, id or structure")),
            };
            plan.push(step);
        }
        Ok(plan)
    }

    /// The flag value written by the winner (Automerge's rule: the largest op id) among
    /// `ops`, found among the ancestors of `deps`; `None` for no op (the flag was unset).
    fn value_of_winner<'a>(
        &mut self,
        ops: impl Iterator<Item = &'a OpId>,
        deps: &[ChangeHash],
    ) -> Option<FlagValue> {
        let winner = ops.max_by(|a, b| (a.0, a.1.to_bytes()).cmp(&(b.0, b.1.to_bytes())))?;
        // Walk back from the change's dependencies to the change that holds the op.
        let mut queue: VecDeque<ChangeHash> = deps.iter().copied().collect();
        let mut seen: HashSet<ChangeHash> = queue.iter().copied().collect();
        while let Some(hash) = queue.pop_front() {
            let meta = self.doc.get_change_meta_by_hash(&hash)?;
            if *meta.actor == winner.1 && (meta.start_op..=meta.max_op).contains(&winner.0) {
                let at = usize::try_from(winner.0 - meta.start_op).ok()?;
                let change = self.doc.get_change_by_hash(&hash)?.decode();
                return match &change.operations.get(at)?.action {
                    OpType::Put(value) => FlagValue::from_scalar(value),
                    _ => None,
                };
            }
            let deps = meta.deps.clone();
            for dep in deps {
                if seen.insert(dep) {
                    queue.push_back(dep);
                }
            }
        }
        None
    }
}

fn target(c: &Containers, obj: &ObjectId) -> Target {
    let ObjectId::Id(OpId(counter, actor)) = obj else {
        return Target::Other;
    };
    let is = |id: &ObjId| matches!(id, ObjId::Id(c, a, _) if c == counter && a == actor);
    if c.buckets.iter().any(is) {
        Target::Bucket
    } else if is(&c.pruned) {
        Target::Pruned
    } else if is(&c.flags) {
        Target::Flags
    } else {
        Target::Other
    }
}

/// Whether the op `now` (as Automerge names it) is `op`.
fn same_op(now: &ObjId, op: &OpId) -> bool {
    matches!(now, ObjId::Id(counter, actor, _) if *counter == op.0 && *actor == op.1)
}

fn node(key: &str, cannot: &impl Fn(&str) -> RunError) -> Result<crate::id::NodeId, RunError> {
    key.parse()
        .map_err(|e| cannot(&format!("it names no node of the run: {e}")))
}
