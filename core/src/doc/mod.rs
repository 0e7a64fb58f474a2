//! [`RunDoc`]: one run's Automerge document, its identity and its materialised view.

mod create;
mod diff;
mod edits;
mod feed;
mod fork;
mod history;
mod past;
mod undo;
mod view;

use std::sync::OnceLock;

use automerge::{AutoCommit, ChangeHash};

use crate::error::RunError;
use crate::genesis::genesis_doc;
use crate::id::RunId;
use crate::identity::Identity;
use crate::intake::{corrupt, guard};
use crate::lineage::load_from_outside;
use crate::lineage::{Holds, Roots};
use crate::view::RunState;
use crate::view::containers::Containers;
use crate::view::index::Applied;
use view::View;

pub use create::{MAX_STEP_NAME_CHARS, MAX_STEPS, MAX_TITLE_CHARS, StepSpec};
pub use diff::{FlagChange, Restored, RunDiff, Who};
pub use edits::MAX_AGENT_NAME_CHARS;
pub use feed::ChangeEvent;
pub use fork::ForkOf;
pub use history::HistoryEntry;

/// A run document held by one replica.
///
/// Every mutation is one Automerge change, committed at once with the replica's user,
/// region and the operation in its message. The view is read from the whole document
/// when it is first asked for (a replica that only syncs the run never reads it), then
/// kept up to date from the patches of each change, local or remote.
///
/// A clone is the same replica (the same actor): write through one copy only, or the
/// copies would each commit the actor's next sequence number. It is for trying input on
/// a copy (the fuzz targets) and for reading.
#[derive(Clone, Debug)]
pub struct RunDoc {
    run_id: RunId,
    identity: Identity,
    doc: AutoCommit,
    /// The containers as last found; a view that can no longer find them reads here.
    containers: Containers,
    view: OnceLock<View>,
    /// The document was handed out for changing ([`RunDoc::automerge_mut`]) and has not
    /// been refreshed since.
    unrefreshed: bool,
    /// Automerge's own clock: the largest op counter in the document (every op's counter
    /// is one more than the largest its writer had seen).
    lamport: u64,
}

impl RunDoc {
    /// The run as it exists before anyone wrote to it: the genesis change only. A replica
    /// that learns of a run from a peer (or is asked to graft into a run it has never
    /// seen) starts here; the result merges with every other creation of the same run.
    pub fn genesis(run_id: RunId, identity: Identity) -> Self {
        Self::with_containers(run_id, identity, genesis_doc(), Containers::genesis())
    }

    /// Opens a run from bytes: a full save, incremental chunks, or both concatenated.
    ///
    /// The bytes are checked in full first; corrupt bytes are refused with nothing loaded.
    /// A run that holds changes from outside its lineage (written before the rule in
    /// `lineage.rs`) loads, and its view reports what they did; bytes from outside go
    /// through [`RunDoc::load_checked`] instead.
    pub fn load(run_id: RunId, identity: Identity, bytes: &[u8]) -> Result<Self, RunError> {
        Self::load_with(run_id, identity, bytes, false)
    }

    /// Opens a run from bytes that come from outside (a client's `POST …/sync` of a run
    /// this replica lacks), as [`RunDoc::load`] does, but refuses bytes that carry a change
    /// without dependencies other than the genesis ([`RunError::ForeignRoot`]).
    pub fn load_checked(run_id: RunId, identity: Identity, bytes: &[u8]) -> Result<Self, RunError> {
        Self::load_with(run_id, identity, bytes, true)
    }

    fn load_with(
        run_id: RunId,
        identity: Identity,
        bytes: &[u8],
        checked: bool,
    ) -> Result<Self, RunError> {
        let (loaded, read) = load_from_outside(bytes)?;
        let mut doc = match loaded {
            Some(mut doc) => {
                if checked {
                    let roots = Roots::of_document(&mut doc)?;
                    roots.admit(Holds::Nothing, |_| false)?;
                    roots.admit_into(&mut AutoCommit::new())?;
                }
                doc
            }
            // Incremental chunks whose dependencies (at least the genesis) are not in
            // `bytes`: start from the genesis and add them.
            None => {
                let mut doc = genesis_doc();
                if checked {
                    let roots = match read {
                        Some(roots) => roots,
                        None => Roots::of_chunks([bytes])?,
                    };
                    roots.admit(Holds::Run, |_| false)?;
                    roots.admit_into(&mut doc)?;
                }
                guard(bytes.len(), || doc.load_incremental(bytes))?
                    .map_err(|e| corrupt(bytes, e))?;
                doc
            }
        };
        if checked {
            // A run from outside is kept only as it came (`lineage/kept.rs`).
            crate::lineage::check_kept(&mut doc, &[])?;
        }
        Self::from_doc(run_id, identity, doc)
    }

