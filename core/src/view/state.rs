//! [`RunState`]: the materialised run as plain data, the JSON the REST API and the npm
//! package return.

use std::collections::BTreeMap;

use crate::flag::FlagValue;
use crate::id::RunId;
use crate::text::shown;
use crate::view::index::ViewIndex;
use crate::view::model::{Graft, PipelineNode, PruneMark, Step, sorted};
use crate::view::pipeline::pipeline;

/// The whole run as of the document's heads: a pure function of the document.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunState {
    /// The run.
    pub run_id: RunId,
    /// Its title.
    pub title: String,
    /// The base steps, in order.
    pub steps: Vec<Step>,
    /// Steps with their grafts in place, in order.
    pub pipeline: Vec<PipelineNode>,
    /// Every graft, in (lamport, region, user, id) order.
    pub grafts: Vec<Graft>,
    /// The pruned nodes (steps or grafts), in id order.
    pub pruned_steps: Vec<PruneMark>,
    /// Each flag's winning value (Automerge's last-writer rule).
    pub flags: BTreeMap<String, FlagValue>,
    /// Flags with concurrent values: every value, the winner first.
    pub flag_conflicts: BTreeMap<String, Vec<FlagValue>>,
    /// The run's lamport clock: the largest Automerge op counter in the document.
    pub lamport: u64,
    /// Data in the document that was skipped, and why.
    pub issues: Vec<String>,
}

/// Skipped data listed in a state, at most: a few kilobytes of changes can put a million
/// nulls in a run's step list, and every read of it was 58 MB of the same line.
pub const MAX_ISSUES_SHOWN: usize = 100;

impl RunState {
    pub(crate) fn from_index(run_id: RunId, index: &ViewIndex, lamport: u64) -> Self {
        let (pipeline, unplaced) = pipeline(index);
        let grafts = sorted(index.grafts.values());
        let all = index.issues.len() + unplaced.len();
        let mut issues: Vec<String> = index
            .issues
            .iter()
            .map(|(at, why)| format!("{at}: {why}"))
            .chain(
                unplaced
                    .iter()
                    .map(|(id, why)| format!("grafts/{id}: {why}")),
            )
            .take(MAX_ISSUES_SHOWN)
            .collect();
        if all > MAX_ISSUES_SHOWN {
            issues.push(format!("… and {} more skipped", all - MAX_ISSUES_SHOWN));
        }
        Self {
            run_id,
            title: index.title.clone(),
            steps: index.steps.clone(),
            pipeline,
            grafts,
            pruned_steps: prune_marks(index),
            flags: flags(index),
            flag_conflicts: flag_conflicts(index),
            lamport,
            issues,
        }
    }

    /// The state as JSON text (the same bytes on every platform for the same document).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("run state is plain data")
    }
}

/// Each flag's winning value. Keys written before they were checked are shown escaped.
pub(crate) fn flags(index: &ViewIndex) -> BTreeMap<String, FlagValue> {
    index
        .flags
        .iter()
        .map(|(k, v)| (shown(k).into_owned(), v[0].clone()))
        .collect()
}

/// The flags with concurrent values, every value, the winner first.
pub(crate) fn flag_conflicts(index: &ViewIndex) -> BTreeMap<String, Vec<FlagValue>> {
    index
        .flags
        .iter()
        .filter(|(_, v)| v.len() > 1)
        .map(|(k, v)| (shown(k).into_owned(), v.clone()))
        .collect()
}

/// The prune marks, in id order.
pub(crate) fn prune_marks(index: &ViewIndex) -> Vec<PruneMark> {
    index.pruned.values().cloned().collect()
}
