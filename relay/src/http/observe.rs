//! Counts and times every HTTP request by its route template (`/app/runs/{run_id}/graft`,
//! never the run id itself or a path no route matched, so the series stay few), method
//! (folded to the standard ones) and status.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::metrics::Metrics;

/// The middleware.
pub async fn observe(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request.extensions().get::<MatchedPath>().cloned();
    let method = request.method().clone();
    let started = Instant::now();
    let response = next.run(request).await;
    let seconds = started.elapsed().as_secs_f64();
    let route = route.as_ref().map(MatchedPath::as_str);
    metrics.http_request(route, &method, response.status().as_u16(), seconds);
    response
}
