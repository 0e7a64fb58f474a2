//! [`Content`]: what a hub holds — a run, or any other Automerge document a stock
//! automerge-repo client synced (a relay stores and forwards those too).

use automerge::AutoCommit;

use crate::RunDoc;
use crate::error::RunError;
use crate::id::RunId;
use crate::identity::Identity;
use crate::lineage::Holds;

/// A document in memory.
#[derive(Debug)]
pub(crate) enum Content {
    /// A runmesh run: operations and views work on it.
    Run(Box<RunDoc>),
    /// Some other document: synced and stored, but not a run.
    Plain(Box<AutoCommit>),
}

impl Content {
    /// Loads stored bytes as a run if they hold one, else as a plain document.
    pub(crate) fn load(run_id: RunId, identity: &Identity, bytes: &[u8]) -> Result<Self, RunError> {
        let doc = crate::intake::guard(bytes.len(), || AutoCommit::load(bytes))?.map_err(|e| {
            RunError::CorruptBytes {
                len: bytes.len(),
                source: Box::new(e),
            }
        })?;
        Ok(Self::classify(run_id, identity, doc))
    }

    /// An empty plain document written as `identity`'s actor: where a peer's first sync
    /// message lands when the run is unknown here.
    pub(crate) fn empty(identity: &Identity) -> Self {
        Self::Plain(Box::new(
            AutoCommit::new().with_actor(identity.actor().clone()),
        ))
    }

    /// A run if `doc` holds a run's genesis change.
    fn classify(run_id: RunId, identity: &Identity, doc: AutoCommit) -> Self {
        match RunDoc::from_automerge(run_id, identity.clone(), doc) {
            Ok(run) => Self::Run(Box::new(run)),
            Err(rejected) => Self::Plain(Box::new(rejected.1)),
        }
    }

    /// The Automerge document, for sync (call [`Content::after_sync`] if it changed).
    pub(crate) fn automerge(&mut self) -> &mut AutoCommit {
        match self {
            Self::Run(run) => run.automerge_mut(),
            Self::Plain(doc) => doc.as_mut(),
        }
    }

    /// The Automerge document, to save or read (nothing the run's view shows changes).
    pub(crate) fn unchanged(&mut self) -> &mut AutoCommit {
        match self {
            Self::Run(run) => run.automerge_unchanged(),
            Self::Plain(doc) => doc.as_mut(),
        }
    }

    /// After sync changed the document: update the run's view, or notice that a plain
    /// document has become a run (its genesis arrived).
    pub(crate) fn after_sync(self, run_id: RunId, identity: &Identity) -> Self {
        match self {
            Self::Run(mut run) => {
                run.refresh();
                Self::Run(run)
            }
            Self::Plain(doc) => Self::classify(run_id, identity, *doc),
        }
    }

    /// What the document holds, as the lineage rule sees it.
    pub(crate) fn holds(&mut self) -> Holds {
        match self {
            Self::Run(_) => Holds::Run,
            Self::Plain(doc) => Holds::of(doc),
        }
    }

    /// Whether Automerge holds changes it could not apply yet (their dependencies have not
    /// arrived). They live only in memory: the peer that sent them counts them as sent.
    pub(crate) fn waiting(&mut self) -> bool {
        !self.unchanged().get_missing_deps(&[]).is_empty()
    }

    /// The run's lamport clock (0 for a plain document).
    pub(crate) fn lamport(&self) -> u64 {
        match self {
            Self::Run(run) => run.lamport(),
            Self::Plain(_) => 0,
        }
    }
}
