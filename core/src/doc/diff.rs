//! What a diff between two points of a run holds ([`RunDiff`]), and how the two
//! points' states compare into one.

use std::collections::{BTreeMap, BTreeSet};

use crate::doc::history::HistoryEntry;
use crate::flag::FlagValue;
use crate::id::NodeId;
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
pub(super) struct Parts {
    pub grafts: Vec<Graft>,
    pub pruned: Vec<PruneMark>,
    pub flags: BTreeMap<String, FlagValue>,
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
pub(super) fn compare_parts(before: Parts, after: Parts) -> RunDiff {
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
