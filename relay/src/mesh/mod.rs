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
use std::time::SystemTime;

use prometheus_client::metrics::counter::Counter;
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

#[derive(Debug)]
struct MeshLink {
    link: PeerLink,
    /// The relay that dialled this link.
    dialer: PeerId,
    region: String,
    url: Option<String>,
    since: SystemTime,
}

/// The mesh's shared state.
#[derive(Debug)]
pub struct Mesh {
    me: PeerId,
    region: String,
    links: Mutex<HashMap<PeerId, MeshLink>>,
    /// One entry per configured URL, updated by its dialer.
    dialers: Mutex<Vec<PeerStatus>>,
    /// The live links, for every run task.
    live: watch::Sender<MeshLinks>,
    docs: Documents,
    divergence: Divergence,
    metrics: Arc<Metrics>,
}

/// Whether a new link to a relay we already have a link to replaces the old one. Two
/// relays that dial each other would otherwise sync every change twice: both sides keep
/// the link dialled by the relay with the smaller peer id (and, between two links dialled
/// by the same side, the newer one), so they agree without talking.
fn replaces(me: &PeerId, peer: &PeerId, old_dialer: &PeerId, new_dialer: &PeerId) -> bool {
    let preferred = if me < peer { me } else { peer };
    new_dialer == old_dialer || new_dialer == preferred
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
            me,
            region,
            links: Mutex::new(HashMap::new()),
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

    fn lock(&self) -> MutexGuard<'_, HashMap<PeerId, MeshLink>> {
        self.links.lock().expect("mesh lock is never poisoned")
    }

    /// A mesh link came up: remember it, tell the run tasks, and offer it every run.
    /// Returns `false` if it duplicates a live link to the same relay and lost the
    /// tie-break ([`replaces`]); the caller closes it.
    pub fn link_up(&self, link: PeerLink, region: String, dialled: Dialled) -> bool {
        let (dialer, url) = match dialled {
            Dialled::ByUs { url } => (self.me.clone(), Some(url)),
            Dialled::ByThem => (link.peer().clone(), None),
        };
        let we_dialled = url.is_some();
        let mut links = self.lock();
        if let Some(existing) = links.get(link.peer()) {
            if !replaces(&self.me, link.peer(), &existing.dialer, &dialer) {
                return false;
            }
            tracing::info!(peer = %link.peer(), "CRDT mesh: replacing a duplicate link");
            existing.link.close.cancel();
        } else {
            self.metrics.mesh_peers(1);
        }
        let entry = MeshLink {
            link: link.clone(),
            dialer,
            region,
            url,
            since: SystemTime::now(),
        };
        links.insert(link.peer().clone(), entry);
        self.publish(&links);
        drop(links);
        // The dialler starts reconciling; both sides then offer what the other lacks.
        if we_dialled {
            let docs = self.docs.clone();
            tokio::spawn(async move { docs.start_reconcile(&link).await });
        }
        true
    }

    /// A mesh link went down (ignored if that peer has a newer link).
    pub fn link_down(&self, link: &PeerLink) {
        let mut links = self.lock();
        if links
            .get(link.peer())
            .is_some_and(|l| l.link.link.session == link.link.session)
        {
            links.remove(link.peer());
            self.metrics.mesh_peers(-1);
            self.docs.catch_ups().forget(link.peer(), link.link.session);
            self.divergence.forget(link.peer());
            self.publish(&links);
        }
    }

    fn publish(&self, links: &HashMap<PeerId, MeshLink>) {
        let live: Vec<PeerLink> = links.values().map(|l| l.link.clone()).collect();
        self.live.send_replace(Arc::new(live));
    }

    /// Whether a live link to `peer` exists.
    pub fn has_peer(&self, peer: &PeerId) -> bool {
        self.lock().contains_key(peer)
    }

    /// Mesh links to relays in `region`, with the URL we dialled, if we did.
    pub fn links_in(&self, region: &str) -> Vec<(PeerLink, Option<String>)> {
        self.lock()
            .values()
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
        for link in self.lock().values() {
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
            .catch_up_pending(self.docs.catch_ups().pending());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_keep_the_link_the_smaller_peer_id_dialled() {
        let (a, b) = (PeerId::from("a"), PeerId::from("b"));
        // At a: a link b dialled, then one a dialled (a is smaller): a's wins.
        assert!(replaces(&a, &b, &b, &a));
        // At b: a link b dialled, then one a dialled: the same, a's wins.
        assert!(replaces(&b, &a, &b, &a));
        // The other order: a's link stays, b's loses, on both sides.
        assert!(!replaces(&a, &b, &a, &b));
        assert!(!replaces(&b, &a, &a, &b));
        // A redial by the same side replaces its old link.
        assert!(replaces(&a, &b, &b, &b));
    }
}
