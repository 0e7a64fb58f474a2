//! The run's history: one entry per change, read from change metadata.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use automerge::{ChangeHash, ChangeMetadata};
use rustc_hash::FxHashMap;

use crate::doc::RunDoc;
use crate::doc::edits::ChangeNote;
use crate::genesis::GENESIS_ACTOR;

/// One change in a run's history.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// The change's hash (hex).
    pub hash: String,
    /// The user who made it ("unknown" for changes made by other tools).
    pub by: String,
    /// The region it was made in.
    pub region: String,
    /// When, in seconds since the Unix epoch, by the writer's clock.
    pub at: i64,
    /// What it did: create, graft, prune, restore, setFlag, clearFlag, or change.
    pub op: String,
    /// The node or flag it touched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// A short description.
    pub detail: String,
    /// For an undo, the change it undoes (hex).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undoes: Option<String>,
}

impl RunDoc {
    /// Every change but the genesis, in an order every replica agrees on (see
    /// [`agreed_order`]).
    pub fn history(&mut self) -> Vec<HistoryEntry> {
        entries(self.doc.get_changes_meta(&[]))
    }

    /// The entries [`RunDoc::history`] has after those it had at `heads`, when every
    /// change since `heads` follows all of them: then the history is the one at `heads`
    /// followed by these, and a viewer that keeps it need not read it whole again (a local
    /// edit, or edits made elsewhere after seeing `heads`). `None` when a change since is
    /// concurrent with one that `heads` covers, whose place in the agreed order may be
    /// earlier, or when `heads` names a change this replica lacks: read the whole history.
    pub fn history_after(&mut self, heads: &[ChangeHash]) -> Option<Vec<HistoryEntry>> {
        if heads
            .iter()
            .any(|h| self.doc.get_change_meta_by_hash(h).is_none())
        {
            return None;
        }
        let since = self.doc.get_changes_meta(heads);
        let new: FxHashMap<ChangeHash, ()> = since.iter().map(|c| (c.hash, ())).collect();
        // A change since `heads` whose dependencies are all older must depend on every
        // head (dependencies are the writer's heads: they never hold an older change too).
        let follows = since.iter().all(|change| {
            change.deps.iter().any(|d| new.contains_key(d))
                || heads.iter().all(|h| change.deps.contains(h))
        });
        follows.then(|| entries(since))
    }
}

/// History entries for `changes` (all but the genesis), in the agreed order.
pub(crate) fn entries(changes: Vec<ChangeMetadata<'_>>) -> Vec<HistoryEntry> {
    let genesis_actor = automerge::ActorId::from(&GENESIS_ACTOR[..]);
    agreed_order(changes)
        .into_iter()
        .filter(|meta| *meta.actor != genesis_actor)
        .map(|meta| {
            let note = meta
                .message
                .as_deref()
                .and_then(|m| serde_json::from_str::<ChangeNote>(m).ok());
            let (by, region, op, node, detail, undoes) = match note {
                Some(n) => (
                    n.by,
                    n.region,
                    n.op.name().to_owned(),
                    n.node,
                    n.detail,
                    n.undoes,
                ),
                None => (
                    "unknown".to_owned(),
                    "unknown".to_owned(),
                    "change".to_owned(),
                    None,
                    meta.message
                        .as_deref()
                        .unwrap_or("")
                        .chars()
                        .take(200)
                        .collect(),
                    None,
                ),
            };
            // Names written before they were checked are shown escaped.
            let shown = |text: String| match crate::text::shown(&text) {
                std::borrow::Cow::Borrowed(_) => text,
                std::borrow::Cow::Owned(escaped) => escaped,
            };
            HistoryEntry {
                hash: meta.hash.to_string(),
                by: shown(by),
                region: shown(region),
                at: meta.timestamp,
                op,
                node: node.map(shown),
                detail: shown(detail),
                undoes,
            }
        })
        .collect()
}

/// The changes in causal order (each after every change it depends on), concurrent ones by
/// timestamp, then hash. Automerge lists changes in the order this replica applied them,
/// which differs between replicas that received concurrent changes in different orders.
pub(crate) fn agreed_order(changes: Vec<ChangeMetadata<'_>>) -> Vec<ChangeMetadata<'_>> {
    let position: FxHashMap<ChangeHash, usize> = changes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.hash, i))
        .collect();
    let mut waiting_on = vec![0usize; changes.len()];
    let mut dependents = vec![Vec::new(); changes.len()];
    for (i, change) in changes.iter().enumerate() {
        for dep in &change.deps {
            if let Some(&d) = position.get(dep) {
                waiting_on[i] += 1;
                dependents[d].push(i);
            }
        }
    }
    let key = |i: usize| Reverse((changes[i].timestamp, changes[i].hash, i));
    let mut ready: BinaryHeap<_> = (0..changes.len())
        .filter(|&i| waiting_on[i] == 0)
        .map(key)
        .collect();
    let mut order = Vec::with_capacity(changes.len());
    while let Some(Reverse((_, _, i))) = ready.pop() {
        order.push(i);
        for &next in &dependents[i] {
            waiting_on[next] -= 1;
            if waiting_on[next] == 0 {
                ready.push(key(next));
            }
        }
    }
    let mut slots: Vec<_> = changes.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}
