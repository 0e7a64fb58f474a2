//! [`RunDoc::changes_since`]: a run's changes one by one, each with what it did, for
//! programs that follow a run (the relay's change feed).

use automerge::ChangeHash;

use crate::doc::RunDoc;
use crate::doc::diff::{RunDiff, compare, fill_who};
use crate::doc::history::{HistoryEntry, agreed_order, entries};
use crate::doc::past::Touched;
use crate::error::RunError;
use crate::genesis::GENESIS_ACTOR;

/// One change, as a program following the run sees it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeEvent {
    /// The heads of everything up to and including this change: give them back to resume
    /// after it.
    pub id: Vec<String>,
    /// Who made it, where, when, and what it was.
    pub change: HistoryEntry,
    /// What it did to the run.
    pub diff: RunDiff,
}

/// A change to describe: its hash, its dependencies, what its note says it touched, and
/// whether a follower is told of it (the genesis is every run's, never news).
struct Pending {
    hash: ChangeHash,
    deps: Vec<ChangeHash>,
    touched: Option<Touched>,
    entry: HistoryEntry,
    told: bool,
}

impl RunDoc {
    /// Every change after `seen` (heads a follower last saw), oldest first in the order
    /// every replica agrees on, each with the heads to resume from.
    pub fn changes_since(&mut self, seen: &[ChangeHash]) -> Result<Vec<ChangeEvent>, RunError> {
        let now = self.heads();
        self.changes_between(seen, &now)
    }

    /// As [`RunDoc::changes_since`], but only the changes `to` includes (a relay follows
    /// what it has stored, not what it holds in memory).
    ///
    /// Any history a writer can produce is described: concurrent branches, merges, and
    /// changes with no dependencies at all (their "before" is the empty document). Each
    /// change is read at the points it names, never at heads a follower gave, so once
    /// `seen` is known nothing after it can make this fail.
    pub fn changes_between(
        &mut self,
        seen: &[ChangeHash],
        to: &[ChangeHash],
    ) -> Result<Vec<ChangeEvent>, RunError> {
        self.changes_between_at_most(seen, to, usize::MAX)
    }

    /// As [`RunDoc::changes_between`], but only the first `max` events: the last one's
    /// id is where to go on from. Each event costs a diff, so a follower far behind is
    /// served in parts rather than with the whole history at once.
    pub fn changes_between_at_most(
        &mut self,
        seen: &[ChangeHash],
        to: &[ChangeHash],
        max: usize,
    ) -> Result<Vec<ChangeEvent>, RunError> {
        self.check_heads("since", seen)?;
        let genesis = automerge::ActorId::from(&GENESIS_ACTOR[..]);
        let (pending, _) = self.between(seen, to, |changes| {
            agreed_order(changes)
                .into_iter()
                .map(|meta| Pending {
                    hash: meta.hash,
                    deps: meta.deps.clone(),
                    touched: Touched::of(std::slice::from_ref(&meta)),
                    told: *meta.actor != genesis,
                    entry: entries(vec![meta]).remove(0),
                })
                .collect::<Vec<_>>()
        });
        // The heads after each change: in causal order, a change replaces the heads it
        // depends on (a change with none, or on an older point, adds a head).
        let mut heads: Vec<ChangeHash> = seen.to_vec();
        let mut events = Vec::with_capacity(pending.len().min(max));
        for change in pending {
            if events.len() >= max {
                break;
            }
            heads.retain(|h| !change.deps.contains(h));
            heads.push(change.hash);
            heads.sort();
            heads.dedup();
            if !change.told {
                continue;
            }
            let after = [change.hash];
            let mut diff = match &change.touched {
                Some(touched) => {
                    self.diff_touched(&change.deps, &after, touched, &Touched::default())
                }
                None => {
                    let before = self.state_at_known(&change.deps);
                    compare(&before, &self.state_at_known(&after))
                }
            };
            diff.from = change.deps.iter().map(ToString::to_string).collect();
            diff.to = vec![change.hash.to_string()];
            diff.changes = vec![change.entry.clone()];
            fill_who(&mut diff);
            events.push(ChangeEvent {
                id: heads.iter().map(ToString::to_string).collect(),
                change: change.entry,
                diff,
            });
        }
        Ok(events)
    }
}
