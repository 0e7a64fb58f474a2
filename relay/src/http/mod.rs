//! The HTTP surface: REST API, health, metrics, `/ws`, and the web app at `/`.

mod app;
mod body;
mod caller;
mod error;
mod ops;
mod path;
mod runs;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};

pub use caller::Caller;
pub use error::AppError;
pub use runs::USER_HEADER;

use crate::state::AppState;
use crate::ws::ws_handler;

/// Largest REST body: a whole document can travel through `POST …/sync`.
const MAX_BODY: usize = 64 * 1024 * 1024;

/// The relay's router.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/ws", get(ws_handler))
        .route("/health/live", get(ops::live))
        .route("/health/ready", get(ops::ready))
        .route("/metrics", get(ops::metrics))
        .route("/api/crdt/mesh/status", get(ops::mesh_status))
        .route(
            "/api/crdt/runs",
            get(runs::list_runs).post(runs::create_run),
        )
        .route("/api/crdt/runs/{run_id}/state", get(runs::get_state))
        .route("/api/crdt/runs/{run_id}/changes", get(runs::get_changes))
        .route("/api/crdt/runs/{run_id}/history", get(runs::get_history))
        .route("/api/crdt/runs/{run_id}/heads", get(runs::get_heads))
        .route("/api/crdt/runs/{run_id}/sync", post(runs::post_sync))
        .route(
            "/api/crdt/runs/{run_id}/register-peer",
            post(ops::register_peer),
        )
        .route("/app/runs/{run_id}/graft", post(runs::graft))
        .route("/app/runs/{run_id}/prune", post(runs::prune))
        .route("/app/runs/{run_id}/restore", post(runs::restore))
        .route(
            "/app/runs/{run_id}/flags/{key}",
            put(runs::set_flag).delete(runs::clear_flag),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY));
    let router = match &state.ctx.config.web_dist {
        Some(dir) => api.fallback_service(app::service(dir)),
        None => api.fallback(|| async { AppError::NotFound("no such endpoint".into()) }),
    };
    router.with_state(state)
}
