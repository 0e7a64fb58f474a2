//! The store work a run's shell performs for its hub: load the run, read what other
//! relays sharing the store appended, persist a chunk (and a snapshot).

use runmesh_core::digest::Fingerprint;
use runmesh_core::hub::{Persist, Stored};
use runmesh_core::node::Command;

use crate::runs::shell::Shell;
use crate::store::EventMeta;

impl Shell {
    pub(super) async fn load(&self) -> Result<Option<Stored>, String> {
        let loaded = self
            .env
            .store
            .load(&self.id)
            .await
            .map_err(|e| e.to_string())?;
        Ok(loaded.map(|stored| Stored {
            bytes: stored.concat(),
            chunks: u32::try_from(stored.chunks.len()).unwrap_or(u32::MAX),
        }))
    }

    /// The bytes of `events` another relay appended, or of the whole run if `events` is
    /// empty or some of them are gone (pruned under a newer snapshot).
    pub(super) async fn read_elsewhere(&self, events: &[i64]) -> Option<Vec<u8>> {
        let store = &self.env.store;
        let chunks = if events.is_empty() {
            None
        } else {
            store.events(&self.id, events).await.unwrap_or_else(|e| {
                tracing::warn!(doc = %self.id, error = %e, "could not read another relay's events; reading the run");
                None
            })
        };
        if let Some(chunks) = chunks {
            self.env.metrics.fanned_out(events.len());
            return Some(chunks.concat());
        }
        match store.read(&self.id).await {
            Ok(stored) => stored.map(|s| s.concat()),
            Err(e) => {
                tracing::warn!(doc = %self.id, error = %e, "could not read what other relays stored; it arrives with their next change or the next load");
                None
            }
        }
    }

    pub(super) async fn persist(&self, persist: Persist) -> super::ShardCommand {
        let (store, id) = (&self.env.store, &self.id);
        let meta = EventMeta {
            source_region: persist.source_region,
            lamport: persist.lamport,
            heads: Some(Fingerprint::of_heads(&persist.heads)),
            base: Some(Fingerprint::of_heads(&persist.base)),
        };
        let metrics = &self.env.metrics;
        let stored = async {
            let started = std::time::Instant::now();
            store.append(id, &persist.chunk, &meta).await?;
            metrics.store_append(started.elapsed().as_secs_f64());
            if let Some(bytes) = &persist.snapshot {
                let started = std::time::Instant::now();
                let retain = self.env.snapshot_retain;
                store.snapshot(id, bytes, &meta, retain).await?;
                metrics.store_snapshot(started.elapsed().as_secs_f64());
            }
            Ok::<_, crate::store::StoreError>(())
        };
        match stored.await {
            Ok(()) => Command::Stored(persist.id),
            Err(e) => {
                metrics.store_failure();
                Command::StoreFailed(persist.id, e.to_string())
            }
        }
    }
}
