//! What a run's shell reports outward: the answers to reads (the run, its past, a fork,
//! the heads its followers watch, which regions hold it), and the hub's events as metrics and log lines.

use runmesh_core::ChangeHash;
use runmesh_core::hub::{HubEvent, OpError};

use crate::runs::command::{Durability, Read};
use crate::runs::shell::Shell;

impl Shell {
    /// Which regions' stores hold `wanted` (none: the heads stored here), from what the
    /// relay was told ([`crate::runs::Reach`]) checked against the run's changes.
    fn durability(&mut self, wanted: Option<Vec<ChangeHash>>) -> Result<Durability, OpError> {
        let heads = wanted.unwrap_or_else(|| self.shard.stored_heads());
        let mut regions = Vec::new();
        for (region, claims) in self.env.reach.claimed(&self.id) {
            for claimed in claims {
                if self.shard.hub().holds(&claimed, &heads)? {
                    regions.push(region);
                    break;
                }
            }
        }
        Ok(Durability { heads, regions })
    }

    pub(super) fn read(&mut self, read: Read) {
        if read.abandoned() {
            return; // its requester is gone: no work for nobody (a hundred GETs never read)
        }
        match read {
            Read::State(reply) => {
                let _ = reply.send(self.shard.hub().state());
            }
            Read::Title(reply) => {
                let _ = reply.send(self.shard.hub().title());
            }
            Read::Changes(reply) => {
                let _ = reply.send(self.shard.hub().saved());
            }
            Read::History(reply) => {
                let _ = reply.send(self.shard.hub().history());
            }
            Read::Heads(reply) => {
                let _ = reply.send(self.shard.hub().heads());
            }
            Read::StateAt(heads, reply) => {
                let _ = reply.send(self.shard.hub().state_at(&heads));
            }
            Read::Since(seen, max, reply) => {
                let _ = reply.send(self.shard.hub().changes_since(seen.as_deref(), max));
            }
            Read::Watch(reply) => {
                self.followers.send_replace(self.shard.stored_heads());
                let _ = reply.send(self.followers.subscribe());
            }
            Read::Durability(wanted, reply) => {
                let _ = reply.send(self.durability(wanted));
            }
            Read::Diff(from, to, reply) => {
                let _ = reply.send(self.shard.hub().diff(&from, to.as_deref()));
            }
            Read::Fork {
                new,
                at,
                user,
                reply,
            } => {
                let now = self.env.now();
                let _ = reply.send(self.shard.hub().fork(new, at.as_deref(), &user, now));
            }
        }
    }

    pub(super) fn event(&mut self, event: &HubEvent) {
        let metrics = &self.env.metrics;
        match event {
            HubEvent::SyncReceived => metrics.sync_message(),
            HubEvent::SyncRefused(why) => {
                metrics.sync_failure();
                tracing::warn!(doc = %self.id, error = %why, "refused a sync message");
            }
            HubEvent::SnapshotStored(bytes) => metrics.snapshot_written(*bytes),
            HubEvent::Lamport(value) => metrics.lamport(&self.label, *value),
            HubEvent::Unreadable(why) => {
                tracing::error!(doc = %self.id, error = %why, "stored run cannot be loaded; refusing to serve it");
            }
            HubEvent::ElsewhereRefused(why) => {
                tracing::warn!(doc = %self.id, error = %why, "could not apply what another relay stored; it is read again when the run is next loaded");
            }
            HubEvent::StoreFailed(why) => {
                tracing::error!(doc = %self.id, error = %why, "could not store changes; dropped them and reloading");
            }
            HubEvent::MemoryFull => metrics.memory_full(),
        }
    }
}
