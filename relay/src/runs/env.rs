//! [`TaskEnv`]: what every run task shares, and nothing more.

use std::sync::Arc;
use std::time::{Duration, Instant};

use runmesh_core::hub::{HubConfig, Millis};
use tokio::sync::watch;

use crate::metrics::Metrics;
use crate::runs::digests::Digests;
use crate::runs::divergence::Divergence;
use crate::runs::link::MeshLinks;
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
    pub digests: Digests,
    /// Snapshots kept per run.
    pub snapshot_retain: u32,
    /// Unload a run after this long without a client or a command.
    pub idle_unload: Duration,
    /// Unload a run only other relays touched after this long without a command.
    pub mesh_idle_unload: Duration,
    /// The origin of the hubs' clock.
    pub started: Instant,
}

impl TaskEnv {
    /// Now, on the hubs' clock.
    pub fn now(&self) -> Millis {
        self.started.elapsed().as_millis() as Millis
    }

    /// The instant a hub's time `at` stands for.
    pub fn instant(&self, at: Millis) -> Instant {
        self.started + Duration::from_millis(at)
    }
}
