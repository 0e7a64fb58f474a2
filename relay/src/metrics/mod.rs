//! Prometheus metrics with the spec's names, each labelled by region, and the
//! operational ones (`operations.rs`).
//!
//! Label cardinality is bounded: `region` has one value per relay. Run ids are labels
//! only if the operator asks (`--metrics-run-labels`, [`LamportSeries::PerRun`]): then
//! `crdt_lamport_clock{run_id}` exists only for runs loaded in memory, at most
//! [`MAX_RUN_SERIES`] of them, and a run's series is removed when it is unloaded.
//! Otherwise `crdt_lamport_clock` is one series per relay, the highest clock it has seen.

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

mod memory;
mod operations;
mod traffic;

use memory::Memory;
use operations::Operations;
pub use traffic::FrameCounter;
use traffic::Traffic;

/// The most runs that get their own `crdt_lamport_clock` series.
pub const MAX_RUN_SERIES: usize = 1000;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct Region {
    region: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CatchUpSeries {
    region: String,
    /// `synced`, or `unsettled` (no news of being in step in time).
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunSeries {
    region: String,
    run_id: String,
}

/// How `crdt_lamport_clock` is exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LamportSeries {
    /// One series: the highest lamport clock of any run this relay has loaded.
    Highest,
    /// A series per loaded run, labelled with its id (at most [`MAX_RUN_SERIES`]).
    PerRun,
}

/// The relay's metrics.
#[derive(Debug)]
pub struct Metrics {
    region: Region,
    registry: Registry,
    lamport_series: LamportSeries,
    lamport_highest: Family<Region, Gauge<u64, AtomicU64>>,
    sync_messages: Family<Region, Counter>,
    sync_failures: Family<Region, Counter>,
    snapshot_size: Family<Region, Gauge>,
    mesh_peers: Family<Region, Gauge>,
    lamport: Family<RunSeries, Gauge<u64, AtomicU64>>,
    lamport_runs: Mutex<HashSet<String>>,
    runs_loaded: Family<Region, Gauge>,
    connections: Family<Region, Gauge>,
    malformed_frames: Family<Region, Counter>,
    rate_limited: Family<Region, Counter>,
    catch_up_pending: Family<Region, Gauge>,
    catch_up_runs: Family<CatchUpSeries, Counter>,
    ops: Operations,
    traffic: Traffic,
    memory: Memory,
}

impl Metrics {
    /// Metrics for a relay in `region`, exporting lamport clocks as `lamport_series` says.
    pub fn new(region: &str, lamport_series: LamportSeries) -> Self {
        let mut registry = Registry::default();
        let m = Self {
            region: Region {
                region: region.to_owned(),
            },
            registry: Registry::default(),
            lamport_series,
            lamport_highest: Family::default(),
            sync_messages: Family::default(),
            sync_failures: Family::default(),
            snapshot_size: Family::default(),
            mesh_peers: Family::default(),
            lamport: Family::default(),
            lamport_runs: Mutex::new(HashSet::new()),
            runs_loaded: Family::default(),
            connections: Family::default(),
            malformed_frames: Family::default(),
            rate_limited: Family::default(),
            catch_up_pending: Family::default(),
            catch_up_runs: Family::default(),
            ops: Operations::register(
                &mut registry,
                &Region {
                    region: region.to_owned(),
                },
            ),
            traffic: Traffic::register(
                &mut registry,
                &Region {
                    region: region.to_owned(),
                },
            ),
            memory: Memory::register(
                &mut registry,
                &Region {
                    region: region.to_owned(),
                },
            ),
        };
        registry.register(
            "crdt_sync_messages",
            "Sync messages sent and received",
            m.sync_messages.clone(),
        );
        registry.register(
            "crdt_sync_failures",
            "Sync messages that failed to decode or apply",
            m.sync_failures.clone(),
        );
        registry.register(
            "crdt_snapshot_size_bytes",
            "Size of the last snapshot written",
            m.snapshot_size.clone(),
        );
        registry.register(
            "crdt_mesh_peers_connected",
            "Mesh peers currently connected",
            m.mesh_peers.clone(),
        );
        match lamport_series {
            LamportSeries::PerRun => registry.register(
                "crdt_lamport_clock",
                "Lamport clock of each loaded run",
                m.lamport.clone(),
            ),
            LamportSeries::Highest => {
                registry.register(
                    "crdt_lamport_clock",
                    "Highest lamport clock of the runs this relay has loaded",
                    m.lamport_highest.clone(),
                );
                let _ = m.lamport_highest.get_or_create(&m.region);
            }
        }
        registry.register(
            "runmesh_runs_loaded",
            "Documents held in memory",
            m.runs_loaded.clone(),
        );
        registry.register(
            "runmesh_ws_connections",
            "Open WebSocket connections",
            m.connections.clone(),
        );
        registry.register(
            "runmesh_ws_malformed_frames",
            "Frames refused as malformed or oversized",
            m.malformed_frames.clone(),
        );
        registry.register(
            "runmesh_rate_limited",
            "Requests and change batches refused over a per-caller rate limit (changes, reads, forks)",
            m.rate_limited.clone(),
        );
        registry.register(
            "runmesh_mesh_catchup_pending",
            "Runs found to differ from a mesh peer and not yet offered and in step",
            m.catch_up_pending.clone(),
        );
        registry.register(
            "runmesh_mesh_catchup_runs",
            "Runs offered to mesh peers after reconciling, by outcome",
            m.catch_up_runs.clone(),
        );
        // Every series labelled only by region exists from start-up, at zero, so a
        // `rate()` or an absence alert sees it before its first sample.
        for family in [
            &m.sync_messages,
            &m.sync_failures,
            &m.malformed_frames,
            &m.rate_limited,
        ] {
            let _ = family.get_or_create(&m.region);
        }
        for family in [
            &m.snapshot_size,
            &m.mesh_peers,
            &m.runs_loaded,
            &m.connections,
            &m.catch_up_pending,
        ] {
            let _ = family.get_or_create(&m.region);
        }
        Self { registry, ..m }
    }

    /// Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }

    /// A sync message went in or out.
    pub fn sync_message(&self) {
        self.sync_messages.get_or_create(&self.region).inc();
    }

    /// A sync message failed.
    pub fn sync_failure(&self) {
        self.sync_failures.get_or_create(&self.region).inc();
    }

    /// A snapshot of `bytes` was written.
    pub fn snapshot_written(&self, bytes: usize) {
        self.snapshot_size
            .get_or_create(&self.region)
            .set(bytes as i64);
    }

    /// Mesh peers connected changed by `delta`.
    pub fn mesh_peers(&self, delta: i64) {
        self.mesh_peers.get_or_create(&self.region).inc_by(delta);
    }

    /// A WebSocket opened (+1) or closed (-1).
    pub fn connections(&self, delta: i64) {
        self.connections.get_or_create(&self.region).inc_by(delta);
    }

    /// Changes were refused over the rate limit.
    pub fn rate_limited(&self) {
        self.rate_limited.get_or_create(&self.region).inc();
    }

    /// A frame was refused.
    pub fn malformed_frame(&self) {
        self.malformed_frames.get_or_create(&self.region).inc();
    }

    /// Runs still to offer mesh peers after reconciling.
    pub fn catch_up_pending(&self, runs: u64) {
        let runs = i64::try_from(runs).unwrap_or(i64::MAX);
        self.catch_up_pending.get_or_create(&self.region).set(runs);
    }

    /// A run offered after reconciling got in step with the peer, or did not in time.
    pub fn mesh_caught_up(&self, in_step: bool) {
        let series = CatchUpSeries {
            region: self.region.region.clone(),
            outcome: if in_step { "synced" } else { "unsettled" },
        };
        self.catch_up_runs.get_or_create(&series).inc();
    }

    /// A run was loaded (+1) or unloaded (-1).
    pub fn runs_loaded(&self, delta: i64) {
        self.runs_loaded.get_or_create(&self.region).inc_by(delta);
    }

    /// Records a run's lamport clock: in its own series, if it has (or can get) one, or
    /// in the relay's highest.
    pub fn lamport(&self, run_id: &str, value: u64) {
        if self.lamport_series == LamportSeries::Highest {
            let highest = self.lamport_highest.get_or_create(&self.region);
            highest
                .inner()
                .fetch_max(value, std::sync::atomic::Ordering::Relaxed);
            return;
        }
        let mut runs = self
            .lamport_runs
            .lock()
            .expect("metrics lock is never poisoned");
        if !runs.contains(run_id) {
            if runs.len() >= MAX_RUN_SERIES {
                return;
            }
            runs.insert(run_id.to_owned());
        }
        drop(runs);
        self.lamport
            .get_or_create(&self.run_series(run_id))
            .set(value);
    }

    /// Drops a run's series (it was unloaded).
    pub fn forget_run(&self, run_id: &str) {
        if self
            .lamport_runs
            .lock()
            .expect("metrics lock is never poisoned")
            .remove(run_id)
        {
            self.lamport.remove(&self.run_series(run_id));
        }
    }

    fn run_series(&self, run_id: &str) -> RunSeries {
        RunSeries {
            region: self.region.region.clone(),
            run_id: run_id.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_region_series_exists_from_start_up() {
        let text = Metrics::new("eu", LamportSeries::Highest).render();
        for name in [
            "crdt_sync_messages_total{region=\"eu\"} 0",
            "crdt_sync_failures_total{region=\"eu\"} 0",
            "crdt_snapshot_size_bytes{region=\"eu\"} 0",
            "crdt_mesh_peers_connected{region=\"eu\"} 0",
            "runmesh_runs_loaded{region=\"eu\"} 0",
        ] {
            assert!(text.contains(name), "missing {name} in\n{text}");
        }
    }

    #[test]
    fn renders_the_spec_names_with_the_region_and_bounds_run_series() {
        let m = Metrics::new("us-east-1", LamportSeries::PerRun);
        m.sync_message();
        m.sync_failure();
        m.mesh_peers(1);
        m.snapshot_written(42);
        for i in 0..MAX_RUN_SERIES + 5 {
            m.lamport(&format!("run{i}"), 7);
        }
        let text = m.render();
        for name in [
            "crdt_sync_messages_total{region=\"us-east-1\"} 1",
            "crdt_sync_failures_total{region=\"us-east-1\"} 1",
            "crdt_mesh_peers_connected{region=\"us-east-1\"} 1",
            "crdt_snapshot_size_bytes{region=\"us-east-1\"} 42",
        ] {
            assert!(text.contains(name), "missing {name} in\n{text}");
        }
        assert_eq!(text.matches("crdt_lamport_clock{").count(), MAX_RUN_SERIES);
        m.forget_run("run0");
        assert_eq!(
            m.render().matches("crdt_lamport_clock{").count(),
            MAX_RUN_SERIES - 1
        );
    }

    #[test]
    fn without_run_labels_the_lamport_clock_is_one_series_the_highest_seen() {
        let m = Metrics::new("eu", LamportSeries::Highest);
        for (i, value) in [(0, 7), (1, 42), (2, 3)] {
            m.lamport(&format!("run{i}"), value);
        }
        m.forget_run("run1");
        let text = m.render();
        assert!(
            text.contains("crdt_lamport_clock{region=\"eu\"} 42"),
            "{text}"
        );
        assert!(!text.contains("run_id"), "{text}");
    }
}
