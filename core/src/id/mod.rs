//! Identifiers: run, document, node and graft ids, each a small newtype.

mod document_id;
mod graft_id;
mod node_id;
mod run_id;

pub use document_id::{DocumentId, InvalidDocumentId};
pub use graft_id::GraftId;
pub use node_id::{InvalidNodeId, MAX_NODE_ID_BYTES, NodeId};
pub use run_id::{InvalidRunId, RunId};
