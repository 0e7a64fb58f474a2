//! [`AppState`]: what every handler shares.

use std::sync::Arc;

use runmesh_core::RunId;
use tokio_util::sync::CancellationToken;

use crate::docs::{DocCmd, DocContext};

/// Shared state of a running relay.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Everything document tasks share.
    pub ctx: Arc<DocContext>,
    /// Cancelled when the relay shuts down; sessions end with it.
    pub shutdown: CancellationToken,
}

impl AppState {
    /// Sends a command to a run's document task.
    pub async fn send(&self, run: RunId, cmd: DocCmd) {
        self.ctx
            .registry
            .send(&self.ctx, run.document_id(), cmd)
            .await;
    }
}
