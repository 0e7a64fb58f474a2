//! Patching a [`RunState`] where the changes the index logged ([`Touched`]) landed: a new
//! graft becomes one row of the pipeline and one entry of the grafts, a prune mark flips
//! one row, the title and the flags (few) are copied again. What it does not follow —
//! steps changed, a graft rewritten or undone, a graft whose neighbours are not in place
//! yet (several grafts of one batch after one another), skipped data — is left to a whole
//! read, which gives the same state.
//!
//! Each patch scans the pipeline for the rows it needs and moves the rows after its
//! insertion point, a few milliseconds at 100,000 grafts where the whole state was more
//! than 100 ms of allocating rows.
//!
//! [`Touched`]: crate::view::touched::Touched

use crate::id::NodeId;
use crate::view::index::ViewIndex;
use crate::view::model::{Graft, NodeKind, PipelineNode};
use crate::view::state::{RunState, flag_conflicts, flags, prune_marks};

impl RunState {
    /// Brings this state, read from `index` when it held what `index.touched` has
    /// logged since, up to date by patching where the changes landed; a state that
    /// cannot be patched (see [`patched`]) is read whole.
    pub(crate) fn update(&mut self, index: &ViewIndex, lamport: u64) {
        if !patched(self, index, lamport) {
            *self = Self::from_index(self.run_id, index, lamport);
        }
    }
}

/// Brings `state` up to date with `index` from what the index logged since `state` was
/// read from it; `false` if it cannot, and then `state` may be part-way and must be read
/// whole.
fn patched(state: &mut RunState, index: &ViewIndex, lamport: u64) -> bool {
    let touched = &index.touched;
    if touched.all || !index.issues.is_empty() || !state.issues.is_empty() {
        return false;
    }
    for id in &touched.grafts {
        if !place_graft(state, index, id) {
            return false;
        }
    }
    for id in &touched.prunes {
        mark_prune(state, index, id);
    }
    if !touched.prunes.is_empty() {
        // Copied whole: marks are few beside grafts, and the copy is code the app has.
        state.pruned_steps = prune_marks(index);
    }
    if touched.title {
        state.title = index.title.clone();
    }
    state.flags = flags(index);
    state.flag_conflicts = flag_conflicts(index);
    state.lamport = lamport;
    true
}

/// Puts the new graft `id` in the pipeline and the grafts, if its place is known: a live
/// graft with no grafts after it yet, whose anchor is in the pipeline and whose next
/// sibling, if any, is too.
fn place_graft(state: &mut RunState, index: &ViewIndex, id: &NodeId) -> bool {
    let Some(graft) = index.grafts.get(id) else {
        return false;
    };
    if !graft.is_live() || index.children.contains_key(id) {
        return false;
    }
    let pipeline = &mut state.pipeline;
    let Some(anchor) = pipeline.iter().position(|n| n.id == graft.after) else {
        return false;
    };
    let depth = pipeline[anchor].depth;
    let Some(siblings) = index.children.get(&graft.after) else {
        return false;
    };
    let Some(k) = siblings.iter().position(|s| &s.id == id) else {
        return false;
    };
    let below = &pipeline[anchor + 1..];
    let at = match siblings.get(k + 1) {
        // Right before the next sibling: every row of the earlier siblings is above it.
        Some(next) => {
            if !index.grafts.get(&next.id).is_some_and(Graft::is_live) {
                return false;
            }
            match below.iter().position(|n| n.id == next.id) {
                Some(i) => anchor + 1 + i,
                None => return false,
            }
        }
        // The last sibling: after every row under the anchor.
        None => below
            .iter()
            .position(|n| n.depth <= depth)
            .map_or(pipeline.len(), |i| anchor + 1 + i),
    };
    pipeline.insert(
        at,
        PipelineNode {
            id: graft.id.clone(),
            kind: NodeKind::Graft,
            name: graft.agent_name.clone(),
            agent: None,
            after: Some(graft.after.clone()),
            depth: depth + 1,
            pruned: index.pruned.contains_key(id),
        },
    );
    let at = state.grafts.partition_point(|g| g.order(graft).is_lt());
    state.grafts.insert(at, graft.clone());
    true
}

/// Marks the row of `id` as its prune mark (put or removed) says.
fn mark_prune(state: &mut RunState, index: &ViewIndex, id: &NodeId) {
    if let Some(row) = state.pipeline.iter_mut().find(|n| &n.id == id) {
        row.pruned = index.pruned.contains_key(id);
    }
}
