//! A run's past: the run as it was at some heads ([`RunDoc::state_at`]) and what changed
//! between two points ([`RunDoc::diff`]). Both read the document's history; neither
//! writes, and both give the same answer on every replica that has the heads named.

use std::collections::{BTreeMap, BTreeSet};

use automerge::{ChangeHash, ChangeMetadata};
use rustc_hash::FxHashMap;

use crate::doc::RunDoc;
use crate::doc::edits::{ChangeNote, Op};
use crate::doc::history::{HistoryEntry, entries};
use crate::error::RunError;
use crate::flag::FlagValue;
use crate::id::NodeId;
use crate::view::containers::Containers;
use crate::view::index::ViewIndex;
use crate::view::reader::{At, Reader};
use crate::view::{Graft, PruneMark, RunState};

/// What changed from one point of a run to another.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunDiff {
    /// The earlier point's heads (hex).
    pub from: Vec<String>,
    /// The later point's heads (hex).
    pub to: Vec<String>,
    /// Grafts at `to` that were not at `from`, with who, where and when.
    pub grafts_added: Vec<Graft>,
    /// Grafts at `from` that are not at `to` (only when `to` does not include `from`).
    pub grafts_removed: Vec<Graft>,
    /// Grafts in the pipeline at `from` that an undo took out by `to` (each with its
    /// retraction: who, where, when).
    pub retracted: Vec<Graft>,
    /// Grafts retracted at `from` and back in the pipeline at `to`.
    pub reinstated: Vec<Graft>,
    /// Nodes pruned at `to` that were not at `from`, with who, where and when.
    pub pruned: Vec<PruneMark>,
    /// Nodes pruned at `from` that are not at `to`.
    pub restored: Vec<Restored>,
    /// Flags whose value differs.
    pub flags: Vec<FlagChange>,
    /// The changes in `to` that are not in `from`, in history order.
    pub changes: Vec<HistoryEntry>,
}

/// A node whose prune mark is gone.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Restored {
    /// The node.
    pub id: NodeId,
    /// Who restored it, where and when (seconds), if a change between the points did.
    #[serde(flatten)]
    pub by: Option<Who>,
}

/// A flag whose value differs between the points.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FlagChange {
    /// The flag.
    pub key: String,
    /// Its value at `from` (absent: not set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<FlagValue>,
    /// Its value at `to` (absent: cleared).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<FlagValue>,
    /// Who set or cleared it last between the points, where and when (seconds).
    #[serde(flatten)]
    pub by: Option<Who>,
}

/// Who made a change, where and when.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Who {
    /// The user.
    pub by: String,
    /// Their region.
    pub region: String,
    /// When, in seconds since the Unix epoch, by the writer's clock.
    pub at: i64,
}

impl RunDoc {
    /// The run as it was at `heads` (the changes they name and everything before them).
    pub fn state_at(&mut self, heads: &[ChangeHash]) -> Result<RunState, RunError> {
        self.check_heads("at", heads)?;
        Ok(self.state_at_known(heads))
    }

    /// The run as it was at `heads`, which this document holds (none: before anything,
    /// where a change with no dependencies starts).
    pub(super) fn state_at_known(&mut self, heads: &[ChangeHash]) -> RunState {
        if heads_match(&self.heads(), heads) {
            return self.state();
        }
        // Read in place at the heads (the containers' ids never change), rather than
        // forking a copy of the document as it was: half the time on a large run.
        let containers = self.containers();
        let index = ViewIndex::build(
            At {
                doc: &self.doc,
                heads,
            },
            &containers,
        );
        let lamport = heads
            .iter()
            .filter_map(|h| self.doc.get_change_meta_by_hash(h).map(|m| m.max_op))
            .max()
            .unwrap_or(0);
        RunState::from_index(self.run_id, &index, lamport)
    }

