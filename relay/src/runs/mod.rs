//! Runs in memory: one task per run owns the run's shard of the relay node
//! ([`RunShard`](runmesh_core::node::RunShard): its hub, connections, waiters and clock
//! for leaving memory) and performs what it decides.
//!
//! - [`Documents`] (`registry.rs`): how the rest of the relay reaches a run's task.
//! - `task.rs`: the task's loop; `shell.rs`: a shard batch in, its effects performed.
//! - `fanout.rs`: what other relays sharing the store append, to the runs in memory.
//! - [`PeerLink`] (`link.rs`): a connection as tasks see it; [`MeshLinks`] flow down to
//!   every task from the mesh, [`Divergence`] flows out of them to the mesh's status.
//! - [`Reconciler`] (`reconciler.rs`): core's `Reconciliation` (the digest index of
//!   stored runs, kept current by the tasks, and every mesh link's catch-up), shared;
//!   `reconcile.rs`: a link's digest frames answered, the runs found to differ offered a
//!   few at a time by the link's worker.
//! - [`Reach`] (`reach.rs`): core's `ReachTable` (which regions' stores hold which
//!   runs' changes), fed by the tasks and the mesh links, and each link's sender of it.
//! - `residents.rs`: runs in memory only for other relays leave it once together they
//!   weigh more than `--mesh-catch-up-bytes`.

mod command;
mod divergence;
mod env;
mod fanout;
mod link;
mod reach;
mod reconcile;
mod reconciler;
mod registry;
mod residents;
mod shell;
mod slots;
mod task;
mod titles;

pub use command::{DocCmd, Read};
pub use divergence::Divergence;
pub use env::{TaskEnv, load_permits};
pub use fanout::{fan_out, until_listening};
pub use link::{MeshLinks, PeerLink, epoch_millis};
pub use reach::Reach;
pub use reconciler::Reconciler;
pub use registry::Documents;
pub use titles::Titles;
