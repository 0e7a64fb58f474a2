//! The regional mesh: links to relays in other regions, in both directions.
//!
//! Every relay dials each URL in `CRDT_MESH_PEERS` ([`dialer`]); a relay that dials us
//! says its region in `join`, which makes its session a mesh link too. The live links
//! flow down to every run task through a watch channel (tasks attach them to their runs
//! as they load or appear). On every new link the relay that dialled starts reconciling
//! the two relays' stored runs by digest (`runs/reconcile.rs`), and each side offers the
//! runs the other lacks or holds differently, a few at a time; runs loaded in memory
//! sync on the link at once.

pub(crate) mod dialer;
mod offer;
mod status;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use prometheus_client::metrics::counter::Counter;
use runmesh_core::node::{LinkUp, MeshPeers};
use runmesh_core::sync::{PeerId, PeerMetadata};
use tokio::sync::watch;

use crate::metrics::Metrics;
use crate::runs::{Divergence, Documents, MeshLinks, PeerLink};
pub use offer::offer_all;
pub use status::PeerStatus;

/// Which relay opened a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dialled {
    /// We dialled this URL.
    ByUs {
        /// The URL from `CRDT_MESH_PEERS`.
        url: String,
    },
    /// The peer dialled us.
    ByThem,
}

/// The mesh's shared state.
#[derive(Debug)]
pub struct Mesh {
    region: String,
    links: Mutex<MeshPeers<PeerLink>>,
    /// One entry per configured URL, updated by its dialer.
    dialers: Mutex<Vec<PeerStatus>>,
    /// The live links, for every run task.
    live: watch::Sender<MeshLinks>,
    docs: Documents,
    divergence: Divergence,
    metrics: Arc<Metrics>,
}

impl Mesh {
    /// The mesh of the relay `me` in `region`, publishing its links on `live`.
    pub fn new(
        me: PeerId,
        region: String,
        live: watch::Sender<MeshLinks>,
        docs: Documents,
        divergence: Divergence,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            links: Mutex::new(MeshPeers::new(me)),
            region,
            dialers: Mutex::new(Vec::new()),
            live,
            docs,
            divergence,
            metrics,
        }
    }

    /// What this relay says about itself in `join` and `peer`.
    pub fn metadata(&self) -> PeerMetadata {
        PeerMetadata {
            storage_id: None,
            is_ephemeral: false,
            region: Some(self.region.clone()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, MeshPeers<PeerLink>> {
        self.links.lock().expect("mesh lock is never poisoned")
    }

    /// A mesh link came up: remember it, tell the run tasks, and offer it every run.
    /// Returns `false` if it duplicates a live link to the same relay and lost the
    /// tie-break ([`replaces`]); the caller closes it.
    pub fn link_up(&self, link: PeerLink, region: String, dialled: Dialled) -> bool {
        let url = match dialled {
            Dialled::ByUs { url } => Some(url),
            Dialled::ByThem => None,
        };
        let since = crate::runs::epoch_millis();
        let mut links = self.lock();
        let peer = link.peer().clone();
        let session = link.link.session;
        match links.link_up(peer, session, url, region, since, link.clone()) {
            LinkUp::Refused => return false,
            LinkUp::Replaced(old) => {
                tracing::info!(peer = %link.peer(), "CRDT mesh: replacing a duplicate link");
                old.link.close.cancel();
            }
            LinkUp::Added => self.metrics.mesh_peers(1),
        }
        self.publish(&links);
        let reconciles = links.reconciles(link.peer());
        drop(links);
        if reconciles {
            let docs = self.docs.clone();
            tokio::spawn(async move { docs.start_reconcile(&link).await });
        }
        true
    }

    /// A mesh link went down (ignored if that peer has a newer link).
    pub fn link_down(&self, link: &PeerLink) {
        let mut links = self.lock();
        if links.link_down(link.peer(), link.link.session) {
            self.metrics.mesh_peers(-1);
            self.docs
                .reconciler()
                .link_down(link.peer(), link.link.session);
            self.divergence.forget(link.peer());
            self.publish(&links);
        }
    }

    fn publish(&self, links: &MeshPeers<PeerLink>) {
        let live: Vec<PeerLink> = links.iter().map(|(_, l)| l.link.clone()).collect();
        self.live.send_replace(Arc::new(live));
    }

    /// Whether a live link to `peer` exists.
    pub fn has_peer(&self, peer: &PeerId) -> bool {
        self.lock().has_peer(peer)
    }

    /// Mesh links to relays in `region`, with the URL we dialled, if we did.
    pub fn links_in(&self, region: &str) -> Vec<(PeerLink, Option<String>)> {
        self.lock()
            .iter()
            .map(|(_, l)| l)
            .filter(|l| l.region == region)
            .map(|l| (l.link.clone(), l.url.clone()))
            .collect()
    }

    /// The runs, for offering them to a link.
    pub fn docs(&self) -> &Documents {
        &self.docs
    }

    /// Sets the replication lag per peer region: how long the oldest unresolved
    /// difference with a connected peer there has lasted (0 when in step).
    pub fn record_lag(&self) {
        let mut lag: HashMap<String, f64> = HashMap::new();
        for (_, link) in self.lock().iter() {
            let seconds = self
                .divergence
                .oldest(link.link.peer())
                .map_or(0.0, |since| since.elapsed().as_secs_f64());
            let worst = lag.entry(link.region.clone()).or_default();
            *worst = worst.max(seconds);
        }
        for (region, seconds) in lag {
            self.metrics.replication_lag(&region, seconds);
        }
        self.metrics
            .catch_up_pending(self.docs.reconciler().pending());
    }

    /// The counters of bytes to and from mesh peers in `region`.
    pub fn traffic(&self, region: &str) -> (Counter, Counter) {
        self.metrics.mesh_traffic(region)
    }

    /// A configured peer URL's link went up or down.
    pub(crate) fn dialer_up(&self, url: &str, up: bool) {
        self.metrics.peer_up(url, up);
    }

    pub(crate) fn dialer_status(&self) -> MutexGuard<'_, Vec<PeerStatus>> {
        self.dialers.lock().expect("mesh lock is never poisoned")
    }
}
