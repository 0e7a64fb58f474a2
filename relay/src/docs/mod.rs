//! Documents in memory: the registry of per-document tasks, and what each task does.

pub(crate) mod actor;
pub mod command;
mod doc;
mod ops;
mod registry;

pub use actor::DocContext;
pub use command::{DocCmd, OpError, OpReply, PeerLink, Read, RunOp};
pub use registry::Registry;
