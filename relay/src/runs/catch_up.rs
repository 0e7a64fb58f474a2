//! [`CatchUps`]: every mesh link's [`CatchUp`] (the runs a reconciliation found this
//! relay must offer the peer, offered a few at a time), and the worker that performs
//! one link's offers (in `reconcile.rs`). Each offered run is loaded, synced, and counted
//! once its task says it is in step with the peer (or after a while without that news);
//! then it leaves memory like any idle run.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use runmesh_core::DocumentId;
use runmesh_core::hub::{Millis, SessionId};
use runmesh_core::node::{CatchUp, CatchUpProgress};
use runmesh_core::sync::PeerId;
use tokio::sync::Notify;

use crate::runs::link::PeerLink;

/// The runs to offer a link now (and whether to start each session over), when to look
/// again, and whether runs are still waiting.
pub(crate) type Due = (Vec<(DocumentId, bool)>, Option<Millis>, bool);

/// How far one link's catch-up has come.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    /// Runs queued, synced, not in step in time.
    pub counts: CatchUpProgress,
    /// When the first run was queued.
    pub started: Option<Instant>,
    /// When the last run finished.
    pub finished: Option<Instant>,
}

impl Progress {
    /// Runs finished per second since the first was queued.
    pub fn rate(&self) -> f64 {
        let done = self.counts.synced + self.counts.unsettled;
        match (self.started, self.finished) {
            (Some(start), Some(end)) if end > start => done as f64 / (end - start).as_secs_f64(),
            _ => 0.0,
        }
    }
}

#[derive(Debug)]
struct Entry {
    session: SessionId,
    catch_up: CatchUp,
    started: Option<Instant>,
    finished: Option<Instant>,
    /// Wakes the link's worker: runs were queued or one settled.
    wake: Arc<Notify>,
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
    /// Returns what wakes the link's worker if it has none yet: the caller starts one.
    pub(crate) fn enqueue(
        &self,
        link: &PeerLink,
        runs: impl IntoIterator<Item = DocumentId>,
        fresh: bool,
    ) -> Option<Arc<Notify>> {
        let mut all = self.lock();
        let session = link.link.session;
        let new_link = all.get(link.peer()).is_none_or(|e| e.session != session);
        let mut worker = None;
        if new_link {
            let wake = Arc::new(Notify::new());
            let entry = Entry {
                session,
                catch_up: CatchUp::default(),
                started: None,
                finished: None,
                wake: wake.clone(),
            };
            all.insert(link.peer().clone(), entry);
            worker = Some(wake);
        }
        let entry = all.get_mut(link.peer()).expect("inserted above");
        let before = entry.catch_up.progress().queued;
        entry.catch_up.enqueue(runs, fresh);
        if entry.catch_up.progress().queued > before {
            entry.started.get_or_insert_with(Instant::now);
        }
        entry.wake.notify_one();
        worker
    }

    /// The runs to offer `link` now, and when to look again; `None` once the link's
    /// catch-up is gone (the link went down or was replaced).
    /// `free`: the room left under the catch-up memory bound.
    pub(crate) fn due(&self, link: &PeerLink, now: Millis, free: usize) -> Option<Due> {
        let mut all = self.lock();
        let entry = all
            .get_mut(link.peer())
            .filter(|e| e.session == link.link.session)?;
        let due = entry.catch_up.due(now, Some(free));
        Some((due, entry.catch_up.next_wake(), entry.catch_up.is_waiting()))
    }

    /// One offered run got in step with the link's peer, or did not in time; it weighs
    /// `weight` in memory now (0: not known, it left already).
    pub(crate) fn finished(&self, link: &PeerLink, run: DocumentId, in_step: bool, weight: usize) {
        let mut all = self.lock();
        if let Some(entry) = all
            .get_mut(link.peer())
            .filter(|e| e.session == link.link.session)
            && entry.catch_up.settled(run, in_step)
        {
            if weight > 0 {
                entry.catch_up.weighed(weight);
            }
            entry.finished = Some(Instant::now());
            entry.wake.notify_one();
        }
    }

    /// How far the catch-up with `peer` has come, if one ran on its link.
    pub fn progress(&self, peer: &PeerId) -> Option<Progress> {
        self.lock().get(peer).map(|e| Progress {
            counts: e.catch_up.progress(),
            started: e.started,
            finished: e.finished,
        })
    }

    /// Runs still to offer, over every link.
    pub fn pending(&self) -> u64 {
        self.lock()
            .values()
            .map(|e| e.catch_up.progress().pending())
            .sum()
    }

    /// Forgets `peer`'s catch-up (its link went down; its worker stops with it).
    pub fn forget(&self, peer: &PeerId, session: SessionId) {
        let mut all = self.lock();
        if all.get(peer).is_some_and(|e| e.session == session) {
            all.remove(peer);
        }
    }
}
