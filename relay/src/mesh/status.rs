//! Mesh status as `GET /api/crdt/mesh/status` reports it.

use runmesh_core::sync::PeerId;
use serde_json::{Value, json};

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

impl Mesh {
    /// The catch-up of the link to `peer`: runs found to differ, offered and in step,
    /// still to go, and the rate.
    fn catch_up(&self, peer: &PeerId) -> Option<Value> {
        let progress = self.docs.catch_ups().progress(peer)?;
        Some(json!({
            "runsToSync": progress.counts.queued,
            "synced": progress.counts.synced,
            "unsettled": progress.counts.unsettled,
            "pending": progress.counts.pending(),
            "runsPerSecond": (progress.rate() * 10.0).round() / 10.0,
        }))
    }

    /// Region, status, and per peer: URL, region, connected, since, last message and
    /// how many runs have heads that differ from ours.
    pub fn status(&self) -> Value {
        let region = &self.region;
        let links = self.lock();
        let mut peers: Vec<Value> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for dialer in self.dialer_status().iter() {
            let link = dialer.peer.as_ref().and_then(|p| links.get(p));
            if let Some(p) = &dialer.peer {
                seen.insert(p.clone());
            }
            peers.push(json!({
                "url": dialer.url,
                "direction": "outbound",
                "peerId": dialer.peer,
                "region": link.map(|l| l.region.clone()).or_else(|| dialer.region.clone()),
                "connected": link.is_some(),
                "since": link.map(|l| l.since),
                "lastMessage": link.and_then(|l| l.link.last_heard()),
                "divergentRuns": link.map(|l| self.divergence.count(&l.link.link.peer)),
                "catchUp": link.and_then(|l| self.catch_up(l.link.peer())),
                "failedAttempts": dialer.attempts,
                "lastError": dialer.last_error,
            }));
        }
        for (peer, link) in links.iter().filter(|(p, _)| !seen.contains(p)) {
            peers.push(json!({
                "url": link.url,
                "direction": "inbound",
                "peerId": peer,
                "region": link.region,
                "connected": true,
                "since": link.since,
                "lastMessage": link.link.last_heard(),
                "divergentRuns": self.divergence.count(peer),
                "catchUp": self.catch_up(peer),
            }));
        }
        let connected = links.len();
        let configured = self.dialer_status().len();
        let status = if configured > 0 && connected == 0 {
            "isolated"
        } else {
            "active"
        };
        json!({ "region": region, "status": status, "connectedPeers": connected, "peers": peers })
    }
}
