//! The ordered pipeline: each step, then the grafts after it, depth first.
//!
//! A graft sits right after its anchor; grafts after the same anchor are ordered by
//! [`SortKey`](crate::view::SortKey) (lamport, region, user, id), and each graft's own
//! grafts follow it before its next sibling. Anchors are followed with an explicit
//! stack, so a long chain of grafts cannot overflow the call stack, and a graft whose
//! chain of anchors never reaches a step (a dangling anchor, or a cycle written by a
//! foreign client) is simply never reached: it is reported, not placed. A retracted
//! graft is reached but not placed: the grafts after it take its place and depth.

use std::collections::{BTreeMap, BTreeSet};

use crate::id::NodeId;
use crate::view::index::ViewIndex;
use crate::view::model::{NodeKind, PipelineNode};

/// The pipeline, and the grafts that could not be placed in it (id → why).
pub(crate) fn pipeline(index: &ViewIndex) -> (Vec<PipelineNode>, BTreeMap<NodeId, String>) {
    let mut out = Vec::with_capacity(index.steps.len() + index.grafts.len());
    let mut retracted = 0;
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
        retracted += place_grafts_after(index, &id, &mut out);
    }
    let mut unplaced = BTreeMap::new();
    if out.len() + retracted < index.steps.len() + index.grafts.len() {
        let placed: BTreeSet<&NodeId> = out.iter().map(|n| &n.id).collect();
        let reached = |g: &&crate::view::Graft| placed.contains(&g.id) || !g.is_live();
        for graft in index.grafts.values().filter(|g| !reached(g)) {
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

/// Places the grafts after `root`; returns how many retracted grafts it passed.
fn place_grafts_after(index: &ViewIndex, root: &NodeId, out: &mut Vec<PipelineNode>) -> usize {
    let mut retracted = 0;
    // Each frame: the siblings still to visit (reversed so `pop` yields them in order),
    // and their depth.
    let mut stack: Vec<(Vec<&NodeId>, usize)> = vec![(children_of(index, root), 1)];
    while let Some((frame, depth)) = stack.last_mut() {
        let depth = *depth;
        let Some(id) = frame.pop() else {
            stack.pop();
            continue;
        };
        let Some(graft) = index.grafts.get(id) else {
            continue;
        };
        if graft.is_live() {
            out.push(PipelineNode {
                id: graft.id.clone(),
                kind: NodeKind::Graft,
                name: graft.agent_name.clone(),
                agent: None,
                after: Some(graft.after.clone()),
                depth,
                pruned: index.pruned.contains_key(&graft.id),
            });
            stack.push((children_of(index, id), depth + 1));
        } else {
            retracted += 1;
            stack.push((children_of(index, id), depth));
        }
    }
    retracted
}

fn children_of<'a>(index: &'a ViewIndex, anchor: &NodeId) -> Vec<&'a NodeId> {
    index
        .children
        .get(anchor)
        .map_or_else(Vec::new, |keys| keys.iter().rev().map(|k| &k.id).collect())
}
