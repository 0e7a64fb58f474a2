//! Keeps the runs in memory only for other relays under `--mesh-catch-up-bytes`
//! ([`runmesh_core::node::MeshResidents`] decides which; this asks them to leave).

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::runs::command::DocCmd;
use crate::runs::registry::Documents;

/// How often the bound is checked. A catch-up loads about a run a millisecond, so a
/// tenth of a second lets about a hundred runs past the bound between two checks; the
/// catch-ups' own pacing keeps them from offering more while the room is gone.
const EVERY: Duration = Duration::from_millis(100);

impl Documents {
    /// Until `shutdown`: asks the oldest runs in memory only for other relays to leave it
    /// while together they weigh more than the bound (each leaves if it is idle).
    pub async fn bound_mesh_residents(self, shutdown: CancellationToken) {
        let mut every = tokio::time::interval(EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = every.tick() => {}
                () = shutdown.cancelled() => return,
            }
            self.release_mesh_residents();
        }
    }

    /// Asks the oldest runs in memory only for other relays to leave it, if together
    /// they weigh more than the bound (each leaves if it is idle). A catch-up that
    /// finds no room asks too, rather than wait for the next check.
    pub(crate) fn release_mesh_residents(&self) {
        let release = self.env().mesh_residents().to_release();
        for run in release {
            let Some(tx) = self.slots().get(&run.document_id()) else {
                continue;
            };
            // A full queue is a busy run, not an idle one: it is not asked.
            let _ = tx.try_send(DocCmd::Leave);
        }
    }
}
