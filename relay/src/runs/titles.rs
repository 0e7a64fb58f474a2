//! [`Titles`]: each stored run's title, as its task last read it. A run's title is set
//! when it is made, so the run list reads it here instead of loading every run of a
//! page: a list of 40 heavy runs cost 8.9 s of CPU per request, and slowed `/health` to
//! 1.7 s (eighth attack, E19). A run not read since the relay started is loaded once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use runmesh_core::DocumentId;

/// The titles of the runs this relay has read.
#[derive(Debug, Clone, Default)]
pub struct Titles {
    inner: Arc<Mutex<HashMap<DocumentId, String>>>,
}

impl Titles {
    fn lock(&self) -> MutexGuard<'_, HashMap<DocumentId, String>> {
        // Nothing panics while holding it.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `run`'s title, if a task here has read it.
    pub fn get(&self, run: &DocumentId) -> Option<String> {
        self.lock().get(run).cloned()
    }

    /// A task read `run`'s title.
    pub fn note(&self, run: DocumentId, title: String) {
        self.lock().insert(run, title);
    }
}