    /// The run as it was at `heads`, read from a copy of the document made by replaying
    /// the changes up to them: slower than [`RunDoc::state_at`] on a large run, but it
    /// needs none of Automerge's readers at heads, which the web app leaves out for size.
    pub fn state_at_by_replay(&mut self, heads: &[ChangeHash]) -> Result<RunState, RunError> {
        self.check_heads("at", heads)?;
        if heads_match(&self.heads(), heads) {
            return Ok(self.state());
        }
        let doc = self.doc.fork_at(heads)?;
        Ok(RunDoc::from_doc(self.run_id, self.identity.clone(), doc)?.state())
    }

    /// What changed from `from` to `to`.
    pub fn diff(&mut self, from: &[ChangeHash], to: &[ChangeHash]) -> Result<RunDiff, RunError> {
        self.check_heads("from", from)?;
        self.check_heads("to", to)?;
        let ((ahead, changes), includes) =
            self.between(from, to, |c| (Touched::of(&c), entries(c)));
        // Usually `to` includes `from`, and nothing is behind: no second walk.
        let behind = if includes {
            Some(Touched::default())
        } else {
            self.between(to, from, |c| Touched::of(&c)).0
        };
        let touched = ahead.zip(behind);
        let mut diff = match touched {
            Some((ahead, behind)) => self.diff_touched(from, to, &ahead, &behind),
            // A change some other tool wrote may have touched anything: compare all.
            None => {
                let (before, after) = (self.state_at(from)?, self.state_at(to)?);
                compare(&before, &after)
            }
        };
        diff.from = hex(from);
        diff.to = hex(to);
        diff.changes = changes;
        fill_who(&mut diff);
        Ok(diff)
    }

    /// The difference read from only what the changes between the points touched.
    pub(super) fn diff_touched(
        &mut self,
        from: &[ChangeHash],
        to: &[ChangeHash],
        ahead: &Touched,
        behind: &Touched,
    ) -> RunDiff {
        let containers = self.containers();
        let c = &containers;
        let (then, now) = (
            At {
                doc: &self.doc,
                heads: from,
            },
            At {
                doc: &self.doc,
                heads: to,
            },
        );
        let grafts = |at: At<'_>, ids: &BTreeSet<String>| read_grafts(at, c, ids);
        let (mut was, mut is) = (ViewIndex::default(), ViewIndex::default());
        for node in ahead.nodes.union(&behind.nodes) {
            if let Ok(Some((value, _))) = then.get(&c.pruned, node.as_str()) {
                was.put_prune(node, &value);
            }
            if let Ok(Some((value, _))) = now.get(&c.pruned, node.as_str()) {
                is.put_prune(node, &value);
            }
        }
        for key in ahead.flags.union(&behind.flags) {
            was.reload_flag(then, c, key);
            is.reload_flag(now, c, key);
        }
        let winners = |index: &ViewIndex| -> BTreeMap<String, FlagValue> {
            index
                .flags
                .iter()
                .map(|(k, v)| (k.clone(), v[0].clone()))
                .collect()
        };
        // A graft's creating change is on one side only; one retracted or reinstated is
        // read on both.
        let regrafted: BTreeSet<String> =
            ahead.regrafted.union(&behind.regrafted).cloned().collect();
        let with = |made: &BTreeSet<String>| made.union(&regrafted).cloned().collect();
        compare_parts(
            Parts {
                grafts: grafts(then, &with(&behind.grafts)),
                pruned: was.pruned.values().cloned().collect(),
                flags: winners(&was),
            },
            Parts {
                grafts: grafts(now, &with(&ahead.grafts)),
                pruned: is.pruned.values().cloned().collect(),
                flags: winners(&is),
            },
        )
    }

    /// Where the run keeps its parts: the genesis' objects, whose ids serve any point of
    /// its past.
    fn containers(&self) -> Containers {
        Containers::genesis()
    }

