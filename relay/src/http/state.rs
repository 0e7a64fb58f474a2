//! [`AppState`]: the handles the HTTP layer holds. Each handler takes the ones it uses
//! (axum's `FromRef`), and below this layer every module gets only its own.

use std::sync::Arc;

use axum::extract::FromRef;
use runmesh_core::sync::PeerId;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::Verifier;
use crate::http::body::BodyLimits;
use crate::http::subscribers::Subscribers;
use crate::limits::{Limits, Streams};
use crate::mesh::Mesh;
use crate::metrics::Metrics;
use crate::runs::Documents;
use crate::ws::SessionEnv;

/// Shared state of a running relay.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The runs.
    pub docs: Documents,
    /// The regional mesh.
    pub mesh: Arc<Mesh>,
    /// What `/ws` sessions need.
    pub sessions: SessionEnv,
    /// Checks credentials.
    pub verifier: Verifier,
    /// Per-caller rate limits.
    pub limits: Arc<Limits>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// The bearer token that may read `/metrics` (`--metrics-token`).
    pub metrics_token: Option<Arc<str>>,
    /// This relay's region.
    pub region: Arc<str>,
    /// This relay's peer id.
    pub me: PeerId,
    /// Cancelled when the relay shuts down; sessions end with it.
    pub shutdown: CancellationToken,
    /// The open change feeds, under their caps.
    pub subscribers: Subscribers,
    /// The WebSockets and change feeds each caller holds open, under its cap.
    pub streams: Arc<Streams>,
    /// Request body limits.
    pub body: BodyLimits,
    /// The WebSockets, which leave the HTTP server once upgraded: shutdown waits (within
    /// its grace period) for them to send their close frames.
    pub upgraded: TaskTracker,
}

impl FromRef<AppState> for Documents {
    fn from_ref(state: &AppState) -> Self {
        state.docs.clone()
    }
}

impl FromRef<AppState> for Arc<Metrics> {
    fn from_ref(state: &AppState) -> Self {
        state.metrics.clone()
    }
}

impl FromRef<AppState> for BodyLimits {
    fn from_ref(state: &AppState) -> Self {
        state.body
    }
}

/// This relay's region, for the answers that name it.
#[derive(Debug, Clone)]
pub struct Region(pub Arc<str>);

impl FromRef<AppState> for Region {
    fn from_ref(state: &AppState) -> Self {
        Region(state.region.clone())
    }
}
