//! [`View`]: a run's materialised view together with the containers it was read from,
//! and [`RunDoc::update_state`], a [`RunState`] kept up to date from it.
//!
//! A [`RunDoc`] builds it on first use rather than on load, so a replica
//! that only stores and forwards a run (a relay syncing it) never pays for it.

use automerge::AutoCommit;

use crate::doc::RunDoc;
use crate::view::RunState;
use crate::view::containers::Containers;
use crate::view::index::ViewIndex;
use crate::view::reader::Now;

#[derive(Clone, Debug)]
pub(crate) struct View {
    pub containers: Containers,
    pub index: ViewIndex,
    /// Read while the document held changes that the next refresh will diff: such a
    /// diff gives net values from before them, which can undo what the view already
    /// holds (a key set and removed again shows no change at all), so that refresh reads
    /// the whole document again instead.
    pub ahead_of_cursor: bool,
    /// A root key no longer leads to its container (some writer replaced it): Automerge
    /// sends no patches for what changes inside the container, so every refresh reads
    /// the whole document again.
    pub detached: bool,
    /// The sizes (rows, grafts) of the state [`RunDoc::update_state`] last left, which
    /// the index's log of changes since applies to.
    pub kept: Option<(usize, usize)>,
}

impl View {
    /// Reads the whole document from `containers` (the genesis' objects, wherever the
    /// root keys point now); keys that no longer lead to them are listed in `issues`.
    pub fn read(doc: &AutoCommit, containers: &Containers, ahead_of_cursor: bool) -> Self {
        let mut index = ViewIndex::build(Now(doc), containers);
        let detached = containers.detached(doc);
        let is_detached = !detached.is_empty();
        index.issues.extend(detached);
        Self {
            index,
            containers: containers.clone(),
            ahead_of_cursor,
            detached: is_detached,
            kept: None,
        }
    }
}

impl RunDoc {
    /// Brings `state` up to date with the run: `None` becomes the whole state; a state
    /// this method left is patched where the changes since landed (a graft is one row
    /// put in, a prune one row marked), which does not grow with the run, and is read
    /// whole when the changes are more than the patch follows. The result is always what
    /// [`RunDoc::state`] would give.
    ///
    /// A state from elsewhere is read whole unless it has the row and graft counts of the
    /// one last left here: the only patch that is not idempotent puts in a graft, which
    /// a state that already holds it would count.
    pub fn update_state(&mut self, state: &mut Option<RunState>) {
        let (run_id, lamport) = (self.run_id, self.lamport);
        let view = self.view_mut().0;
        match state {
            Some(state)
                if state.run_id == run_id
                    && view.kept == Some((state.pipeline.len(), state.grafts.len())) =>
            {
                state.update(&view.index, lamport)
            }
            _ => *state = Some(RunState::from_index(run_id, &view.index, lamport)),
        }
        view.index.touched.clear();
        view.kept = state.as_ref().map(|s| (s.pipeline.len(), s.grafts.len()));
    }
}
