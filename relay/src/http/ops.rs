//! Health, readiness, metrics and mesh status.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Deserialize;

use crate::http::body::JsonBody;
use crate::http::error::AppError;
use crate::state::AppState;

/// `GET /health/live`: the process is up.
pub async fn live() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "live" }))
}

/// `GET /health/ready`: the store answers and the relay is not shutting down.
pub async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let store = state.ctx.store.clone();
    let store_ok = matches!(
        tokio::task::spawn_blocking(move || store.list()).await,
        Ok(Ok(_))
    );
    let ok = store_ok && !state.shutdown.is_cancelled();
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "status": if ok { "ready" } else { "unavailable" },
        "store": if store_ok { "ok" } else { "failing" },
        "region": state.ctx.config.region,
    });
    (status, Json(body))
}

/// `GET /metrics`: Prometheus text.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.ctx.metrics.render(),
    )
}

/// `GET /api/crdt/mesh/status`
pub async fn mesh_status(State(state): State<AppState>) -> impl IntoResponse {
    Json(serde_json::json!({
        "region": state.ctx.config.region,
        "status": "active",
        "peerId": state.ctx.me,
        "peers": state.ctx.config.mesh_peers.iter().map(|url| serde_json::json!({
            "url": url,
            "connected": false,
        })).collect::<Vec<_>>(),
        "runsLoaded": state.ctx.registry.loaded().len(),
    }))
}

/// Body of `POST …/register-peer`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterPeerBody {
    peer_region: String,
}

/// `POST /api/crdt/runs/{runId}/register-peer`: asks for a full sync with a region's
/// relay. Without a mesh peer in that region there is no one to sync with.
pub async fn register_peer(
    State(state): State<AppState>,
    crate::http::path::RunPath(run): crate::http::path::RunPath,
    JsonBody(body): JsonBody<RegisterPeerBody>,
) -> Result<impl IntoResponse, AppError> {
    if body.peer_region.trim().is_empty() {
        return Err(AppError::BadRequest("peerRegion is empty".into()));
    }
    Err::<Json<serde_json::Value>, _>(AppError::NotFound(format!(
        "no mesh peer in region {:?} is connected to this relay ({}) for run {run}",
        body.peer_region, state.ctx.config.region
    )))
}
