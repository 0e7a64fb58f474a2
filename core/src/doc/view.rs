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
}

impl View {
    /// Reads the whole document. If its containers cannot be found any more (some other
    /// client replaced or removed one), reads where they were, `known`, and says why.
    pub fn read(doc: &AutoCommit, known: &Containers, ahead_of_cursor: bool) -> Self {
        match Containers::find(doc) {
            Ok(containers) => Self {
                index: ViewIndex::build(Now(doc), &containers),
                containers,
                ahead_of_cursor,
            },
            Err(e) => {
                let mut index = ViewIndex::build(Now(doc), known);
                index.issues.insert("root".into(), e.to_string());
                Self {
                    index,
                    containers: known.clone(),
                    ahead_of_cursor,
                }
            }
        }
    }
}
