//! Runs in memory: one task per run owns the run's [hub](runmesh_core::hub) and performs
//! what it decides.
//!
//! - [`Documents`] (`registry.rs`): how the rest of the relay reaches a run's task.
//! - `task.rs`: the task's loop; `shell.rs`: a hub batch in, its effects performed.
//! - `fanout.rs`: what other relays sharing the store append, to the runs in memory.
//! - [`PeerLink`] (`link.rs`): a connection as tasks see it; [`MeshLinks`] flow down to
//!   every task from the mesh, [`Divergence`] flows out of them to the mesh's status.

mod command;
mod divergence;
mod env;
mod fanout;
mod link;
mod registry;
mod shell;
mod slots;
mod task;

pub use command::{DocCmd, Read};
pub use divergence::Divergence;
pub use env::TaskEnv;
pub use fanout::fan_out;
pub use link::{MeshLinks, PeerLink};
pub use registry::Documents;
