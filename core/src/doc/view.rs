//! [`View`]: a run's materialised view together with the containers it was read from.
//!
//! A [`RunDoc`](crate::RunDoc) builds it on first use rather than on load, so a replica
//! that only stores and forwards a run (a relay syncing it) never pays for it.

use automerge::AutoCommit;

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
        }
    }
}
