//! [`TaskEnv`]: what every run task shares, and nothing more.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use runmesh_core::hub::{HubConfig, Millis};
use runmesh_core::node::MeshResidents;
use tokio::sync::{Semaphore, watch};

use crate::metrics::Metrics;
use crate::runs::divergence::Divergence;
use crate::runs::link::MeshLinks;
use crate::runs::reconciler::Reconciler;
use crate::runs::titles::Titles;
use crate::store::Store;

/// The handles a run task uses.
#[derive(Debug)]
pub struct TaskEnv {
    /// Where runs are stored.
    pub store: Arc<dyn Store>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// The hubs' settings.
    pub hub: Arc<HubConfig>,
    /// The live mesh links (the mesh publishes; tasks read).
    pub mesh: watch::Receiver<MeshLinks>,
    /// Where tasks report runs that differ from a mesh peer's.
    pub divergence: Divergence,
    /// The fingerprints of stored runs, which tasks keep current.
    pub reconciler: Reconciler,
    /// Which regions' stores hold which runs' changes.
    pub reach: crate::runs::Reach,
    /// Snapshots kept per run.
    pub snapshot_retain: u32,
    /// How long an idle run stays in memory (`--idle-unload-secs`, and
    /// `--mesh-idle-unload-ms` for one only other relays touched).
    pub idle: runmesh_core::node::IdlePeriods,
    /// The origin of the hubs' clock.
    pub started: Instant,
    /// The runs' titles, as tasks read them (for the run list).
    pub titles: Titles,
    /// Runs being loaded at once: each load is CPU work on one of the runtime's threads,
    /// and a few heavy ones must not take them all (`/health` answered in 1.7 s while a
    /// run list loaded 40 heavy runs).
    pub loads: Arc<Semaphore>,
    /// The runs in memory only for other relays, against `--mesh-catch-up-bytes`.
    pub mesh_residents: Mutex<MeshResidents>,
}

/// How many runs may be loading at once: one thread's worth fewer than the machine has,
/// at least one.
pub fn load_permits() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1))
}

impl TaskEnv {
    /// Now, on the hubs' clock.
    pub fn now(&self) -> Millis {
        self.started.elapsed().as_millis() as Millis
    }

    /// The runs in memory only for other relays.
    pub fn mesh_residents(&self) -> MutexGuard<'_, MeshResidents> {
        // Nothing panics while holding it; the set stays sound.
        self.mesh_residents
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// The instant a hub's time `at` stands for.
    pub fn instant(&self, at: Millis) -> Instant {
        self.started + Duration::from_millis(at)
    }
}
