//! Health, readiness, metrics and mesh status.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Deserialize;

use crate::http::body::JsonBody;
use crate::http::caller::Caller;
use crate::http::error::AppError;
use crate::http::path::RunPath;
use crate::http::state::AppState;

/// `GET /health/live`: the process is up.
pub async fn live() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "live" }))
}

/// `GET /health/ready`: the store answers and the relay is not shutting down.
pub async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let store_ok = state.docs.stored().await.is_ok();
    let ok = store_ok && !state.shutdown.is_cancelled();
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "status": if ok { "ready" } else { "unavailable" },
        "store": if store_ok { "ok" } else { "failing" },
        "region": state.region,
    });
    (status, Json(body))
}

/// `GET /metrics`: Prometheus text.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    state.mesh.record_lag();
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
}

/// `GET /api/crdt/mesh/status`
pub async fn mesh_status(State(state): State<AppState>, _caller: Caller) -> impl IntoResponse {
    let mut body = state.mesh.status();
    body["peerId"] = serde_json::json!(state.me);
    body["runsLoaded"] = serde_json::json!(state.docs.loaded().len());
    Json(body)
}

/// Body of `POST …/register-peer`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterPeerBody {
    peer_region: String,
}

/// `POST /api/crdt/runs/{runId}/register-peer`: forces a full sync of every run with
/// the relay(s) of that region (their sync sessions start over; only what differs
/// travels), and reports which links it used.
pub async fn register_peer(
    State(state): State<AppState>,
    RunPath(run): RunPath,
    caller: Caller,
    JsonBody(body): JsonBody<RegisterPeerBody>,
) -> Result<impl IntoResponse, AppError> {
    caller.admin(crate::auth::Access::Write)?;
    let region = body.peer_region.trim();
    if region.is_empty() {
        return Err(AppError::BadRequest("peerRegion is empty".into()));
    }
    let links = state.mesh.links_in(region);
    if links.is_empty() {
        return Err(AppError::NotFound(format!(
            "no mesh peer in region {region:?} is connected to this relay ({})",
            state.region
        )));
    }
    let mut peers = Vec::new();
    for (link, url) in links {
        peers.push(serde_json::json!({ "peerId": link.peer(), "url": url }));
        crate::mesh::offer_all(state.docs.clone(), link).await;
    }
    let body = serde_json::json!({ "runId": run, "peerRegion": region, "status": "resynced", "peers": peers });
    Ok((StatusCode::ACCEPTED, Json(body)))
}
