//! [`Doc`]: what a document task holds: a run, or any other Automerge document a stock
//! automerge-repo client synced (the relay stores and forwards those too).

use automerge::{AutoCommit, ROOT, ReadDoc};
use runmesh_core::{Identity, RunDoc, RunId};

/// A document in memory.
#[derive(Debug)]
pub enum Doc {
    /// A runmesh run: REST operations and views work on it.
    Run(Box<RunDoc>),
    /// Some other document: synced and stored, but not a run.
    Plain(Box<AutoCommit>),
}

impl Doc {
    /// Loads stored bytes as a run if they hold one, else as a plain document.
    pub fn load(run_id: RunId, identity: Identity, bytes: &[u8]) -> Result<Self, String> {
        let doc = AutoCommit::load(bytes).map_err(|e| e.to_string())?;
        Ok(Self::classify(run_id, identity, doc))
    }

    /// A run if `doc` has a run's containers.
    pub fn classify(run_id: RunId, identity: Identity, doc: AutoCommit) -> Self {
        if !matches!(doc.get(ROOT, "grafts"), Ok(Some(_))) {
            return Self::Plain(Box::new(doc));
        }
        match RunDoc::from_automerge(run_id, identity, doc) {
            Ok(run) => Self::Run(Box::new(run)),
            Err(rejected) => Self::Plain(Box::new(rejected.1)),
        }
    }

    /// The Automerge document, for sync.
    pub fn automerge(&mut self) -> &mut AutoCommit {
        match self {
            Self::Run(run) => run.automerge_mut(),
            Self::Plain(doc) => doc.as_mut(),
        }
    }

    /// After sync changed the document: update the run's view, or notice that a plain
    /// document has become a run (its genesis arrived).
    pub fn after_sync(self, run_id: RunId, identity: &Identity) -> Self {
        match self {
            Self::Run(mut run) => {
                run.refresh();
                Self::Run(run)
            }
            Self::Plain(doc) => Self::classify(run_id, identity.clone(), *doc),
        }
    }
}
