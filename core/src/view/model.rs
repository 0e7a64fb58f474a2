//! The plain types of the materialised view: steps, grafts, prune marks, pipeline nodes.

use std::sync::Arc;

use crate::id::NodeId;

/// A base step of the run.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Step {
    /// The step's id, unique in the run.
    pub id: NodeId,
    /// Its display name.
    pub name: String,
    /// The agent that runs it, if the step names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
}

/// A graft: an agent inserted after a step or after another graft.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Graft {
    /// The graft's id.
    pub id: NodeId,
    /// The step or graft it was inserted after.
    pub after: NodeId,
    /// The agent grafted in.
    pub agent_name: String,
    /// The user who grafted it (shared text: a run has few users).
    pub by: Arc<str>,
    /// The region the user wrote from (shared text).
    pub region: Arc<str>,
    /// Its lamport timestamp: one more than the largest the writer had seen.
    pub lamport: u64,
    /// When, in milliseconds since the Unix epoch, by the writer's clock.
    pub at: u64,
    /// Set when an undo took the graft out of the pipeline: it stays in the run's
    /// history and in this list, and grafts after it take its place.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retracted: Option<Retraction>,
}

/// `grafts` in [`SortKey`] order, copied: sorted as references, which is cheaper than
/// sorting the grafts themselves or their keys (a third of a 100,000-graft state).
pub(crate) fn sorted<'a>(grafts: impl Iterator<Item = &'a Graft>) -> Vec<Graft> {
    let mut grafts: Vec<&Graft> = grafts.collect();
    grafts.sort_unstable_by(|a, b| a.order(b));
    grafts.into_iter().cloned().collect()
}

/// Who took a graft out of the pipeline, where and when.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Retraction {
    /// The user.
    pub by: String,
    /// Their region.
    pub region: String,
    /// When, in milliseconds since the Unix epoch, by the writer's clock.
    pub at: u64,
}

impl Graft {
    /// Whether the graft is in the pipeline (not retracted).
    pub fn is_live(&self) -> bool {
        self.retracted.is_none()
    }

    /// The [`SortKey`] order of two grafts, without building their keys (each holds two
    /// shared names, counted up and down when built).
    pub(crate) fn order(&self, other: &Self) -> std::cmp::Ordering {
        (self.lamport, &*self.region, &*self.by, &self.id).cmp(&(
            other.lamport,
            &*other.region,
            &*other.by,
            &other.id,
        ))
    }

    /// The key that orders concurrent grafts after the same node, the same on every replica.
    pub fn sort_key(&self) -> SortKey {
        SortKey {
            lamport: self.lamport,
            region: self.region.clone(),
            user: self.by.clone(),
            id: self.id.clone(),
        }
    }
}

/// Siblings after one anchor are ordered by (lamport, region, user, graft id), ascending.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SortKey {
    /// The graft's lamport timestamp.
    pub lamport: u64,
    /// The graft's region.
    pub region: Arc<str>,
    /// The graft's user.
    pub user: Arc<str>,
    /// The graft's id: unique, so the order is total.
    pub id: NodeId,
}

/// A node marked as pruned, and by whom.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PruneMark {
    /// The pruned step or graft.
    pub id: NodeId,
    /// The user who pruned it.
    pub by: String,
    /// The region the user wrote from.
    pub region: String,
    /// The lamport timestamp of the prune.
    pub lamport: u64,
    /// When, in milliseconds since the Unix epoch, by the writer's clock.
    pub at: u64,
}

/// What a pipeline node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    /// A base step.
    Step,
    /// A step id that grafts name in a run that lists no steps (steps managed elsewhere).
    External,
    /// A grafted agent.
    Graft,
}

/// One entry of the ordered pipeline.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineNode {
    /// The node's id.
    pub id: NodeId,
    /// Step, external step or graft.
    pub kind: NodeKind,
    /// The step's name or the grafted agent's name.
    pub name: String,
    /// The step's agent, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// For a graft, the node it was inserted after.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<NodeId>,
    /// 0 for steps, 1 for grafts after a step, 2 for a graft after such a graft, …
    pub depth: usize,
    /// Whether the node is marked pruned.
    pub pruned: bool,
}
