//! Helpers shared by the core's integration tests.
#![allow(dead_code)]

use runmesh_core::{ActorId, Identity, RunDoc, RunId, StepSpec};

pub const RUN: &str = "123e4567-e89b-12d3-a456-426614174000";

pub fn run_id() -> RunId {
    RUN.parse().unwrap()
}

/// An identity with a fixed actor id, so documents are byte-for-byte reproducible.
pub fn who(actor: u8, region: &str, user: &str) -> Identity {
    Identity::with_actor(ActorId::from(&[actor; 16][..]), region, user).unwrap()
}

pub fn steps(ids: &[&str]) -> Vec<StepSpec> {
    ids.iter().map(|id| StepSpec::new(id).unwrap()).collect()
}

/// A run with steps step1..step3 created by alice in us-east-1.
pub fn three_step_run() -> RunDoc {
    RunDoc::create(
        run_id(),
        who(1, "us-east-1", "alice"),
        "Release",
        &steps(&["step1", "step2", "step3"]),
        1_000,
    )
    .unwrap()
}

pub fn names(run: &RunDoc) -> Vec<String> {
    run.state()
        .pipeline
        .iter()
        .map(|n| n.name.clone())
        .collect()
}

/// SplitMix64: a tiny deterministic generator, so one seed replays one whole schedule.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Proptest cases: `RUNMESH_PROPTEST_CASES` if set, else `default`.
pub fn proptest_cases(default: u32) -> u32 {
    std::env::var("RUNMESH_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
