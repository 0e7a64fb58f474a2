//! Mesh status as `GET /api/crdt/mesh/status` reports it.

use runmesh_core::sync::PeerId;
use serde::Serialize;

use crate::mesh::Mesh;

/// A configured peer URL, as its dialer last saw it.
#[derive(Debug, Clone)]
pub struct PeerStatus {
    /// The URL dialled.
    pub url: String,
    /// The relay at the other end, while connected.
    pub peer: Option<PeerId>,
    /// Its region, once known.
    pub region: Option<String>,
    /// Failed attempts since the last success.
    pub attempts: u32,
    /// The last error, if the last attempt failed.
    pub last_error: Option<String>,
}

/// `GET /api/crdt/mesh/status`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MeshStatus<'a> {
    pub region: &'a str,
    /// `isolated` when peers are configured and none is connected, else `active`.
    pub status: &'static str,
    pub connected_peers: usize,
    pub peers: Vec<PeerReport>,
    /// This relay's peer id (the HTTP handler fills it in).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer_id: Option<PeerId>,
    /// Runs in memory (the HTTP handler fills it in).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runs_loaded: Option<usize>,
}

/// One peer: a configured URL (outbound) or a relay that dialled us (inbound).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerReport {
    pub url: Option<String>,
    pub direction: &'static str,
    pub peer_id: Option<PeerId>,
    pub region: Option<String>,
    pub connected: bool,
    pub since: Option<u64>,
    pub last_message: Option<u64>,
    /// Runs whose heads differ from ours, while connected.
    pub divergent_runs: Option<usize>,
    pub catch_up: Option<CatchUpReport>,
    /// An outbound peer's dialer.
    #[serde(flatten)]
    pub dialer: Option<DialerReport>,
}

/// How dialling a configured peer went.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DialerReport {
    pub failed_attempts: u32,
    pub last_error: Option<String>,
}

/// A link's catch-up.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CatchUpReport {
    pub runs_to_sync: u64,
    pub synced: u64,
    pub unsettled: u64,
    pub pending: u64,
    pub runs_per_second: f64,
}

impl Mesh {
    /// The catch-up of the link to `peer`: runs found to differ, offered and in step,
    /// still to go, and the rate.
    fn catch_up(&self, peer: &PeerId) -> Option<CatchUpReport> {
        let progress = self.docs.reconciler().progress(peer)?;
        Some(CatchUpReport {
            runs_to_sync: progress.counts.queued,
            synced: progress.counts.synced,
            unsettled: progress.counts.unsettled,
            pending: progress.counts.pending(),
            runs_per_second: (progress.rate() * 10.0).round() / 10.0,
        })
    }

    /// Region, status, and per peer: URL, region, connected, since, last message and
    /// how many runs have heads that differ from ours.
    pub fn status(&self) -> MeshStatus<'_> {
        // A copy: the catch-up's progress below takes the same lock.
        let links: std::collections::BTreeMap<_, _> = self.docs().reconciler().peers(|links| {
            links
                .iter()
                .map(|(peer, link)| (peer.clone(), link.clone()))
                .collect()
        });
        let mut peers = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for dialer in self.dialer_status().iter() {
            let link = dialer.peer.as_ref().and_then(|p| links.get(p));
            if let Some(p) = &dialer.peer {
                seen.insert(p.clone());
            }
            peers.push(PeerReport {
                url: Some(dialer.url.clone()),
                direction: "outbound",
                peer_id: dialer.peer.clone(),
                region: link
                    .map(|l| l.region.clone())
                    .or_else(|| dialer.region.clone()),
                connected: link.is_some(),
                since: link.map(|l| l.since),
                last_message: link.and_then(|l| l.link.last_heard()),
                divergent_runs: link.map(|l| self.divergence.count(&l.link.link.peer)),
                catch_up: link.and_then(|l| self.catch_up(l.link.peer())),
                dialer: Some(DialerReport {
                    failed_attempts: dialer.attempts,
                    last_error: dialer.last_error.clone(),
                }),
            });
        }
        for (peer, link) in links.iter().filter(|(p, _)| !seen.contains(p)) {
            peers.push(PeerReport {
                url: link.url.clone(),
                direction: "inbound",
                peer_id: Some(peer.clone()),
                region: Some(link.region.clone()),
                connected: true,
                since: Some(link.since),
                last_message: link.link.last_heard(),
                divergent_runs: Some(self.divergence.count(peer)),
                catch_up: self.catch_up(peer),
                dialer: None,
            });
        }
        let connected = links.len();
        let configured = self.dialer_status().len();
        let status = if configured > 0 && connected == 0 {
            "isolated"
        } else {
            "active"
        };
        MeshStatus {
            region: &self.region,
            status,
            connected_peers: connected,
            peers,
            peer_id: None,
            runs_loaded: None,
        }
    }
}