    /// Opens the run `run_id` from bytes as a user's copy of it ([`RunDoc::load`]), and
    /// refuses bytes that name another run ([`RunError::OtherRun`]); bytes that name no
    /// run load.
    pub fn load_as(run_id: RunId, identity: Identity, bytes: &[u8]) -> Result<Self, RunError> {
        let run = Self::load(run_id, identity, bytes)?;
        match run.stored_run_id() {
            Some(named) if named != run_id => Err(RunError::OtherRun {
                len: bytes.len(),
                named,
                wanted: run_id,
            }),
            _ => Ok(run),
        }
    }

    /// Opens a run from bytes that name it (every run made by [`RunDoc::create`] does);
    /// [`RunError::UnknownRunId`] if they do not.
    pub fn open(identity: Identity, bytes: &[u8]) -> Result<Self, RunError> {
        let mut run = Self::load(RunId::from_bytes([0; 16]), identity.clone(), bytes)?;
        let run_id = run.stored_run_id().ok_or(RunError::UnknownRunId)?;
        run.bind(run_id, &identity);
        Ok(run)
    }

    /// Makes this document run `run_id`, written with `identity`'s actor for that run.
    fn bind(&mut self, run_id: RunId, identity: &Identity) {
        self.run_id = run_id;
        self.identity = identity.for_run(run_id);
        self.doc.set_actor(self.identity.actor().clone());
    }

    /// The run id the document records, if it records one.
    pub fn stored_run_id(&self) -> Option<RunId> {
        use automerge::ReadDoc;
        let (value, _) = self
            .doc
            .get(automerge::ROOT, crate::record::keys::RUN_ID)
            .ok()??;
        value.as_str()?.parse().ok()
    }

    /// Wraps an Automerge document that already holds a run (it has the genesis
    /// change); gives the document back with the reason if it does not.
    pub fn from_automerge(
        run_id: RunId,
        identity: Identity,
        mut doc: AutoCommit,
    ) -> Result<Self, Box<(RunError, AutoCommit)>> {
        match Containers::find(&mut doc) {
            Ok(containers) => Ok(Self::with_containers(run_id, identity, doc, containers)),
            Err(e) => Err(Box::new((e, doc))),
        }
    }

    /// Writes later operations on behalf of `user` (a relay acts for many users; the
    /// actor id stays this replica's own).
    pub fn act_as(&mut self, user: &str) -> Result<(), RunError> {
        self.identity =
            Identity::with_actor(self.identity.actor().clone(), self.identity.region(), user)?;
        Ok(())
    }

    fn from_doc(run_id: RunId, identity: Identity, mut doc: AutoCommit) -> Result<Self, RunError> {
        let containers = Containers::find(&mut doc)?;
        Ok(Self::with_containers(run_id, identity, doc, containers))
    }

    /// Wraps `doc`, whose containers are `containers`.
    fn with_containers(
        run_id: RunId,
        identity: Identity,
        mut doc: AutoCommit,
        containers: Containers,
    ) -> Self {
        let identity = identity.for_run(run_id);
        doc.set_actor(identity.actor().clone());
        doc.update_diff_cursor();
        let mut run = Self {
            run_id,
            identity,
            doc,
            containers,
            view: OnceLock::new(),
            unrefreshed: false,
            lamport: 0,
        };
        run.update_lamport();
        run
    }

    /// Adds changes from bytes (a save, incremental chunks, or a sync dump from another
    /// replica). The bytes are checked in full before anything is applied, the lineage
    /// rule included: a change without dependencies that is neither the genesis nor
    /// already here is refused ([`RunError::ForeignRoot`]), and so is a change naming an
    /// actor Automerge would not find ([`RunError::UnknownWriter`],
    /// [`RunError::UnknownActor`]: it would panic on this document). Returns whether the
    /// document changed.
    pub fn apply_bytes(&mut self, bytes: &[u8]) -> Result<bool, RunError> {
        let roots = match load_from_outside(bytes)? {
            (Some(mut whole), _) => Roots::of_document(&mut whole)?,
            (None, Some(read)) => read,
            (None, None) => Roots::of_chunks([bytes])?,
        };
        roots.admit(Holds::Run, |h| {
            self.doc.get_change_meta_by_hash(h).is_some()
        })?;
        roots.admit_into(&mut self.doc)?;
        let before = self.doc.get_heads();
        let doc = &mut self.doc;
        guard(bytes.len(), || doc.load_incremental(bytes))
            .map_err(|e| RunError::ApplyFailed {
                reason: e.to_string(),
            })?
            .map_err(|e| corrupt(bytes, e))?;
        // On an error the document holds what it took: whoever holds it loads it again
        // (a relay's hub does, from its store).
        crate::lineage::check_kept(&mut self.doc, &before)?;
        self.refresh();
        Ok(self.doc.get_heads() != before)
    }

