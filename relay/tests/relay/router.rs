//! The router without a socket (`tower::ServiceExt::oneshot`): every REST error maps to
//! its status, a stable code and a message that names what was wrong, and a refused
//! request stores nothing.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use runmesh_relay::{AppState, Config};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

const RUN: &str = "123e4567-e89b-12d3-a456-426614174000";

struct Router {
    state: AppState,
    _dir: tempfile::TempDir,
}

impl Router {
    async fn new(tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::for_tests(dir.path().to_owned(), "router");
        tweak(&mut config);
        let state = runmesh_relay::state(&config, CancellationToken::new())
            .await
            .unwrap();
        Self { state, _dir: dir }
    }

    /// Sends one request; returns the status, the JSON body and the headers.
    async fn call(
        &self,
        method: &str,
        path: &str,
        body: &str,
        token: Option<&str>,
    ) -> (StatusCode, Value, axum::http::HeaderMap) {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = request.body(Body::from(body.to_owned())).unwrap();
        let response = runmesh_relay::app(self.state.clone())
            .oneshot(request)
            .await
            .unwrap();
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (parts.status, json, parts.headers)
    }

    async fn post(&self, path: &str, body: &str) -> (StatusCode, Value) {
        let (status, json, _) = self.call("POST", path, body, None).await;
        (status, json)
    }

    async fn heads(&self) -> Value {
        let (_, json, _) = self
            .call("GET", &format!("/api/crdt/runs/{RUN}/heads"), "", None)
            .await;
        json["heads"].clone()
    }
}

/// Asserts the error's status, code, and a phrase of its message.
fn refused(got: (StatusCode, Value), status: u16, code: &str, needle: &str, what: &str) {
    let (got_status, body) = got;
    assert_eq!(got_status.as_u16(), status, "{what}: {body}");
    assert_eq!(body["error"], code, "{what}: {body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(needle),
        "{what}: {message:?} lacks {needle:?}"
    );
}

#[tokio::test]
async fn bad_input_is_a_4xx_that_names_it_and_stores_nothing() {
    let router = Router::new(|_| {}).await;
    let created = router
        .post(
            "/api/crdt/runs",
            &json!({ "runId": RUN, "title": "T", "steps": ["step1"] }).to_string(),
        )
        .await;
    assert_eq!(created.0, StatusCode::CREATED, "{}", created.1);
    let before = router.heads().await;
    let graft = format!("/app/runs/{RUN}/graft");
    let long_region = format!(
        r#"{{"changes":"aGVsbG8=","sourceRegion":"{}"}}"#,
        "r".repeat(65)
    );
    let cases: Vec<(String, &str, u16, &str, &str)> = vec![
        (
            "/app/runs/not-a-uuid/graft".into(),
            r#"{"after":"step1","agentName":"A"}"#,
            400,
            "bad_request",
            "invalid run id \"not-a-uuid\"",
        ),
        (
            graft.clone(),
            r#"{"after": "step1""#,
            400,
            "bad_request",
            "invalid JSON body",
        ),
        (
            graft.clone(),
            r#"{"after": "step1"}"#,
            400,
            "bad_request",
            "missing field `agentName`",
        ),
        (
            graft.clone(),
            "",
            400,
            "bad_request",
            "request body is empty",
        ),
        (
            graft.clone(),
            r#"{"after":"step9","agentName":"A"}"#,
            422,
            "unprocessable",
            "unknown anchor \"step9\"",
        ),
        (
            graft.clone(),
            r#"{"after":"step1","agentName":"  "}"#,
            400,
            "bad_request",
            "agent name is empty",
        ),
        (
            format!("/app/runs/{RUN}/prune"),
            r#"{"nodeId":"nope"}"#,
            422,
            "unprocessable",
            "unknown node \"nope\"",
        ),
        (
            format!("/api/crdt/runs/{RUN}/sync"),
            r#"{"changes":"%%%"}"#,
            400,
            "bad_request",
            "not valid base64",
        ),
        (
            format!("/api/crdt/runs/{RUN}/sync"),
            r#"{"changes":"aGVsbG8gd29ybGQ="}"#,
            400,
            "bad_request",
            "refused document bytes (11 bytes): byte 0: not an Automerge chunk",
        ),
        (
            format!("/api/crdt/runs/{RUN}/sync"),
            r#"{"changes":""}"#,
            400,
            "bad_request",
            "changes is empty",
        ),
        (
            format!("/api/crdt/runs/{RUN}/sync"),
            &long_region,
            400,
            "bad_request",
            "sourceRegion must be 1 to 64 bytes",
        ),
        (
            format!("/api/crdt/runs/{RUN}/register-peer"),
            r#"{"peerRegion":""}"#,
            400,
            "bad_request",
            "peerRegion is empty",
        ),
        (
            format!("/api/crdt/runs/{RUN}/register-peer"),
            r#"{"peerRegion":"mars"}"#,
            404,
            "not_found",
            "no mesh peer in region \"mars\"",
        ),
        (
            "/api/crdt/runs".into(),
            r#"{"runId":"123e4567-e89b-12d3-a456-426614174000"}"#,
            409,
            "conflict",
            "run already exists",
        ),
    ];
    for (path, body, status, code, needle) in cases {
        let what = format!("POST {path} {body}");
        refused(router.post(&path, body).await, status, code, needle, &what);
    }
    let (status, body, _) = router
        .call(
            "PUT",
            &format!("/app/runs/{RUN}/flags/mode"),
            r#"{"value": {"nested": true}}"#,
            None,
        )
        .await;
    refused(
        (status, body),
        400,
        "bad_request",
        "mode",
        "a flag that is not a scalar",
    );
    assert_eq!(router.heads().await, before, "nothing was stored");
}

