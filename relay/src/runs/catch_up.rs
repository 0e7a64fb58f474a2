//! [`CatchUps`]: the runs a reconciliation found this relay must offer a mesh peer,
//! queued per link and offered a few at a time (by the worker in `reconcile.rs`). Each offered run is loaded, synced, and counted once its
//! task says it is in step with the peer (or after a while without that news); then it
//! leaves memory like any idle run. So copying a whole region's runs costs memory for
//! [`IN_FLIGHT`] runs at a time, not for all of them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use runmesh_core::DocumentId;
use runmesh_core::hub::SessionId;
use runmesh_core::sync::PeerId;
use tokio::sync::mpsc;

use crate::runs::link::PeerLink;

/// Runs offered to one peer at once.
pub const IN_FLIGHT: usize = 32;

/// How long an offered run may take to get in step before the next one goes anyway.
pub const SETTLE: Duration = Duration::from_secs(10);

/// A link's queue of runs to offer (and whether to start their sessions over).
pub(crate) type Queued = mpsc::UnboundedReceiver<(DocumentId, bool)>;

/// How far one link's catch-up has come.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    /// Runs found to differ (queued so far).
    pub queued: u64,
    /// Runs offered and reported in step.
    pub synced: u64,
    /// Runs offered that did not report in step in time.
    pub unsettled: u64,
    /// When the first run was queued.
    pub started: Option<Instant>,
    /// When the last run finished.
    pub finished: Option<Instant>,
}

impl Progress {
    /// Runs queued and not finished.
    pub fn pending(&self) -> u64 {
        self.queued - self.synced - self.unsettled
    }

    /// Runs finished per second since the first was queued.
    pub fn rate(&self) -> f64 {
        match (self.started, self.finished) {
            (Some(start), Some(end)) if end > start => {
                (self.synced + self.unsettled) as f64 / (end - start).as_secs_f64()
            }
            _ => 0.0,
        }
    }
}

#[derive(Debug)]
struct Entry {
    session: SessionId,
    queue: mpsc::UnboundedSender<(DocumentId, bool)>,
    progress: Progress,
}

/// Every mesh link's catch-up.
#[derive(Debug, Clone, Default)]
pub struct CatchUps {
    inner: Arc<Mutex<HashMap<PeerId, Entry>>>,
}

impl CatchUps {
    fn lock(&self) -> MutexGuard<'_, HashMap<PeerId, Entry>> {
        self.inner.lock().expect("catch-up lock is never poisoned")
    }

    /// Queues `runs` to offer `link` (`fresh`: starting their sync sessions over).
    /// Returns the queue's receiving end if the link has no worker yet: the caller
    /// starts one on it.
    pub(crate) fn enqueue(
        &self,
        link: &PeerLink,
        runs: impl IntoIterator<Item = DocumentId>,
        fresh: bool,
    ) -> Option<Queued> {
        let mut all = self.lock();
        let session = link.link.session;
        let new_link = all.get(link.peer()).is_none_or(|e| e.session != session);
        let mut worker = None;
        if new_link {
            let (queue, rx) = mpsc::unbounded_channel();
            let entry = Entry {
                session,
                queue,
                progress: Progress::default(),
            };
            all.insert(link.peer().clone(), entry);
            worker = Some(rx);
        }
        let entry = all.get_mut(link.peer()).expect("inserted above");
        for run in runs {
            if entry.queue.send((run, fresh)).is_ok() {
                entry.progress.queued += 1;
                entry.progress.started.get_or_insert_with(Instant::now);
            }
        }
        worker
    }

    /// One offered run got in step with the link's peer, or did not in time.
    pub(crate) fn finished(&self, link: &PeerLink, in_step: bool) {
        let mut all = self.lock();
        if let Some(entry) = all
            .get_mut(link.peer())
            .filter(|e| e.session == link.link.session)
        {
            let progress = &mut entry.progress;
            if in_step {
                progress.synced += 1;
            } else {
                progress.unsettled += 1;
            }
            progress.finished = Some(Instant::now());
        }
    }

    /// How far the catch-up with `peer` has come, if one ran on its link.
    pub fn progress(&self, peer: &PeerId) -> Option<Progress> {
        self.lock().get(peer).map(|e| e.progress)
    }

    /// Runs still to offer, over every link.
    pub fn pending(&self) -> u64 {
        self.lock().values().map(|e| e.progress.pending()).sum()
    }

    /// Forgets `peer`'s catch-up (its link went down; its worker stops with it).
    pub fn forget(&self, peer: &PeerId, session: SessionId) {
        let mut all = self.lock();
        if all.get(peer).is_some_and(|e| e.session == session) {
            all.remove(peer);
        }
    }
}
