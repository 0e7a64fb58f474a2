//! The built web app at `/`: files from `--web-dist` and their precompressed copies,
//! index.html for the app's own routes, 404 for a missing file or an unknown API path, and
//! cache headers that let a browser keep what Trunk named by content hash.

use std::path::Path;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::header::CACHE_CONTROL;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::services::{ServeDir, ServeFile};

use crate::http::AppError;

/// Paths that belong to the relay's own API: an unknown one there is a JSON 404, not the
/// app's page.
const API_PREFIXES: [&str; 5] = ["/api/", "/app/", "/health", "/metrics", "/actuator/"];

/// A file whose name carries its content hash never changes under that name.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Anything else (index.html, sw.js, the icon): revalidate before use.
const REVALIDATE: &str = "no-cache";

/// The app in `dir`, as a service for the router's fallback.
pub fn service(dir: &Path) -> Router {
    // `scripts/build-web.sh` writes a `.br` and a `.gz` beside each file; a client that
    // accepts one gets it (the wasm is ~1.6 MB raw, ~0.5 MB brotli).
    let assets = ServeDir::new(dir).precompressed_br().precompressed_gzip();
    let index = ServeFile::new(dir.join("index.html"))
        .precompressed_br()
        .precompressed_gzip();
    let routes = assets.clone().fallback(index);
    Router::new()
        .fallback(move |request: Request| {
            let (mut assets, mut routes) = (assets.clone(), routes.clone());
            async move {
                let path = request.uri().path();
                if API_PREFIXES.iter().any(|prefix| path.starts_with(prefix)) {
                    return AppError::NotFound(format!("no such endpoint: {path}")).into_response();
                }
                // A path naming a file (`…/x.js`) is that file or 404; any other path is one
                // of the app's own routes (`/runs/<uuid>`) and gets index.html, so a reload
                // works. Answering a missing asset with index.html would have a browser
                // cache a page as a script, for a year if the name looks content-hashed.
                let served = if names_a_file(path) {
                    assets.try_call(request).await.map(|r| r.map(Body::new))
                } else {
                    routes.try_call(request).await.map(|r| r.map(Body::new))
                };
                served.unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "serving the web app");
                    StatusCode::INTERNAL_SERVER_ERROR.into_response()
                })
            }
        })
        .layer(middleware::from_fn(cache_control))
}

fn names_a_file(path: &str) -> bool {
    path.rsplit('/')
        .next()
        .is_some_and(|last| last.contains('.'))
}

async fn cache_control(request: Request, next: Next) -> Response {
    let policy = if is_content_hashed(request.uri().path()) {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    let mut response = next.run(request).await;
    if response.status().is_success() {
        let value = HeaderValue::from_static(policy);
        response.headers_mut().insert(CACHE_CONTROL, value);
    }
    response
}

/// Whether a path names a file the way Trunk names built assets:
/// `<name>-<hash: 12 or more hex digits>[_bg].<ext>`.
fn is_content_hashed(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or_default();
    let Some((stem, _ext)) = file.rsplit_once('.') else {
        return false;
    };
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    let Some((_, hash)) = stem.rsplit_once('-') else {
        return false;
    };
    hash.len() >= 12 && hash.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::is_content_hashed;

    #[test]
    fn trunk_asset_names_are_content_hashed() {
        assert!(is_content_hashed("/runmesh-web-80db1ede0a6f8567_bg.wasm"));
        assert!(is_content_hashed("/runmesh-web-80db1ede0a6f8567.js"));
        assert!(is_content_hashed("/style-a2a2e32d874b627e.css"));
    }

    #[test]
    fn other_paths_are_not() {
        for path in [
            "/",
            "/index.html",
            "/sw.js",
            "/icon.svg",
            "/runs/6f1c0c1e-0000-4000-8000-000000000000",
            "/run-list.js",
            "/a-0123456789ag.js",
            "/a-0123.js",
        ] {
            assert!(!is_content_hashed(path), "{path}");
        }
    }
}
