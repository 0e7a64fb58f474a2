//! The regional mesh: links to relays in other regions, in both directions.
//!
//! Every relay dials each URL in `CRDT_MESH_PEERS` ([`dialer`]); a relay that dials us
//! says its region in `join`, which makes its session a mesh link too. On every new link
//! the relay offers it every run it stores (the sync protocol sends only what the other
//! side lacks); after that, document tasks forward changes to mesh links like to any
//! peer, and attach mesh links to runs as they load or appear.

pub(crate) mod dialer;
mod status;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use runmesh_core::DocumentId;
use runmesh_core::sync::{PeerId, PeerMetadata};

use crate::docs::{DocCmd, DocContext, PeerLink};
pub use status::PeerStatus;

#[derive(Debug)]
struct MeshLink {
    link: PeerLink,
    /// The relay that dialled this link.
    dialer: PeerId,
    region: String,
    url: Option<String>,
    since: SystemTime,
    last_message: Option<SystemTime>,
    /// Runs whose heads on this peer differ from ours, as its last sync said.
    divergent: HashSet<DocumentId>,
}

/// The mesh's shared state.
#[derive(Debug, Default)]
pub struct Mesh {
    links: Mutex<HashMap<PeerId, MeshLink>>,
    /// One entry per configured URL, updated by its dialer.
    dialers: Mutex<Vec<PeerStatus>>,
}

impl Mesh {
    /// What this relay says about itself in `join` and `peer`.
    pub fn metadata(&self, ctx: &DocContext) -> PeerMetadata {
        PeerMetadata {
            storage_id: None,
            is_ephemeral: false,
            region: Some(ctx.config.region.clone()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PeerId, MeshLink>> {
        self.links.lock().expect("mesh lock is never poisoned")
    }

    /// A mesh link came up: remember it and offer it every run. Returns `false` if it
    /// duplicates a live link to the same relay and lost the tie-break, in which case
    /// the caller closes it.
    ///
    /// Two relays that dial each other would otherwise sync every change twice. Both
    /// sides keep the link dialled by the relay with the smaller peer id (and, between
    /// two links dialled by the same side, the newer one), so they agree without talking.
    pub fn link_up(
        &self,
        ctx: &Arc<DocContext>,
        link: PeerLink,
        region: String,
        url: Option<String>,
        outbound: bool,
    ) -> bool {
        let dialer = if outbound {
            ctx.me.clone()
        } else {
            link.peer.clone()
        };
        let mut links = self.lock();
        if let Some(existing) = links.get(&link.peer) {
            let preferred = if ctx.me < link.peer {
                &ctx.me
            } else {
                &link.peer
            };
            if dialer != existing.dialer && &dialer != preferred {
                return false;
            }
            tracing::info!(peer = %link.peer, "replacing a duplicate mesh link");
            existing.link.close.cancel();
        } else {
            ctx.metrics.mesh_peers(1);
        }
        links.insert(
            link.peer.clone(),
            MeshLink {
                link: link.clone(),
                dialer,
                region,
                url,
                since: SystemTime::now(),
                last_message: None,
                divergent: HashSet::new(),
            },
        );
        drop(links);
        tokio::spawn(offer_all(ctx.clone(), link));
        true
    }

    /// A mesh link went down (ignored if that peer has a newer link).
    pub fn link_down(&self, ctx: &DocContext, link: &PeerLink) {
        let mut links = self.lock();
        if links
            .get(&link.peer)
            .is_some_and(|l| l.link.session == link.session)
        {
            links.remove(&link.peer);
            ctx.metrics.mesh_peers(-1);
        }
    }

    /// Whether a live link to `peer` exists.
    pub fn has_peer(&self, peer: &PeerId) -> bool {
        self.lock().contains_key(peer)
    }

    /// Every live mesh link.
    pub fn links(&self) -> Vec<PeerLink> {
        self.lock().values().map(|l| l.link.clone()).collect()
    }

    /// Mesh links to relays in `region`.
    pub fn links_in(&self, region: &str) -> Vec<(PeerLink, Option<String>)> {
        self.lock()
            .values()
            .filter(|l| l.region == region)
            .map(|l| (l.link.clone(), l.url.clone()))
            .collect()
    }

    /// A frame arrived from `peer` (no-op for peers that are not mesh links).
    pub fn touch(&self, peer: &PeerId) {
        if let Some(link) = self.lock().get_mut(peer) {
            link.last_message = Some(SystemTime::now());
        }
    }

    /// Records whether `peer` has the same heads as we do for `doc`.
    pub fn set_divergent(&self, peer: &PeerId, doc: DocumentId, divergent: bool) {
        if let Some(link) = self.lock().get_mut(peer) {
            if divergent {
                link.divergent.insert(doc);
            } else {
                link.divergent.remove(&doc);
            }
        }
    }

    pub(crate) fn dialer_status(&self) -> std::sync::MutexGuard<'_, Vec<PeerStatus>> {
        self.dialers.lock().expect("mesh lock is never poisoned")
    }
}

/// Offers every stored or loaded run to a mesh link (a full sync: only what it lacks
/// travels). `Offer` also resets that link's sync session, so this forces a resync.
pub async fn offer_all(ctx: Arc<DocContext>, link: PeerLink) {
    let store = ctx.store.clone();
    let mut docs: HashSet<DocumentId> =
        match tokio::task::spawn_blocking(move || store.list()).await {
            Ok(Ok(docs)) => docs.into_iter().collect(),
            _ => {
                tracing::error!("could not list stored runs to offer a mesh peer");
                HashSet::new()
            }
        };
    docs.extend(ctx.registry.loaded());
    tracing::info!(peer = %link.peer, runs = docs.len(), "offering runs to a mesh peer");
    for doc in docs {
        if link.close.is_cancelled() {
            return;
        }
        ctx.registry
            .send(&ctx, doc, DocCmd::Offer { to: link.clone() })
            .await;
    }
}
