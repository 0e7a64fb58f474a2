//! The HTTP surface: REST API, health, metrics, `/ws`, and the web app at `/`.

mod answer;
mod app;
mod bodies;
mod body;
mod caller;
mod durability;
mod durable;
mod error;
mod feed;
mod heads;
mod observe;
mod operator;
mod page;
mod past;
mod path;
mod query;
mod reads;
mod state;
mod subscribers;
mod writes;
mod ws;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};

pub use body::BodyLimits;
pub use caller::USER_HEADER;
pub use error::AppError;
pub use state::AppState;
pub use subscribers::Subscribers;

use crate::http::ws::ws_handler;

/// Largest body an extractor other than those of [`body`] may read: none does today
/// (every handler reads its body under [`BodyLimits`]); a new one that forgets gets
/// the small routes' default, not axum's 2 MB.
const UNLISTED_BODY: usize = 64 * 1024;

/// The relay's router; serves the web app from `web_dist` if given.
pub fn router(state: AppState, web_dist: Option<&std::path::Path>) -> Router {
    let api = Router::new()
        .route("/ws", get(ws_handler))
        .route("/health/live", get(operator::live))
        .route("/health/ready", get(operator::ready))
        .route("/health", get(operator::ready))
        .route("/actuator/health", get(operator::ready))
        .route("/metrics", get(operator::metrics))
        .route("/actuator/prometheus", get(operator::metrics))
        .route("/api/crdt/mesh/status", get(operator::mesh_status))
        .route(
            "/api/crdt/runs",
            get(reads::list_runs).post(writes::create_run),
        )
        .route("/api/crdt/runs/{run_id}/state", get(reads::get_state))
        .route("/api/crdt/runs/{run_id}/changes", get(reads::get_changes))
        .route("/api/crdt/runs/{run_id}/history", get(reads::get_history))
        .route("/api/crdt/runs/{run_id}/diff", get(reads::get_diff))
        .route("/api/crdt/runs/{run_id}/events", get(feed::get_events))
        .route("/api/crdt/runs/{run_id}/heads", get(reads::get_heads))
        .route(
            "/api/crdt/runs/{run_id}/durability",
            get(durability::get_durability),
        )
        .route("/api/crdt/runs/{run_id}/sync", post(writes::post_sync))
        .route("/api/crdt/runs/{run_id}/undo", post(past::undo))
        .route("/api/crdt/runs/{run_id}/fork", post(past::fork))
        .route("/api/crdt/runs/{run_id}/merge", post(past::merge))
        .route(
            "/api/crdt/runs/{run_id}/register-peer",
            post(operator::register_peer),
        )
        .route("/app/runs/{run_id}/graft", post(writes::graft))
        .route("/app/runs/{run_id}/prune", post(writes::prune))
        .route("/app/runs/{run_id}/restore", post(writes::restore))
        .route(
            "/app/runs/{run_id}/flags/{key}",
            put(writes::set_flag).delete(writes::clear_flag),
        )
        .layer(DefaultBodyLimit::max(UNLISTED_BODY));
    let router = match web_dist {
        Some(dir) => api.fallback_service(app::service(dir)),
        None => api.fallback(|| async { AppError::NotFound("no such endpoint".into()) }),
    };
    let observe = axum::middleware::from_fn_with_state(state.metrics.clone(), observe::observe);
    router.layer(observe).with_state(state)
}
