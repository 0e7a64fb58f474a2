//! [`Slots`]: document id → the queue of the task that owns that run.
//!
//! The map is behind a std mutex that is never held across an `.await`. A task that has
//! been idle removes itself under the same lock, and only if nothing is queued for it, so
//! a sender never gets the queue of a task that has already gone.

use runmesh_core::DocumentId;
use runmesh_core::hub::Millis;
use runmesh_core::node::Shedding;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::mpsc;

use crate::runs::command::DocCmd;

/// Commands queued per run before senders wait (backpressure on connections).
const QUEUE: usize = 256;

#[derive(Debug, Default)]
struct Map {
    tasks: HashMap<DocumentId, (u64, mpsc::Sender<DocCmd>)>,
    next: u64,
    shedding: Shedding,
}

/// A task to start: its generation, and its queue's two ends.
pub(crate) type NewSlot = (u64, mpsc::Sender<DocCmd>, mpsc::Receiver<DocCmd>);

/// The live run tasks.
#[derive(Debug, Clone, Default)]
pub(crate) struct Slots {
    inner: Arc<Mutex<Map>>,
}

impl Slots {
    fn lock(&self) -> MutexGuard<'_, Map> {
        self.inner.lock().expect("slots lock is never poisoned")
    }

    /// The queue of `doc`'s task, or a new slot for a task the caller must start.
    pub(crate) fn get_or_new(&self, doc: DocumentId) -> Result<mpsc::Sender<DocCmd>, NewSlot> {
        let mut map = self.lock();
        if let Some((_, tx)) = map.tasks.get(&doc)
            && !tx.is_closed()
        {
            return Ok(tx.clone());
        }
        map.next += 1;
        let generation = map.next;
        let (tx, rx) = mpsc::channel(QUEUE);
        map.tasks.insert(doc, (generation, tx.clone()));
        Err((generation, tx, rx))
    }

    /// The queue of `doc`'s task, if one is running.
    pub(crate) fn get(&self, doc: &DocumentId) -> Option<mpsc::Sender<DocCmd>> {
        let map = self.lock();
        map.tasks
            .get(doc)
            .map(|(_, tx)| tx.clone())
            .filter(|tx| !tx.is_closed())
    }

    /// Called by an idle task: removes it if it is still the registered one and nothing
    /// is queued for it. Returns whether it may exit.
    pub(crate) fn leave(
        &self,
        doc: &DocumentId,
        generation: u64,
        rx: &mpsc::Receiver<DocCmd>,
    ) -> bool {
        let mut map = self.lock();
        if !rx.is_empty() {
            return false;
        }
        if matches!(map.tasks.get(doc), Some((g, _)) if *g == generation) {
            map.tasks.remove(doc);
        }
        true
    }

    /// The relay's memory was found full at `now`: asks every run in memory to leave it
    /// if nobody holds it open, as core's [`Shedding`] says. A task whose queue is full
    /// is busy, not idle.
    pub(crate) fn shed(&self, now: Millis) {
        let mut map = self.lock();
        if !map.shedding.memory_full(now) {
            return;
        }
        for (_, tx) in map.tasks.values() {
            let _ = tx.try_send(DocCmd::Shed);
        }
    }

    /// Runs currently in memory.
    pub(crate) fn loaded(&self) -> Vec<DocumentId> {
        self.lock().tasks.keys().copied().collect()
    }
}
