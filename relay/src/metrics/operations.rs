//! The metrics operators alert on beyond the spec's: HTTP requests by route template and
//! status with their latency, storage latency and failures, and per mesh peer region the
//! bytes exchanged and the replication lag. Every label has a bounded set of values: route
//! templates (any path no route matched is `(other)`), the standard methods (any other is
//! `OTHER`: each made-up method used to add ~20 series, and 4,000 requests grew the page
//! from 10 KB to 8.9 MB), statuses, and the regions of configured or connected peers.

use axum::http::Method;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::metrics::Region;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct Request {
    region: String,
    route: String,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct Route {
    region: String,
    route: String,
    method: &'static str,
}

/// The label of any path no route matched.
pub const OTHER_ROUTE: &str = "(other)";

/// `method` as a label: one of the standard methods, or `OTHER`.
fn method_label(method: &Method) -> &'static str {
    const KNOWN: [Method; 9] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ];
    KNOWN
        .iter()
        .find(|known| *known == method)
        .map_or("OTHER", Method::as_str)
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct Peer {
    region: String,
    peer_region: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct Dialed {
    region: String,
    url: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency() -> Histogram {
    // 0.5 ms to ~16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// The families, registered once.
#[derive(Debug)]
pub(crate) struct Operations {
    pub requests: Family<Request, Counter>,
    pub request_seconds: Histograms<Route>,
    pub append_seconds: Histograms<Region>,
    pub snapshot_seconds: Histograms<Region>,
    pub store_failures: Family<Region, Counter>,
    pub fanned_out: Family<Region, Counter>,
    pub bytes_sent: Family<Peer, Counter>,
    pub bytes_received: Family<Peer, Counter>,
    pub lag_seconds: Family<Peer, Gauge<f64, std::sync::atomic::AtomicU64>>,
    /// Per peer region, how long the oldest change stored here has not been known to be
    /// stored there.
    pub unreplicated_seconds: Family<Peer, Gauge<f64, std::sync::atomic::AtomicU64>>,
    pub peer_up: Family<Dialed, Gauge>,
}

impl Operations {
    pub(crate) fn register(registry: &mut Registry, region: &Region) -> Self {
        let ops = Self {
            requests: Family::default(),
            request_seconds: Family::new_with_constructor(latency),
            append_seconds: Family::new_with_constructor(latency),
            snapshot_seconds: Family::new_with_constructor(latency),
            store_failures: Family::default(),
            fanned_out: Family::default(),
            bytes_sent: Family::default(),
            bytes_received: Family::default(),
            lag_seconds: Family::default(),
            unreplicated_seconds: Family::default(),
            peer_up: Family::default(),
        };
        registry.register(
            "runmesh_http_requests",
            "HTTP requests by route template, method and status",
            ops.requests.clone(),
        );
        registry.register(
            "runmesh_http_request_duration_seconds",
            "Time to answer HTTP requests, by route template and method",
            ops.request_seconds.clone(),
        );
        registry.register(
            "runmesh_store_append_duration_seconds",
            "Time to append and sync a chunk of changes",
            ops.append_seconds.clone(),
        );
        registry.register(
            "runmesh_store_snapshot_duration_seconds",
            "Time to write and sync a snapshot",
            ops.snapshot_seconds.clone(),
        );
        registry.register(
            "runmesh_store_failures",
            "Writes the store refused (their changes were answered with an error)",
            ops.store_failures.clone(),
        );
        registry.register(
            "runmesh_store_fanout_events",
            "Events other relays on the same database appended, read and passed on",
            ops.fanned_out.clone(),
        );
        registry.register(
            "runmesh_mesh_sent_bytes",
            "Bytes sent to mesh peers, by their region",
            ops.bytes_sent.clone(),
        );
        registry.register(
            "runmesh_mesh_received_bytes",
            "Bytes received from mesh peers, by their region",
            ops.bytes_received.clone(),
        );
        registry.register(
            "runmesh_mesh_replication_lag_seconds",
            "How long the oldest difference with a connected mesh peer has been unresolved",
            ops.lag_seconds.clone(),
        );
        registry.register(
            "runmesh_mesh_unreplicated_age_seconds",
            "How long the oldest change stored here has not been known to be stored in a peer region",
            ops.unreplicated_seconds.clone(),
        );
        registry.register(
            "runmesh_mesh_peer_up",
            "Whether the link to a configured mesh peer URL is up",
            ops.peer_up.clone(),
        );
        let _ = ops.store_failures.get_or_create(region);
        let _ = ops.fanned_out.get_or_create(region);
        ops
    }
}

impl super::Metrics {
    /// An HTTP request to `route` (the template a route matched, such as
    /// `/app/runs/{run_id}/graft`; none: no route matched) was answered with `status`
    /// after `seconds`.
    pub fn http_request(&self, route: Option<&str>, method: &Method, status: u16, seconds: f64) {
        let region = self.region.region.clone();
        let labels = Request {
            region: region.clone(),
            route: route.unwrap_or(OTHER_ROUTE).to_owned(),
            method: method_label(method),
            status,
        };
        self.ops.requests.get_or_create(&labels).inc();
        let route = Route {
            region,
            route: labels.route,
            method: labels.method,
        };
        self.ops
            .request_seconds
            .get_or_create(&route)
            .observe(seconds);
    }

    /// An append took `seconds`.
    pub fn store_append(&self, seconds: f64) {
        self.ops
            .append_seconds
            .get_or_create(&self.region)
            .observe(seconds);
    }

    /// A snapshot took `seconds`.
    pub fn store_snapshot(&self, seconds: f64) {
        self.ops
            .snapshot_seconds
            .get_or_create(&self.region)
            .observe(seconds);
    }

    /// Events other relays appended to the shared store, read to pass on.
    pub fn fanned_out(&self, events: usize) {
        self.ops
            .fanned_out
            .get_or_create(&self.region)
            .inc_by(events as u64);
    }

    /// The store refused a write.
    pub fn store_failure(&self) {
        self.ops.store_failures.get_or_create(&self.region).inc();
    }

    fn peer(&self, peer_region: &str) -> Peer {
        Peer {
            region: self.region.region.clone(),
            peer_region: peer_region.to_owned(),
        }
    }

    /// The counters of bytes sent to and received from mesh peers in `peer_region`.
    pub fn mesh_traffic(&self, peer_region: &str) -> (Counter, Counter) {
        let peer = self.peer(peer_region);
        (
            self.ops.bytes_sent.get_or_create(&peer).clone(),
            self.ops.bytes_received.get_or_create(&peer).clone(),
        )
    }

    /// The replication lag to mesh peers in `peer_region`.
    pub fn replication_lag(&self, peer_region: &str, seconds: f64) {
        self.ops
            .lag_seconds
            .get_or_create(&self.peer(peer_region))
            .set(seconds);
    }

    /// How long the oldest change stored here has not been known to be stored in
    /// `peer_region`.
    pub fn unreplicated_age(&self, peer_region: &str, seconds: f64) {
        self.ops
            .unreplicated_seconds
            .get_or_create(&self.peer(peer_region))
            .set(seconds);
    }

    /// Whether the link to configured peer `url` is up.
    pub fn peer_up(&self, url: &str, up: bool) {
        let dialed = Dialed {
            region: self.region.region.clone(),
            url: url.to_owned(),
        };
        self.ops.peer_up.get_or_create(&dialed).set(i64::from(up));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{LamportSeries, Metrics};

    fn series(m: &Metrics) -> usize {
        m.render().lines().filter(|l| !l.starts_with('#')).count()
    }

    #[test]
    fn made_up_methods_and_unmatched_paths_fold_into_one_label_each() {
        let m = Metrics::new("eu", LamportSeries::Highest);
        let made_up = |i: usize| Method::from_bytes(format!("MADEUP{i}").as_bytes()).unwrap();
        m.http_request(None, &made_up(0), 404, 0.001);
        m.http_request(Some("/api/crdt/runs"), &made_up(0), 405, 0.001);
        let once = series(&m);
        for i in 1..500 {
            m.http_request(None, &made_up(i), 404, 0.001);
            m.http_request(Some("/api/crdt/runs"), &made_up(i), 405, 0.001);
        }
        assert_eq!(series(&m), once, "499 more made-up methods added series");
        let text = m.render();
        assert!(
            text.contains("route=\"(other)\",method=\"OTHER\""),
            "{text}"
        );
        assert!(!text.contains("MADEUP"), "{text}");
    }
}