#[tokio::test]
async fn unknown_runs_and_routes_are_json_404s() {
    let router = Router::new(|_| {}).await;
    let (status, body, _) = router
        .call(
            "GET",
            "/api/crdt/runs/00000000-0000-4000-8000-000000000000/state",
            "",
            None,
        )
        .await;
    refused(
        (status, body),
        404,
        "not_found",
        "run not found",
        "an unknown run",
    );
    let (status, body, _) = router.call("GET", "/api/crdt/nothing-here", "", None).await;
    refused(
        (status, body),
        404,
        "not_found",
        "no such endpoint",
        "an unknown path",
    );
}

#[tokio::test]
async fn credentials_map_to_401_and_403() {
    let secret = "0123456789abcdef0123456789abcdef";
    let router = Router::new(|c| {
        c.auth.jwt_secret = Some(secret.into());
    })
    .await;
    let graft = format!("/app/runs/{RUN}/graft");
    let body = r#"{"after":"step1","agentName":"A"}"#;
    let (status, json, _) = router.call("POST", &graft, body, None).await;
    refused(
        (status, json),
        401,
        "unauthorized",
        "missing token",
        "no token",
    );
    let (status, json, _) = router.call("POST", &graft, body, Some("not-a-jwt")).await;
    refused(
        (status, json),
        401,
        "unauthorized",
        "invalid token",
        "a malformed token",
    );
    let reader = token(
        secret,
        json!({ "123e4567-e89b-12d3-a456-426614174000": "read" }),
    );
    let (status, json, _) = router.call("POST", &graft, body, Some(&reader)).await;
    refused(
        (status, json),
        403,
        "forbidden",
        RUN,
        "a read-only token writing",
    );
    let (status, _, _) = router
        .call(
            "GET",
            &format!("/api/crdt/runs/{RUN}/heads"),
            "",
            Some(&reader),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "it may read");
}

#[tokio::test]
async fn the_rate_limit_is_a_429_with_retry_after() {
    let router = Router::new(|c| {
        c.rate_limit_per_minute = std::num::NonZeroU32::new(2).unwrap();
    })
    .await;
    let graft = format!("/app/runs/{RUN}/graft");
    let body = r#"{"after":"step1","agentName":"A"}"#;
    for _ in 0..2 {
        assert_eq!(router.post(&graft, body).await.0, StatusCode::CREATED);
    }
    let (status, json, headers) = router.call("POST", &graft, body, None).await;
    refused(
        (status, json),
        429,
        "rate_limited",
        "2 changes per minute",
        "the third change",
    );
    let retry: u64 = headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
}

#[tokio::test]
async fn a_change_past_the_size_limit_is_a_413() {
    let router = Router::new(|c| c.max_document_bytes = 2048).await;
    let graft = format!("/app/runs/{RUN}/graft");
    let mut last = (StatusCode::CREATED, Value::Null);
    for i in 0..50 {
        let body = format!(
            r#"{{"after":"step1","agentName":"{}{i}"}}"#,
            "x".repeat(100)
        );
        last = router.post(&graft, &body).await;
        if last.0 != StatusCode::CREATED {
            break;
        }
    }
    refused(
        last,
        413,
        "too_large",
        "--max-document-bytes",
        "a run at its limit",
    );
}

/// An HS256 token for user `tester` with `runs`.
fn token(secret: &str, runs: Value) -> String {
    let claims = json!({ "sub": "tester", "exp": 4_102_444_800u64, "runs": runs });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}
