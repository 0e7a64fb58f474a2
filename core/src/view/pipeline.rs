//! The ordered pipeline: each step, then the grafts after it, depth first.
//!
//! A graft sits right after its anchor; grafts after the same anchor are ordered by
//! [`SortKey`](crate::view::SortKey) (lamport, region, user, id), and each graft's own
//! grafts follow it before its next sibling. Anchors are followed with an explicit
//! stack, so a long chain of grafts cannot overflow the call stack, and a graft whose
//! chain of anchors never reaches a step (a dangling anchor, or a cycle written by a
//! foreign client) is simply never reached: it is reported, not placed.

use std::collections::{BTreeMap, BTreeSet};

use crate::id::NodeId;
use crate::view::index::ViewIndex;
use crate::view::model::{NodeKind, PipelineNode};

/// The pipeline, and the grafts that could not be placed in it (id → why).
pub(crate) fn pipeline(index: &ViewIndex) -> (Vec<PipelineNode>, BTreeMap<NodeId, String>) {
    let mut out = Vec::with_capacity(index.steps.len() + index.grafts.len());
    for (id, kind, name, agent) in roots(index) {
        let pruned = index.pruned.contains_key(&id);
        out.push(PipelineNode {
            id: id.clone(),
            kind,
            name,
            agent,
            after: None,
            depth: 0,
            pruned,
        });
        place_grafts_after(index, &id, &mut out);
    }
    let mut unplaced = BTreeMap::new();
    if out.len() < index.steps.len() + index.grafts.len() {
        let placed: BTreeSet<&NodeId> = out.iter().map(|n| &n.id).collect();
        for graft in index.grafts.values().filter(|g| !placed.contains(&g.id)) {
            let why = if index.grafts.contains_key(&graft.after) {
                format!(
                    "anchored to graft {:?}, which is not placed",
                    graft.after.as_str()
                )
            } else {
                format!("anchored to unknown node {:?}", graft.after.as_str())
            };
            unplaced.insert(graft.id.clone(), why);
        }
    }
    (out, unplaced)
}

/// The steps of the run; in a run that lists none, the anchors grafts name that are not
/// grafts themselves, in id order.
fn roots(index: &ViewIndex) -> Vec<(NodeId, NodeKind, String, Option<String>)> {
    if !index.steps.is_empty() {
        return index
            .steps
            .iter()
            .map(|s| {
                (
                    s.id.clone(),
                    NodeKind::Step,
                    s.name.clone(),
                    s.agent.clone(),
                )
            })
            .collect();
    }
    let mut external: Vec<&NodeId> = index
        .children
        .keys()
        .filter(|a| !index.grafts.contains_key(*a))
        .collect();
    external.sort();
    external
        .into_iter()
        .map(|id| (id.clone(), NodeKind::External, id.to_string(), None))
        .collect()
}

fn place_grafts_after(index: &ViewIndex, root: &NodeId, out: &mut Vec<PipelineNode>) {
    // Each frame: the siblings still to visit (reversed so `pop` yields them in order).
    let mut stack: Vec<Vec<&NodeId>> = vec![children_of(index, root)];
    while let Some(frame) = stack.last_mut() {
        let Some(id) = frame.pop() else {
            stack.pop();
            continue;
        };
        let Some(graft) = index.grafts.get(id) else {
            continue;
        };
        out.push(PipelineNode {
            id: graft.id.clone(),
            kind: NodeKind::Graft,
            name: graft.agent_name.clone(),
            agent: None,
            after: Some(graft.after.clone()),
            depth: stack.len(),
            pruned: index.pruned.contains_key(&graft.id),
        });
        stack.push(children_of(index, id));
    }
}

fn children_of<'a>(index: &'a ViewIndex, anchor: &NodeId) -> Vec<&'a NodeId> {
    index
        .children
        .get(anchor)
        .map_or_else(Vec::new, |keys| keys.iter().rev().map(|k| &k.id).collect())
}