    /// Every head must be a change of this run.
    pub(super) fn check_heads(
        &mut self,
        what: &'static str,
        heads: &[ChangeHash],
    ) -> Result<(), RunError> {
        if heads.is_empty() {
            return Err(RunError::NoHeads(what));
        }
        match heads
            .iter()
            .find(|h| self.doc.get_change_by_hash(h).is_none())
        {
            Some(unknown) => Err(RunError::UnknownHeads {
                what,
                hash: unknown.to_string(),
            }),
            None => Ok(()),
        }
    }

    /// `read` of the changes `to` includes and `from` does not (read in place: copying
    /// every change after `from` costs more than the rest of a diff), and whether `to`
    /// includes `from`: it does if each head of `from` is in `to` or a dependency of a
    /// change between them (the change above it on any path down from `to`).
    pub(super) fn between<T>(
        &mut self,
        from: &[ChangeHash],
        to: &[ChangeHash],
        read: impl FnOnce(Vec<ChangeMetadata<'_>>) -> T,
    ) -> (T, bool) {
        let mut delta = self.doc.get_changes_meta(from);
        let index: FxHashMap<ChangeHash, usize> =
            delta.iter().enumerate().map(|(i, c)| (c.hash, i)).collect();
        let mut keep = vec![false; delta.len()];
        let mut stack: Vec<ChangeHash> = to.to_vec();
        while let Some(hash) = stack.pop() {
            if let Some(&i) = index.get(&hash)
                && !keep[i]
            {
                keep[i] = true;
                stack.extend(delta[i].deps.iter().copied());
            }
        }
        let mut i = 0;
        delta.retain(|_| {
            i += 1;
            keep[i - 1]
        });
        let includes = from
            .iter()
            .all(|h| to.contains(h) || delta.iter().any(|c| c.deps.contains(h)));
        (read(delta), includes)
    }
}

/// The grafts `ids` as `at` reads them, in the view's order.
fn read_grafts<'a>(at: impl Reader<'a>, c: &Containers, ids: &BTreeSet<String>) -> Vec<Graft> {
    let mut index = ViewIndex::default();
    for id in ids {
        index.read_own_graft(at, c, id);
    }
    let mut grafts: Vec<Graft> = index.grafts.into_values().collect();
    grafts.sort_by_cached_key(Graft::sort_key);
    grafts
}

/// What a run's changes touched, read from their notes: `None` if any change has no
/// note runmesh wrote, or (re)writes the run's title and steps.
#[derive(Debug, Default)]
pub(super) struct Touched {
    /// Grafts made.
    grafts: BTreeSet<String>,
    /// Grafts retracted or reinstated.
    regrafted: BTreeSet<String>,
    nodes: BTreeSet<String>,
    flags: BTreeSet<String>,
}

