//! The materialised view of a run: an index kept current from patches, the ordered
//! pipeline, and the plain [`RunState`] built from them.

pub(crate) mod containers;
mod described;
pub(crate) mod index;
pub(crate) mod model;
mod names;
mod pipeline;
pub(crate) mod reader;
mod records;
mod siblings;
mod state;
mod state_patch;
mod touched;

pub use model::{Graft, NodeKind, PipelineNode, PruneMark, Retraction, SortKey, Step};
pub use state::{MAX_ISSUES_SHOWN, RunState};
