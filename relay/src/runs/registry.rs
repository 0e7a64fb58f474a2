//! [`Documents`]: the handle through which everything else reaches runs: it sends a
//! command to a run's task, starting the task (which loads the run) if none is running.

use std::sync::Arc;

use runmesh_core::DocumentId;

use runmesh_core::sync::PeerId;

use crate::metrics::Metrics;
use crate::runs::command::DocCmd;
use crate::runs::env::TaskEnv;
use crate::runs::reconciler::Reconciler;
use crate::runs::slots::Slots;
use crate::runs::task;
use crate::store::StoreError;

/// The runs of this relay, in memory and in the store.
#[derive(Debug, Clone)]
pub struct Documents {
    env: Arc<TaskEnv>,
    slots: Slots,
}

impl Documents {
    /// Runs whose tasks share `env`.
    pub fn new(env: TaskEnv) -> Self {
        Self {
            env: Arc::new(env),
            slots: Slots::default(),
        }
    }

    /// Sends `cmd` to the run's task, starting the task if none is running.
    pub async fn send(&self, doc: DocumentId, mut cmd: DocCmd) {
        for _ in 0..3 {
            let tx = match self.slots.get_or_new(doc) {
                Ok(tx) => tx,
                Err((generation, tx, rx)) => {
                    self.spawn(doc, generation, rx);
                    tx
                }
            };
            match tx.send(cmd).await {
                Ok(()) => return,
                // The task left between lookup and send; it handed nothing over, so
                // start a new one.
                Err(tokio::sync::mpsc::error::SendError(back)) => cmd = back,
            }
            tokio::task::yield_now().await;
        }
        // Only while the runtime shuts down do fresh tasks die at once; the command (a
        // detach, say) no longer matters then.
        tracing::debug!(%doc, "dropping a command: the relay is shutting down");
    }

    /// Sends `cmd` to the run's task if the run is in memory (a run that is not will read
    /// everything when it is next loaded); says whether it was.
    pub async fn send_if_loaded(&self, doc: DocumentId, cmd: DocCmd) -> bool {
        match self.slots.get(&doc) {
            // A task that left meanwhile handed nothing over: the next load reads it all.
            Some(tx) => tx.send(cmd).await.is_ok(),
            None => false,
        }
    }

    fn spawn(&self, doc: DocumentId, generation: u64, rx: tokio::sync::mpsc::Receiver<DocCmd>) {
        let docs = self.clone();
        tokio::spawn(async move {
            let leftovers =
                task::run(docs.env.clone(), docs.slots.clone(), doc, generation, rx).await;
            for cmd in leftovers {
                Box::pin(docs.send(doc, cmd)).await;
            }
        });
    }

    /// Whether the run is in memory or in the store. A read of any other run is a 404
    /// that must not load it: each loaded run stays for `--idle-unload-secs` (5,000 reads
    /// of made-up ids held ~50 MB for 30 s).
    pub async fn holds(&self, doc: DocumentId) -> Result<bool, StoreError> {
        if self.slots.get(&doc).is_some() || self.env.reconciler.get(&doc).is_some() {
            return Ok(true);
        }
        // Not indexed need not mean not stored: another relay sharing the store may have
        // created it while its feed was down.
        self.env.store.contains(&doc).await
    }

    /// Runs currently in memory.
    pub fn loaded(&self) -> Vec<DocumentId> {
        self.slots.loaded()
    }

    /// Closes the store as the relay stops: later writes fail (nothing is acknowledged
    /// after this), and the store may note that it was closed cleanly.
    pub async fn close_store(&self) {
        if let Err(e) = self.env.store.close().await {
            tracing::warn!(error = %e, "could not close the store cleanly; the next start checks every run");
        }
    }

    /// Every run in the store.
    pub async fn stored(&self) -> Result<Vec<DocumentId>, StoreError> {
        self.env.store.list().await
    }

    /// The digest index and every mesh link's catch-up.
    pub fn reconciler(&self) -> &Reconciler {
        &self.env.reconciler
    }

    /// The runs' titles, as their tasks read them.
    pub fn titles(&self) -> &crate::runs::Titles {
        &self.env.titles
    }

    pub(crate) fn slots(&self) -> &Slots {
        &self.slots
    }

    pub(crate) fn env(&self) -> &TaskEnv {
        &self.env
    }

    pub(crate) fn metrics(&self) -> &Metrics {
        &self.env.metrics
    }

    /// This relay's peer id.
    pub(crate) fn me(&self) -> &PeerId {
        &self.env.hub.me
    }
}
