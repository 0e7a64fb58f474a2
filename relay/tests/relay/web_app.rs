//! The web app at `/`: files from `--web-dist`, the precompressed `.br`/`.gz` copies
//! `scripts/build-web.sh` writes when the client accepts them, index.html for the app's
//! own routes (but 404 for a missing file), and cache headers.

use std::path::Path;

use reqwest::header::{ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE};
use runmesh_testkit::relay::TestRelay;

/// A dist directory whose compressed copies differ from the originals, so a test can tell
/// which one was served.
fn write_dist(dir: &Path) {
    std::fs::write(dir.join("index.html"), "<html>index</html>").unwrap();
    std::fs::write(dir.join("index.html.gz"), "gz:index").unwrap();
    std::fs::write(dir.join("app_bg.wasm"), b"\0asm raw").unwrap();
    std::fs::write(dir.join("app_bg.wasm.gz"), b"gz:wasm").unwrap();
    std::fs::write(dir.join("app_bg.wasm.br"), b"br:wasm").unwrap();
    std::fs::write(dir.join("sw.js"), "// no compressed copy").unwrap();
    std::fs::write(dir.join("app-0123456789abcdef_bg.wasm"), b"\0asm hashed").unwrap();
}

/// A relay serving a fresh dist directory; the two directories live as long as the test.
async fn start() -> (TestRelay, [tempfile::TempDir; 2]) {
    let dist = tempfile::tempdir().unwrap();
    write_dist(dist.path());
    let data = tempfile::tempdir().unwrap();
    let dist_path = dist.path().to_owned();
    let relay = TestRelay::start_in(data.path(), "eu", move |c| c.web_dist = Some(dist_path)).await;
    (relay, [dist, data])
}

async fn get(relay: &TestRelay, path: &str, accept: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(relay.http(path));
    if let Some(accept) = accept {
        request = request.header(ACCEPT_ENCODING, accept);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200, "GET {path}");
    response
}

async fn get_404(relay: &TestRelay, path: &str) -> reqwest::Response {
    let response = reqwest::get(relay.http(path)).await.unwrap();
    assert_eq!(response.status(), 404, "GET {path}");
    response
}

fn header(response: &reqwest::Response, name: reqwest::header::HeaderName) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

#[tokio::test]
async fn brotli_is_preferred_then_gzip_then_the_raw_file() {
    let (relay, _dirs) = start().await;

    let br = get(&relay, "/app_bg.wasm", Some("gzip, deflate, br")).await;
    assert_eq!(header(&br, CONTENT_ENCODING).as_deref(), Some("br"));
    assert_eq!(
        header(&br, CONTENT_TYPE).as_deref(),
        Some("application/wasm"),
        "streaming instantiation needs the wasm type, not the encoding's"
    );
    assert_eq!(br.bytes().await.unwrap().as_ref(), b"br:wasm");

    let gz = get(&relay, "/app_bg.wasm", Some("gzip, deflate")).await;
    assert_eq!(header(&gz, CONTENT_ENCODING).as_deref(), Some("gzip"));
    assert_eq!(gz.bytes().await.unwrap().as_ref(), b"gz:wasm");

    let raw = get(&relay, "/app_bg.wasm", None).await;
    assert_eq!(header(&raw, CONTENT_ENCODING), None);
    assert_eq!(raw.bytes().await.unwrap().as_ref(), b"\0asm raw");

    relay.stop().await;
}

#[tokio::test]
async fn a_file_without_a_compressed_copy_is_served_as_is() {
    let (relay, _dirs) = start().await;
    let sw = get(&relay, "/sw.js", Some("gzip, br")).await;
    assert_eq!(header(&sw, CONTENT_ENCODING), None);
    assert_eq!(sw.text().await.unwrap(), "// no compressed copy");
    relay.stop().await;
}

#[tokio::test]
async fn the_apps_own_routes_get_index_html() {
    let (relay, _dirs) = start().await;
    let plain = get(&relay, "/runs/6f1c0c1e-0000-4000-8000-000000000000", None).await;
    assert_eq!(plain.text().await.unwrap(), "<html>index</html>");
    let gz = get(
        &relay,
        "/runs/6f1c0c1e-0000-4000-8000-000000000000",
        Some("gzip"),
    )
    .await;
    assert_eq!(header(&gz, CONTENT_ENCODING).as_deref(), Some("gzip"));
    assert_eq!(gz.text().await.unwrap(), "gz:index");
    // The API keeps its own answers.
    let health = get(&relay, "/health/live", None).await;
    assert_eq!(header(&health, CONTENT_ENCODING), None);
    relay.stop().await;
}

#[tokio::test]
async fn a_missing_file_is_404_not_the_app() {
    let (relay, _dirs) = start().await;
    for path in [
        "/app-fedcba9876543210_bg.wasm",
        "/favicon.ico",
        "/runs/x/old.js",
    ] {
        let response = get_404(&relay, path).await;
        assert_eq!(
            header(&response, CACHE_CONTROL),
            None,
            "GET {path}: nothing to cache"
        );
    }
    relay.stop().await;
}

#[tokio::test]
async fn content_hashed_files_are_cached_for_good_and_the_rest_revalidated() {
    let (relay, _dirs) = start().await;
    let hashed = get(&relay, "/app-0123456789abcdef_bg.wasm", None).await;
    assert_eq!(
        header(&hashed, CACHE_CONTROL).as_deref(),
        Some("public, max-age=31536000, immutable")
    );
    for path in [
        "/",
        "/index.html",
        "/sw.js",
        "/app_bg.wasm",
        "/runs/6f1c0c1e-0000-4000-8000-000000000000",
    ] {
        let response = get(&relay, path, Some("gzip")).await;
        assert_eq!(
            header(&response, CACHE_CONTROL).as_deref(),
            Some("no-cache"),
            "GET {path}"
        );
    }
    relay.stop().await;
}

#[tokio::test]
async fn an_unknown_api_path_is_a_json_404_not_the_app() {
    let (relay, _dirs) = start().await;
    for path in ["/api/crdt/nope", "/app/runs", "/health/nope", "/metrics/x"] {
        let response = get_404(&relay, path).await;
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"], "not_found", "GET {path}");
        assert!(
            body["message"].as_str().unwrap().contains(path),
            "GET {path}: {body}"
        );
    }
    relay.stop().await;
}
