//! The relay's memory budget (`--max-loaded-bytes`) under pressure: how often it was
//! found full, and how many runs nobody held open left memory early because of it.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

use crate::metrics::{Metrics, Region};

/// The families, registered once.
#[derive(Debug)]
pub(crate) struct Memory {
    full: Family<Region, Counter>,
    shed: Family<Region, Counter>,
}

impl Memory {
    pub(crate) fn register(registry: &mut Registry, region: &Region) -> Self {
        let memory = Self {
            full: Family::default(),
            shed: Family::default(),
        };
        registry.register(
            "runmesh_memory_full",
            "Changes or loads refused because the runs in memory weigh --max-loaded-bytes",
            memory.full.clone(),
        );
        registry.register(
            "runmesh_runs_shed",
            "Runs nobody held open that left memory early because it was full",
            memory.shed.clone(),
        );
        let _ = memory.full.get_or_create(region);
        let _ = memory.shed.get_or_create(region);
        memory
    }
}

impl Metrics {
    /// A change or a load was refused: the runs in memory weigh their limit.
    pub fn memory_full(&self) {
        self.memory.full.get_or_create(&self.region).inc();
    }

    /// A run left memory early because memory was full.
    pub fn run_shed(&self) {
        self.memory.shed.get_or_create(&self.region).inc();
    }
}
