//! # runmesh-core
//!
//! A *run* is an AI workflow run that people edit together: they graft agents into it
//! after a step, prune steps and set flags, from many browsers and regions, online or
//! offline. Each run is one Automerge document; every replica that has seen the same
//! changes shows the same run.
//!
//! Two replicas that graft concurrently after the same step both keep both grafts, in
//! one order everywhere — (lamport, region, user, graft id):
//!
//! ```
//! use runmesh_core::{Identity, RunDoc, RunId, StepSpec};
//!
//! let run = RunId::random();
//! let steps = [StepSpec::new("step1")?, StepSpec::new("step2")?];
//! let mut us = RunDoc::create(run, Identity::random("us-east-1", "alice")?, "Release", &steps, 1_000)?;
//! let mut eu = RunDoc::load(run, Identity::random("eu-central-1", "bob")?, &us.save())?;
//!
//! us.graft("step1", "SecurityAgent", 2_000)?;     // concurrently…
//! eu.graft("step1", "PerformanceAgent", 2_000)?;  // …on the other side
//!
//! us.merge(&mut eu)?;
//! eu.merge(&mut us)?;
//! assert_eq!(us.state(), eu.state());
//! let names: Vec<_> = us.state().pipeline.iter().map(|n| n.name.clone()).collect();
//! // Equal lamport values: "eu-central-1" sorts before "us-east-1".
//! assert_eq!(names, ["step1", "PerformanceAgent", "SecurityAgent", "step2"]);
//! # Ok::<(), runmesh_core::RunError>(())
//! ```
//!
//! Modules:
//! - [`RunDoc`] (`doc/`): create, load, save, merge, and the operations.
//! - [`RunState`] (`view/`): the materialised run, kept current from Automerge patches.
//! - `genesis`: the byte-identical first change every replica starts a run from.
//! - `lineage`: the rule that keeps a run a run (the genesis is its only change without
//!   dependencies), checked on what comes from outside.
//! - `id/`: [`RunId`], [`DocumentId`], [`NodeId`], [`GraftId`].
//! - [`Identity`]: a replica's own actor id, region and user.
//! - [`sync`]: the sans-IO sync engine and automerge-repo's wire protocol.
//! - [`hub`]: one run's sync, storage and mesh rules as a sans-IO state machine, which a
//!   relay drives (and the simulation in `tests/sim/` puts under adversarial schedules).
//! - [`digest`]: which runs two relays hold differently, found without loading them.
//! - [`Backoff`]: how long to wait before dialling a relay again.
//! - [`bounds`]: Automerge bytes from outside, checked against what they declare and a
//!   ceiling before Automerge parses them.

mod backoff;
pub mod bounds;
mod chunk;
pub mod client;
pub mod digest;
mod doc;
mod error;
mod flag;
mod genesis;
pub mod hub;
mod id;
mod identity;
mod intake;
mod lineage;
pub mod node;
pub mod reach;
mod record;
pub mod sync;
mod text;
mod view;
#[cfg(feature = "wasm")]
mod wasm;

pub use automerge::{ActorId, ChangeHash};
pub use backoff::Backoff;
pub use doc::{
    ChangeEvent, FlagChange, ForkOf, HistoryEntry, MAX_AGENT_NAME_CHARS, MAX_STEP_NAME_CHARS,
    MAX_STEPS, MAX_TITLE_CHARS, Restored, RunDiff, RunDoc, StepSpec, Who,
};
pub use error::RunError;
pub use flag::{FlagValue, MAX_FLAG_KEY_BYTES, MAX_FLAG_STRING_BYTES};
pub use genesis::{GENESIS, GENESIS_ACTOR, build_genesis};
pub use id::{
    DocumentId, GraftId, InvalidDocumentId, InvalidNodeId, InvalidRunId, MAX_NODE_ID_BYTES, NodeId,
    RunId,
};
pub use identity::{Identity, MAX_LABEL_BYTES};
#[cfg(feature = "fuzzing")]
pub use intake::fuzzing;
pub use lineage::{
    MAX_DEPTH, MAX_HEADS, MAX_WAITING, MAX_WAITING_BYTES, check_merge, load_document,
    load_run_document,
};
pub use view::{
    Graft, MAX_ISSUES_SHOWN, NodeKind, PipelineNode, PruneMark, Retraction, RunState, SortKey, Step,
};
