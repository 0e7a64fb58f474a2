//! What a hub answers about its run without changing it: the state (now or at some
//! heads), the title, a diff, the history, the changes since some heads, a fork, a save.

use automerge::ChangeHash;

use crate::doc::{ChangeEvent, HistoryEntry, RunDiff, RunDoc};
use crate::hub::content::Content;
use crate::hub::saved::{SaveMemo, SavedRun};
use crate::hub::{Millis, OpError, RunHub};
use crate::id::RunId;
use crate::view::RunState;

impl<R> RunHub<R> {
    /// The run, or why there is none to read (not here, not loaded, not a run).
    fn run_doc(&mut self) -> Result<&mut RunDoc, OpError> {
        match self.run()? {
            Content::Run(run) => Ok(run),
            Content::Plain(_) => Err(OpError::NotARun),
        }
    }

    /// The run's materialised state.
    pub fn state(&mut self) -> Result<RunState, OpError> {
        Ok(self.run_doc()?.state())
    }

    /// The run's title.
    pub fn title(&mut self) -> Result<String, OpError> {
        Ok(self.run_doc()?.title_alone())
    }

    /// Whether a store whose heads are `heads` holds every change of `wanted` (see
    /// [`crate::RunDoc::holds`]).
    pub fn holds(&mut self, heads: &[ChangeHash], wanted: &[ChangeHash]) -> Result<bool, OpError> {
        Ok(self.run_doc()?.holds(heads, wanted))
    }

    /// The run as it was at `heads`.
    pub fn state_at(&mut self, heads: &[ChangeHash]) -> Result<RunState, OpError> {
        Ok(self.run_doc()?.state_at(heads)?)
    }

    /// What changed from `from` to `to` (`None`: the run's heads now).
    pub fn diff(
        &mut self,
        from: &[ChangeHash],
        to: Option<&[ChangeHash]>,
    ) -> Result<RunDiff, OpError> {
        let run = self.run_doc()?;
        let to = match to {
            Some(to) => to.to_vec(),
            None => run.heads(),
        };
        Ok(run.diff(from, &to)?)
    }

    /// The heads of what the store holds of the run (what may be told to others).
    pub fn stored_heads(&self) -> Vec<ChangeHash> {
        self.durable.stored_heads().to_vec()
    }

    /// The stored changes after `seen`, at most `max`, each with what it did (`None`:
    /// none, just the heads to follow from), and the stored heads they lead to (fewer
    /// than `max` events: the last one's id is the stored heads).
    pub fn changes_since(
        &mut self,
        seen: Option<&[ChangeHash]>,
        max: usize,
    ) -> Result<(Vec<ChangeHash>, Vec<ChangeEvent>), OpError> {
        let stored = self.stored_heads();
        let Some(seen) = seen else {
            self.run_doc()?;
            return Ok((stored, Vec::new()));
        };
        if let Some(events) = self.feed_memo.get(seen, &stored, max) {
            return Ok((stored, events));
        }
        let events = self
            .run_doc()?
            .changes_between_at_most(seen, &stored, max)?;
        self.feed_memo.keep(seen, &stored, max, &events);
        Ok((stored, events))
    }

    /// The run's history.
    pub fn history(&mut self) -> Result<Vec<HistoryEntry>, OpError> {
        Ok(self.run_doc()?.history())
    }

    /// A fork of the run as a new run `new`, from `at` (now if `None`), made by `user`
    /// at `now`: the new run's whole document, saved. The run itself is not changed.
    pub fn fork(
        &mut self,
        new: RunId,
        at: Option<&[ChangeHash]>,
        user: &str,
        now: Millis,
    ) -> Result<Vec<u8>, OpError> {
        let run = self.run_doc()?;
        run.act_as(user)?;
        Ok(run.fork(new, at, now)?.save())
    }

    /// The whole document, saved.
    pub fn save(&mut self) -> Result<Vec<u8>, OpError> {
        Ok(crate::lineage::save_applied(self.run()?.unchanged()))
    }

    /// The whole document, saved, shared: saved once, then extended by the changes
    /// each later read finds (saved once each), however many ask (one save of a 30 MB
    /// run is a second of CPU: eighth attack, E24; tenth, E28).
    pub fn saved(&mut self) -> Result<SavedRun, OpError> {
        let mut memo = self.saved.take();
        let doc = self.run()?.unchanged();
        let saved = SaveMemo::saved(&mut memo, doc, crate::lineage::save_applied);
        self.saved = memo;
        Ok(saved)
    }

    /// What the document takes in memory, roughly ([`crate::hub::memory_of`]); a run
    /// not here takes [`crate::hub::MIN_RUN_WEIGHT`].
    pub fn memory(&mut self) -> usize {
        use automerge::ReadDoc;
        self.run().map_or(crate::hub::MIN_RUN_WEIGHT, |c| {
            let stats = c.unchanged().stats();
            crate::hub::memory_of(stats.num_ops, stats.num_changes)
        })
    }

    /// The document's heads (none if it is not here).
    pub fn heads(&mut self) -> Vec<ChangeHash> {
        self.run()
            .map_or_else(|_| Vec::new(), |c| c.unchanged().get_heads())
    }
}

/// The last answer of [`RunHub::changes_since`]. The change feed's followers are woken
/// together by each stored change and ask the same question (the same place, the same
/// stored heads); the diffs are made once, not once per follower. The answer depends on
/// nothing else: it reads the history between two sets of heads, which never changes.
#[derive(Debug, Default)]
pub(super) struct FeedMemo(Option<Asked>);

#[derive(Debug)]
struct Asked {
    seen: Vec<ChangeHash>,
    stored: Vec<ChangeHash>,
    max: usize,
    events: Vec<ChangeEvent>,
}

impl FeedMemo {
    fn get(
        &self,
        seen: &[ChangeHash],
        stored: &[ChangeHash],
        max: usize,
    ) -> Option<Vec<ChangeEvent>> {
        self.0
            .as_ref()
            .filter(|a| a.seen == seen && a.stored == stored && a.max == max)
            .map(|a| a.events.clone())
    }

    fn keep(
        &mut self,
        seen: &[ChangeHash],
        stored: &[ChangeHash],
        max: usize,
        events: &[ChangeEvent],
    ) {
        self.0 = Some(Asked {
            seen: seen.to_vec(),
            stored: stored.to_vec(),
            max,
            events: events.to_vec(),
        });
    }
}
