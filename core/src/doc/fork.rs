//! Forks and merges: a new run that shares a run's history up to a point, and taking a
//! fork's changes back into the run it came from (or the other way round).
//!
//! A fork is the parent's document up to the point, plus one change that writes the new
//! run's id and its origin (`forkOf`). Merging takes every change the other run has, then
//! writes this run's own id and origin again in one more change, so the fork's record
//! never renames the run it is merged into: that change follows the fork's on every
//! replica, and the later write wins.

use automerge::transaction::Transactable;
use automerge::{ChangeHash, ROOT, ReadDoc};

use crate::doc::RunDoc;
use crate::doc::edits::Op;
use crate::error::RunError;
use crate::genesis::GENESIS_ACTOR;
use crate::id::RunId;
use crate::record::keys;

/// Where a fork came from.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ForkOf {
    /// The run it was forked from.
    pub run: RunId,
    /// The heads of that run it started from (hex).
    pub at: Vec<String>,
}

impl RunDoc {
    /// A new run `new_id` whose history is this run's up to `at` (its heads now if
    /// `None`), then one change recording the fork. The two can merge later.
    pub fn fork(
        &mut self,
        new_id: RunId,
        at: Option<&[ChangeHash]>,
        now_ms: u64,
    ) -> Result<RunDoc, RunError> {
        let heads = match at {
            Some(heads) => {
                self.check_heads("at", heads)?;
                heads.to_vec()
            }
            None => self.heads(),
        };
        if new_id == self.run_id {
            return Err(RunError::Unrelated {
                run: self.run_id,
                other: new_id,
            });
        }
        let doc = self.doc.fork_at(&heads)?;
        let identity = self.identity.clone();
        let mut fork = RunDoc::from_doc(new_id, identity, doc)?;
        let origin = ForkOf {
            run: self.run_id,
            at: heads.iter().map(ToString::to_string).collect(),
        };
        let origin_json = serde_json::to_string(&origin).expect("plain data");
        fork.doc.put(ROOT, keys::RUN_ID, new_id.to_string())?;
        fork.doc.put(ROOT, keys::FORK_OF, origin_json)?;
        fork.commit(
            Op::Fork,
            None,
            &format!("fork of {} at {}", self.run_id, origin.at.join(",")),
            now_ms,
        );
        Ok(fork)
    }

    /// Where this run was forked from, if it is a fork.
    pub fn fork_of(&self) -> Option<ForkOf> {
        let text = root_text(&self.doc, keys::FORK_OF)?;
        serde_json::from_str(&text).ok()
    }

    /// Takes every change `other` has that this run lacks; `other` must share this run's
    /// history (a fork of it, the run it was forked from, or a fork of either). Returns
    /// whether anything new came in; if so, one more change keeps this run's id and origin.
    pub fn merge_from(&mut self, other: &mut RunDoc, now_ms: u64) -> Result<bool, RunError> {
        if !self.shares_history(other) {
            return Err(RunError::Unrelated {
                run: self.run_id,
                other: other.run_id,
            });
        }
        let origin = root_text(&self.doc, keys::FORK_OF);
        let before = self.heads();
        self.doc.merge(&mut other.doc)?;
        if self.heads() == before {
            return Ok(false);
        }
        self.doc.put(ROOT, keys::RUN_ID, self.run_id.to_string())?;
        match &origin {
            Some(text) => self.doc.put(ROOT, keys::FORK_OF, text.as_str())?,
            None if self.doc.get(ROOT, keys::FORK_OF)?.is_some() => {
                self.doc.delete(ROOT, keys::FORK_OF)?
            }
            None => {}
        }
        let note = self.note(Op::Merge, None, &format!("merge from {}", other.run_id));
        self.commit_note(&note, now_ms);
        self.refresh();
        Ok(true)
    }

    /// Whether the two documents hold a change in common besides the genesis.
    fn shares_history(&mut self, other: &mut RunDoc) -> bool {
        let genesis = automerge::ActorId::from(&GENESIS_ACTOR[..]);
        other
            .doc
            .get_changes_meta(&[])
            .iter()
            .filter(|c| *c.actor != genesis)
            .any(|c| self.doc.get_change_meta_by_hash(&c.hash).is_some())
    }
}

fn root_text(doc: &automerge::AutoCommit, key: &str) -> Option<String> {
    let (value, _) = doc.get(ROOT, key).ok()??;
    value.as_str().map(str::to_owned)
}
