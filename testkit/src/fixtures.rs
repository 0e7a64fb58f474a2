//! The run most tests start from, and the names and identities they build it with:
//! fixed actor ids, so documents are byte-for-byte reproducible.

use runmesh_core::{ActorId, Identity, RunDoc, RunId, StepSpec};

/// The id of the run the tests build.
pub const RUN: &str = "123e4567-e89b-12d3-a456-426614174000";

/// [`RUN`] as a [`RunId`].
pub fn run_id() -> RunId {
    RUN.parse().unwrap()
}

/// An identity with a fixed actor id, so documents are byte-for-byte reproducible.
pub fn who(actor: u8, region: &str, user: &str) -> Identity {
    Identity::with_actor(ActorId::from(&[actor; 16][..]), region, user).unwrap()
}

/// Step specs with these ids.
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

/// Names of the run's pipeline nodes.
pub fn names(run: &RunDoc) -> Vec<String> {
    run.state()
        .pipeline
        .iter()
        .map(|n| n.name.clone())
        .collect()
}
