//! Health, readiness, metrics and mesh status.

use crate::http::bodies::{Health, Resynced, ResyncedPeer};
use axum::Json;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Deserialize;

use crate::auth::{self, Access, Grants};
use crate::http::body::JsonBody;
use crate::http::caller::Caller;
use crate::http::error::AppError;
use crate::http::path::RunPath;
use crate::http::state::AppState;
use crate::tls::PeerAddr;

/// `GET /health/live`: the process is up.
pub async fn live() -> impl IntoResponse {
    Json(Health {
        status: "live",
        store: None,
        region: None,
    })
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
    let body = Health {
        status: if ok { "ready" } else { "unavailable" },
        store: Some(if store_ok { "ok" } else { "failing" }),
        region: Some(&state.region),
    };
    (status, Json(body)).into_response()
}

/// `GET /metrics`: Prometheus text, for the `--metrics-token` bearer or a credential
/// granting read on every run; open only in open mode without a metrics token. The page
/// names regions, peer URLs and how busy the relay is: not for anyone who asks.
pub async fn metrics(
    State(state): State<AppState>,
    request: Request,
) -> Result<impl IntoResponse, AppError> {
    let credential = auth::credential(request.headers(), request.uri().query());
    let peer = request.extensions().get::<ConnectInfo<PeerAddr>>();
    let by_token = match (&state.metrics_token, credential) {
        (Some(token), Some(given)) => auth::constant_time_eq(token.as_bytes(), given.as_bytes()),
        _ => false,
    };
    let open = state.metrics_token.is_none() && state.verifier.is_open();
    if !(open || by_token) {
        let refused = "/metrics needs the --metrics-token bearer or a token granting read on \
                       every run (\"*\")";
        let grants = state
            .verifier
            .grants(credential, peer.map(|c| c.0.0.ip()))
            .map_err(|e| AppError::Unauthorized(format!("{refused}: {e}")))?;
        if !grants.is_admin(Access::Read) || matches!(grants, Grants::Open) {
            return Err(if credential.is_none() {
                AppError::Unauthorized(refused.into())
            } else {
                AppError::Forbidden(refused.into())
            });
        }
    }
    state.mesh.record_lag();
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    ))
}

/// `GET /api/crdt/mesh/status`
pub async fn mesh_status(State(state): State<AppState>, _caller: Caller) -> impl IntoResponse {
    let mut body = state.mesh.status();
    body.peer_id = Some(state.me.clone());
    body.runs_loaded = Some(state.docs.loaded().len());
    Json(body).into_response()
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
    caller.admin(Access::Write)?;
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
        peers.push(ResyncedPeer {
            peer_id: link.peer().clone(),
            url,
        });
        crate::mesh::offer_all(state.docs.clone(), link).await;
    }
    let body = Resynced {
        run_id: run,
        peer_region: region,
        status: "resynced",
        peers,
    };
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}
