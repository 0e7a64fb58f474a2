//! The relay's side of recorded [`Traffic`], replayed alone: once through core's hub
//! (what the relay's run task runs), once through the automerge crate alone doing what
//! the hub asks of it (receive each message, save the chunk, generate each peer's
//! message), so the hub's own cost shows as the difference.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use automerge::sync::{Message, State, SyncDoc};
use automerge::{AutoCommit, ChangeHash, SaveOptions};
use runmesh_core::hub::HubConfig;
use runmesh_core::sync::PeerId;

use super::traffic::{Batch, Traffic, loaded_hub, step};
use super::{Took, measure};

/// Replays `traffic` into a fresh hub. Returns the sync messages it generated for the
/// peers while writing, and what that took.
pub fn hub(config: &Arc<HubConfig>, traffic: &Traffic) -> (usize, Took) {
    let mut hub = loaded_hub(config, traffic.run, &traffic.stored);
    for batch in &traffic.joining {
        step(&mut hub, batch);
    }
    let mut generated = 0;
    let took = measure(|| {
        for batch in &traffic.writing {
            generated += step(&mut hub, batch).len();
        }
    });
    (generated, took)
}

/// The automerge crate alone, doing per batch what the hub does: receive each message
/// with Automerge's own `receive_sync_message`, save the changes since the last save as
/// one chunk (a full save every `snapshot_every` chunks), then generate a message for
/// every peer if the document changed, else for those that sent something.
struct Bare {
    doc: AutoCommit,
    peers: BTreeMap<PeerId, State>,
    persisted: Vec<ChangeHash>,
    chunks: u32,
    snapshot_every: u32,
}

impl Bare {
    /// Takes in `batch`; returns how many messages it generated.
    fn batch(&mut self, batch: &Batch) -> usize {
        let before = self.doc.get_heads();
        let mut owed = BTreeSet::new();
        for (from, data) in batch {
            let message = Message::decode(data).expect("a sync message");
            let state = self.peers.entry(from.peer.clone()).or_default();
            self.doc
                .sync()
                .receive_sync_message(state, message)
                .expect("automerge takes it");
            owed.insert(from.peer.clone());
        }
        let heads = self.doc.get_heads();
        if heads != self.persisted {
            std::hint::black_box(self.doc.save_after(&self.persisted));
            self.chunks += 1;
            if self.chunks >= self.snapshot_every {
                let options = SaveOptions {
                    deflate: true,
                    retain_orphans: false,
                };
                std::hint::black_box(self.doc.save_with_options(options));
                self.chunks = 0;
            }
            self.persisted = heads.clone();
        }
        let targets: Vec<PeerId> = if heads != before {
            self.peers.keys().cloned().collect()
        } else {
            owed.into_iter().collect()
        };
        let mut generated = 0;
        for peer in targets {
            let state = self.peers.get_mut(&peer).expect("a peer");
            if let Some(message) = self.doc.sync().generate_sync_message(state) {
                std::hint::black_box(message.encode());
                generated += 1;
            }
        }
        generated
    }
}

/// Replays `traffic` with the automerge crate alone, as [`hub`] does with the hub.
pub fn bare(config: &Arc<HubConfig>, traffic: &Traffic) -> (usize, Took) {
    let mut doc = AutoCommit::load(&traffic.stored).expect("the stored run");
    let persisted = doc.get_heads();
    let mut bare = Bare {
        doc,
        peers: BTreeMap::new(),
        persisted,
        chunks: 0,
        snapshot_every: config.snapshot_interval_events,
    };
    for batch in &traffic.joining {
        bare.batch(batch);
    }
    let mut generated = 0;
    let took = measure(|| {
        for batch in &traffic.writing {
            generated += bare.batch(batch);
        }
    });
    (generated, took)
}