    /// The whole document, compacted.
    pub fn save(&mut self) -> Vec<u8> {
        crate::lineage::save_applied(&mut self.doc)
    }

    /// The changes made or received since the last `save` or `save_incremental`.
    pub fn save_incremental(&mut self) -> Vec<u8> {
        self.doc.save_incremental()
    }

    /// Takes every change `other` has that this replica lacks.
    pub fn merge(&mut self, other: &mut RunDoc) -> Result<(), RunError> {
        self.doc.merge(&mut other.doc)?;
        self.refresh();
        Ok(())
    }

    /// The document's current heads.
    pub fn heads(&mut self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    /// The run's id.
    pub fn run_id(&self) -> RunId {
        self.run_id
    }

    /// Who this replica is.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The run's lamport clock.
    pub fn lamport(&self) -> u64 {
        self.lamport
    }

    /// How many grafts the run has (no pipeline is built).
    pub fn graft_count(&self) -> usize {
        self.view().index.grafts.len()
    }

    /// The grafts, in no particular order (no pipeline is built).
    pub fn grafts(&self) -> impl Iterator<Item = &crate::view::Graft> {
        self.view().index.grafts.values()
    }

    /// The run's title (no pipeline is built).
    pub fn title(&self) -> &str {
        &self.view().index.title
    }

    /// The title, read from the document alone if the view has not been read: a relay
    /// that loads a run to copy it to another region needs its title for the run list,
    /// not the whole view (for a run of thousands of grafts, that is most of its memory).
    pub fn title_alone(&self) -> String {
        match self.view.get() {
            Some(view) => view.index.title.clone(),
            None => crate::view::index::title_in(crate::view::reader::Now(&self.doc))
                .unwrap_or_default(),
        }
    }

    /// The materialised run.
    pub fn state(&self) -> RunState {
        RunState::from_index(self.run_id, &self.view().index, self.lamport)
    }

    /// Whether the view has been read (it is read on first use, not on load).
    pub fn view_is_built(&self) -> bool {
        self.view.get().is_some()
    }

    /// The view, read from the whole document if this is its first use.
    fn view(&self) -> &View {
        self.view
            .get_or_init(|| View::read(&self.doc, &self.containers, self.unrefreshed))
    }

    /// The view (read first if need be) beside the document, for the operations.
    fn view_mut(&mut self) -> (&mut View, &AutoCommit) {
        if self.view.get().is_none() {
            let view = View::read(&self.doc, &self.containers, self.unrefreshed);
            self.containers = view.containers.clone();
            self.view = OnceLock::from(view);
        }
        let view = self.view.get_mut().expect("the view was just read");
        (view, &self.doc)
    }

    /// The Automerge document, for the sync engine. Call [`RunDoc::refresh`] after
    /// changing it.
    pub fn automerge_mut(&mut self) -> &mut AutoCommit {
        self.unrefreshed = true;
        &mut self.doc
    }

    /// The Automerge document for saving and reading, which change nothing the view
    /// shows (so, unlike [`RunDoc::automerge_mut`], no refresh is owed after).
    pub(crate) fn automerge_unchanged(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }

    /// Brings the view up to date with changes applied to the document directly.
    ///
    /// A view that has not been read yet stays unread: only the point it would be
    /// patched from moves on.
    pub fn refresh(&mut self) {
        self.unrefreshed = false;
        match self.view.get_mut() {
            None => self.doc.update_diff_cursor(),
            Some(view) => {
                // A document the sync engine swapped for a peer's whole one
                // (`sync::whole_doc`) has no diff cursor to patch from.
                let reread =
                    view.ahead_of_cursor || view.detached || self.doc.diff_cursor().is_empty() || {
                        let patches = self.doc.diff_incremental();
                        view.index.apply(&self.doc, &view.containers, &patches) == Applied::Rebuild
                    };
                if reread {
                    *view = View::read(&self.doc, &view.containers, false);
                    self.containers = view.containers.clone();
                    self.doc.update_diff_cursor();
                }
            }
        }
        self.update_lamport();
    }

    /// The lamport clock is the largest op counter in the document, which the head
    /// changes hold (counters only grow along the history).
    pub(crate) fn update_lamport(&mut self) {
        let heads = self.doc.get_heads();
        self.lamport = heads
            .iter()
            .filter_map(|h| self.doc.get_change_meta_by_hash(h).map(|m| m.max_op))
            .max()
            .unwrap_or(0);
    }
}