impl Touched {
    pub(super) fn of(changes: &[ChangeMetadata<'_>]) -> Option<Self> {
        let mut touched = Self::default();
        for change in changes {
            let note: ChangeNote = serde_json::from_str(change.message.as_deref()?).ok()?;
            match (note.op, note.node) {
                // They write only the run's id and origin, which no diff shows.
                (Op::Fork | Op::Merge, _) => {}
                (Op::Create, _) | (_, None) => return None,
                (Op::Graft, Some(node)) => {
                    touched.grafts.insert(node);
                }
                (Op::Prune | Op::Restore, Some(node)) => {
                    touched.nodes.insert(node);
                }
                (Op::SetFlag | Op::ClearFlag, Some(key)) => {
                    touched.flags.insert(key);
                }
                (Op::Retract | Op::Reinstate, Some(node)) => {
                    touched.regrafted.insert(node);
                }
            }
        }
        Some(touched)
    }
}

/// Who set or cleared each flag and restored each node, from the diff's changes (the last
/// that did).
pub(super) fn fill_who(diff: &mut RunDiff) {
    let last = |changes: &[HistoryEntry], op: &str, node: &str| {
        changes
            .iter()
            .rev()
            .find(|c| c.node.as_deref() == Some(node) && c.op == op)
            .map(|c| Who {
                by: c.by.clone(),
                region: c.region.clone(),
                at: c.at,
            })
    };
    for flag in &mut diff.flags {
        let op = if flag.after.is_some() {
            "setFlag"
        } else {
            "clearFlag"
        };
        flag.by = last(&diff.changes, op, &flag.key);
    }
    for restored in &mut diff.restored {
        restored.by = last(&diff.changes, "restore", restored.id.as_str());
    }
}

/// The parts of a run a diff compares.
struct Parts {
    grafts: Vec<Graft>,
    pruned: Vec<PruneMark>,
    flags: BTreeMap<String, FlagValue>,
}

pub(super) fn compare(before: &RunState, after: &RunState) -> RunDiff {
    let parts = |s: &RunState| Parts {
        grafts: s.grafts.clone(),
        pruned: s.pruned_steps.clone(),
        flags: s.flags.clone(),
    };
    compare_parts(parts(before), parts(after))
}

/// The differences between two points' parts (who and the changes are filled in after).
fn compare_parts(before: Parts, after: Parts) -> RunDiff {
    let live = |grafts: &[Graft]| {
        grafts
            .iter()
            .filter(|g| g.is_live())
            .map(|g| g.id.clone())
            .collect::<BTreeSet<_>>()
    };
    let retracted = |grafts: &[Graft]| {
        grafts
            .iter()
            .filter(|g| !g.is_live())
            .map(|g| g.id.clone())
            .collect::<BTreeSet<_>>()
    };
    let (had, has) = (live(&before.grafts), live(&after.grafts));
    let (was_out, is_out) = (retracted(&before.grafts), retracted(&after.grafts));
    let marks = |p: &[PruneMark]| -> BTreeMap<NodeId, PruneMark> {
        p.iter().map(|m| (m.id.clone(), m.clone())).collect()
    };
    let (was_pruned, is_pruned) = (marks(&before.pruned), marks(&after.pruned));
    let keys: BTreeSet<&String> = before.flags.keys().chain(after.flags.keys()).collect();
    RunDiff {
        from: Vec::new(),
        to: Vec::new(),
        grafts_added: after
            .grafts
            .iter()
            .filter(|g| g.is_live() && !had.contains(&g.id) && !was_out.contains(&g.id))
            .cloned()
            .collect(),
        grafts_removed: before
            .grafts
            .iter()
            .filter(|g| g.is_live() && !has.contains(&g.id) && !is_out.contains(&g.id))
            .cloned()
            .collect(),
        retracted: after
            .grafts
            .iter()
            .filter(|g| !g.is_live() && had.contains(&g.id))
            .cloned()
            .collect(),
        reinstated: after
            .grafts
            .iter()
            .filter(|g| g.is_live() && was_out.contains(&g.id))
            .cloned()
            .collect(),
        pruned: is_pruned
            .iter()
            .filter(|(id, _)| !was_pruned.contains_key(*id))
            .map(|(_, mark)| mark.clone())
            .collect(),
        restored: was_pruned
            .keys()
            .filter(|id| !is_pruned.contains_key(*id))
            .map(|id| Restored {
                id: id.clone(),
                by: None,
            })
            .collect(),
        flags: keys
            .into_iter()
            .filter(|k| before.flags.get(*k) != after.flags.get(*k))
            .map(|key| FlagChange {
                key: key.clone(),
                before: before.flags.get(key).cloned(),
                after: after.flags.get(key).cloned(),
                by: None,
            })
            .collect(),
        changes: Vec::new(),
    }
}

fn heads_match(a: &[ChangeHash], b: &[ChangeHash]) -> bool {
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    a.sort();
    a.dedup();
    b.sort();
    b.dedup();
    a == b
}

fn hex(heads: &[ChangeHash]) -> Vec<String> {
    heads.iter().map(ToString::to_string).collect()
}
