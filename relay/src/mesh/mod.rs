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
use runmesh_core::node::{Joined, MeshPeers, NewLink};
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

/// The mesh's shared state. Its links are core's `RelayMesh`, with the reconciliation
/// over them, behind the relay's one [`crate::runs::Reconciler`].
#[derive(Debug)]
pub struct Mesh {
    region: String,
    /// One entry per configured URL, updated by its dialer.
    dialers: Mutex<Vec<PeerStatus>>,
    /// The live links, for every run task.
    live: watch::Sender<MeshLinks>,
    docs: Documents,
    divergence: Divergence,
    metrics: Arc<Metrics>,
}

impl Mesh {
    /// The mesh of this relay in `region`, publishing its links on `live`.
    pub fn new(
        region: String,
        live: watch::Sender<MeshLinks>,
        docs: Documents,
        divergence: Divergence,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
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

    /// A mesh link came up: core's [`RelayMesh`](runmesh_core::node::RelayMesh) keeps it
    /// or not (the tie-break), and says whether to start reconciling; the run tasks hear
    /// of it. Returns `false` if it duplicates a live link to the same relay and lost the
    /// tie-break; the caller closes it.
    pub fn link_up(&self, link: PeerLink, region: String, dialled: Dialled) -> bool {
        let url = match dialled {
            Dialled::ByUs { url } => Some(url),
            Dialled::ByThem => None,
        };
        let new = NewLink {
            peer: link.peer().clone(),
            session: link.link.session,
            url,
            region,
            since: crate::runs::epoch_millis(),
            link: link.clone(),
        };
        let joined = self
            .docs
            .reconciler()
            .link_up(new, |links| self.publish(links));
        let Joined::Up {
            replaced,
            first_digest,
        } = joined
        else {
            return false;
        };
        self.docs.env().reach.link_up(link.clone());
        match replaced {
            Some(old) => {
                tracing::info!(peer = %link.peer(), "CRDT mesh: replacing a duplicate link");
                old.link.close.cancel();
            }
            None => self.metrics.mesh_peers(1),
        }
        if let Some(first) = first_digest {
            let docs = self.docs.clone();
            tokio::spawn(async move { docs.start_reconcile(&link, &first).await });
        }
        true
    }

    /// A mesh link went down (ignored if that peer has a newer link).
    pub fn link_down(&self, link: &PeerLink) {
        let reconciler = self.docs.reconciler();
        if reconciler.link_down(link.peer(), link.link.session, |links| self.publish(links)) {
            self.metrics.mesh_peers(-1);
            self.divergence.forget(link.peer());
            self.docs.env().reach.link_down(link.peer());
        }
    }

    fn publish(&self, links: &MeshPeers<PeerLink>) {
        let live: Vec<PeerLink> = links.iter().map(|(_, l)| l.link.clone()).collect();
        self.live.send_replace(Arc::new(live));
    }

    /// Whether a live link to `peer` exists.
    pub fn has_peer(&self, peer: &PeerId) -> bool {
        self.docs.reconciler().peers(|links| links.has_peer(peer))
    }

    /// Mesh links to relays in `region`, with the URL we dialled, if we did.
    pub fn links_in(&self, region: &str) -> Vec<(PeerLink, Option<String>)> {
        self.docs.reconciler().peers(|links| {
            links
                .iter()
                .map(|(_, l)| l)
                .filter(|l| l.region == region)
                .map(|l| (l.link.clone(), l.url.clone()))
                .collect()
        })
    }

    /// The runs, for offering them to a link.
    pub fn docs(&self) -> &Documents {
        &self.docs
    }

    /// Sets the replication lag per peer region: how long the oldest unresolved
    /// difference with a connected peer there has lasted (0 when in step); and how long
    /// the oldest change stored here has not been known to be stored there, linked or not
    /// (core's `ReachTable::unreplicated`).
    pub fn record_lag(&self) {
        let links: Vec<(PeerId, String)> = self.docs.reconciler().peers(|links| {
            links
                .iter()
                .map(|(peer, l)| (peer.clone(), l.region.clone()))
                .collect()
        });
        let mut lag: HashMap<String, f64> = HashMap::new();
        for (peer, region) in links {
            let seconds = self
                .divergence
                .oldest(&peer)
                .map_or(0.0, |since| since.elapsed().as_secs_f64());
            let worst = lag.entry(region).or_default();
            *worst = worst.max(seconds);
        }
        for (region, seconds) in lag {
            self.metrics.replication_lag(&region, seconds);
        }
        self.metrics
            .catch_up_pending(self.docs.reconciler().pending());
        let now = self.docs.env().now();
        for (region, age) in self.docs.env().reach.unreplicated(now) {
            self.metrics.unreplicated_age(&region, age as f64 / 1000.0);
        }
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
