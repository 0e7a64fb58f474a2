//! The document task's I/O: making changes durable, and sending to peers.

use runmesh_core::sync::{PeerId, WireMessage};
use tokio::sync::mpsc;

use crate::docs::actor::Actor;
use crate::docs::doc::Doc;
use crate::store::EventMeta;

impl Actor {
    /// Appends the changes since the last append, and snapshots when one is due.
    pub(super) async fn persist(&mut self, source_region: &str) -> Result<(), String> {
        let Ok(Some(doc)) = &mut self.doc else {
            return Ok(());
        };
        let am = doc.automerge();
        let chunk = am.save_after(&self.persisted);
        let heads = am.get_heads();
        if chunk.is_empty() {
            return Ok(());
        }
        let lamport = match doc {
            Doc::Run(run) => run.lamport(),
            Doc::Plain(_) => 0,
        };
        let meta = EventMeta {
            source_region: source_region.to_owned(),
            lamport,
        };
        let snapshot_due = self.since_snapshot + 1 >= self.ctx.config.snapshot_interval_events;
        let snapshot = snapshot_due.then(|| doc.automerge().save());
        let (store, id, retain) = (
            self.ctx.store.clone(),
            self.id,
            self.ctx.config.snapshot_retain,
        );
        let snapshot_len = snapshot.as_ref().map(Vec::len);
        let chunk_len = chunk.len();
        tokio::task::spawn_blocking(move || {
            store.append(&id, &chunk, &meta)?;
            if let Some(bytes) = snapshot {
                store.snapshot(&id, &bytes, &meta, retain)?;
            }
            Ok::<_, crate::store::StoreError>(())
        })
        .await
        .map_err(|e| format!("storage task failed: {e}"))?
        .map_err(|e| e.to_string())?;
        self.persisted = heads;
        match snapshot_len {
            Some(len) => {
                self.stored_bytes = len;
                self.since_snapshot = 0;
                self.ctx.metrics.snapshot_written(len);
            }
            None => {
                self.stored_bytes += chunk_len;
                self.since_snapshot += 1;
            }
        }
        Ok(())
    }

    /// Sends each message to its peer; a peer whose queue is full is too slow and is
    /// disconnected (it resyncs from scratch when it reconnects) rather than buffered
    /// without bound.
    pub(super) fn send(&mut self, out: Vec<(PeerId, WireMessage)>) {
        for (peer, message) in out {
            let Some(link) = self.links.get(&peer) else {
                continue;
            };
            if matches!(message, WireMessage::Sync { .. }) {
                self.ctx.metrics.sync_message();
            }
            match link.tx.try_send(message.encode()) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    tracing::warn!(doc = %self.id, peer = %peer, "peer is not keeping up; disconnecting it");
                    link.close.cancel();
                    self.links.remove(&peer);
                    self.sync.remove_peer(&peer);
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    self.links.remove(&peer);
                    self.sync.remove_peer(&peer);
                }
            }
        }
    }
}
