//! [`Registry`]: document id → the task that owns that document, spawned on demand.
//!
//! The map is behind a std mutex that is never held across an `.await`. A task that has
//! been idle removes itself under the same lock, so a sender never gets a handle to a
//! task that has already left.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use runmesh_core::DocumentId;
use tokio::sync::mpsc;

use crate::docs::actor::{self, DocContext};
use crate::docs::command::DocCmd;

/// Commands queued per document before senders wait (backpressure on connections).
const DOC_QUEUE: usize = 256;

#[derive(Debug, Default)]
struct Inner {
    tasks: HashMap<DocumentId, (u64, mpsc::Sender<DocCmd>)>,
    next: u64,
}

/// The live document tasks.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    inner: Arc<Mutex<Inner>>,
}

impl Registry {
    /// Sends `cmd` to the document's task, starting the task (which loads the document
    /// from the store) if none is running.
    pub async fn send(&self, ctx: &Arc<DocContext>, doc: DocumentId, mut cmd: DocCmd) {
        for _ in 0..3 {
            let tx = self.handle(ctx, doc);
            match tx.send(cmd).await {
                Ok(()) => return,
                // The task left between lookup and send; it handed nothing over, so
                // start a new one.
                Err(mpsc::error::SendError(back)) => cmd = back,
            }
            tokio::task::yield_now().await;
        }
        // Only while the runtime shuts down do fresh tasks die at once; the command
        // (a detach, say) no longer matters then.
        tracing::debug!(%doc, "dropping a command: the relay is shutting down");
    }

    fn handle(&self, ctx: &Arc<DocContext>, doc: DocumentId) -> mpsc::Sender<DocCmd> {
        let mut inner = self.inner.lock().expect("registry lock is never poisoned");
        if let Some((_, tx)) = inner.tasks.get(&doc)
            && !tx.is_closed()
        {
            return tx.clone();
        }
        inner.next += 1;
        let generation = inner.next;
        let (tx, rx) = mpsc::channel(DOC_QUEUE);
        inner.tasks.insert(doc, (generation, tx.clone()));
        drop(inner);
        tokio::spawn(actor::run(ctx.clone(), doc, generation, rx));
        tx
    }

    /// Called by an idle task: removes it if it is still the registered one and nothing
    /// is queued for it. Returns whether it may exit.
    pub(crate) fn leave(
        &self,
        doc: &DocumentId,
        generation: u64,
        rx: &mpsc::Receiver<DocCmd>,
    ) -> bool {
        let mut inner = self.inner.lock().expect("registry lock is never poisoned");
        if !rx.is_empty() {
            return false;
        }
        if matches!(inner.tasks.get(doc), Some((g, _)) if *g == generation) {
            inner.tasks.remove(doc);
        }
        true
    }

    /// Documents currently in memory.
    pub fn loaded(&self) -> Vec<DocumentId> {
        self.inner
            .lock()
            .expect("registry lock is never poisoned")
            .tasks
            .keys()
            .copied()
            .collect()
    }
}
