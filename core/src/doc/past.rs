//! A run's past: the run as it was at some heads ([`RunDoc::state_at`]) and what changed
//! between two points ([`RunDoc::diff`]). Both read the document's history; neither
//! writes, and both give the same answer on every replica that has the heads named.

use std::collections::{BTreeMap, BTreeSet};

use automerge::{ChangeHash, ChangeMetadata};
use rustc_hash::FxHashMap;

use crate::doc::RunDoc;
use crate::doc::diff::{Parts, RunDiff, compare, compare_parts, fill_who};
use crate::doc::edits::{ChangeNote, Op};
use crate::doc::history::entries;
use crate::error::RunError;
use crate::flag::FlagValue;
use crate::view::containers::Containers;
use crate::view::index::ViewIndex;
use crate::view::reader::{At, Reader};
use crate::view::{Graft, RunState};

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

    /// Whether a store whose heads are `heads` holds every change of `wanted`: each is one
    /// of `heads` or comes before one. Heads this replica does not know yet are left out
    /// (what they hold is not known here), so the answer may be too small, never too
    /// large; a change this replica does not know is not held.
    pub fn holds(&mut self, heads: &[ChangeHash], wanted: &[ChangeHash]) -> bool {
        let known: Vec<ChangeHash> = heads
            .iter()
            .copied()
            .filter(|h| self.doc.get_change_by_hash(h).is_some())
            .collect();
        if known.is_empty()
            || wanted
                .iter()
                .any(|h| self.doc.get_change_by_hash(h).is_none())
        {
            return false;
        }
        let after: rustc_hash::FxHashSet<ChangeHash> = self
            .doc
            .get_changes_meta(&known)
            .iter()
            .map(|c| c.hash)
            .collect();
        wanted.iter().all(|h| !after.contains(h))
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
    crate::view::model::sorted(index.grafts.values())
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
