//! What a caller can make the relay count, hold and expose (issue 32, "accounting"):
//! metric series per made-up method or run, who may read `/metrics`, and the rate
//! limits (memory, renaming, reads, forks). Runs the relay does not hold:
//! `unknown_runs.rs`.

use std::net::{IpAddr, SocketAddr};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use reqwest::Method;
use runmesh_core::RunId;
use runmesh_relay::tls::PeerAddr;
use runmesh_relay::{AppState, Config};
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::auth::{hs256, now, secured, send};
use runmesh_testkit::relay::*;

pub(crate) const GRAFT: &str = r#"{"after":"step1","agentName":"A"}"#;

/// The series in a Prometheus page (lines that are not comments).
fn series(text: &str) -> usize {
    text.lines().filter(|l| !l.starts_with('#')).count()
}

async fn request(method: Method, url: &str, user: Option<&str>) -> reqwest::Response {
    let mut req = reqwest::Client::new().request(method, url).body(GRAFT);
    if let Some(user) = user {
        req = req.header(runmesh_relay::USER_HEADER, user);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn made_up_methods_and_paths_add_no_metric_series() {
    let relay = TestRelay::start("eu").await;
    let run = run_id();
    // One request of each kind first, so the folded series exist…
    request(Method::GET, &relay.http("/no/such/path"), None).await;
    let odd = Method::from_bytes(b"MADEUP").unwrap();
    request(odd.clone(), &relay.http("/api/crdt/runs"), None).await;
    request(odd, &relay.http("/nothing/here"), None).await;
    relay.metrics().await; // and the page's own
    let before = relay.metrics().await;
    // …then 300 more with methods and paths never seen before add none.
    for i in 0..100 {
        let method = Method::from_bytes(format!("MADEUP{i}").as_bytes()).unwrap();
        request(method.clone(), &relay.http("/api/crdt/runs"), None).await;
        request(method, &relay.http(&format!("/made/up/{i}")), None).await;
        request(Method::GET, &relay.http(&format!("/api/x{i}")), None).await;
    }
    let after = relay.metrics().await;
    assert_eq!(series(&after), series(&before), "{after}");
    assert!(!after.contains("MADEUP"), "{after}");
    assert!(!after.contains("/made/up"), "{after}");
    assert!(after.contains("method=\"OTHER\""), "{after}");
    // A run's id is no label unless asked for: the lamport clock is one series.
    post(&relay.http(&format!("/app/runs/{run}/graft")), GRAFT).await;
    let text = relay.metrics().await;
    assert!(!text.contains(&run.to_string()), "{text}");
    assert!(
        text.contains("crdt_lamport_clock{region=\"eu\"} "),
        "{text}"
    );
    relay.stop().await;
}

#[tokio::test]
async fn with_auth_on_metrics_need_the_metrics_token_or_a_token_reading_every_run() {
    const METRICS: &str = "metrics-secret-0123456789";
    let (relay, _tmp) = secured(|c| c.metrics_token = Some(METRICS.into())).await;
    let url = relay.http("/metrics");
    let run = RunId::random();
    let one_run = hs256(
        "ada",
        now() + 60,
        serde_json::json!({ run.to_string(): "write" }),
    );
    let every_run = hs256("grafana", now() + 60, serde_json::json!({ "*": "read" }));
    for (token, status, why) in [
        (None, 401, "no token"),
        (Some("not-the-metrics-token-at-all"), 401, "a wrong token"),
        (Some(one_run.as_str()), 403, "a token for one run"),
        (Some(METRICS), 200, "the metrics token"),
        (Some(every_run.as_str()), 200, "a token reading every run"),
    ] {
        let (got, body, _) = send(Method::GET, &url, token, "").await;
        assert_eq!(got, status, "{why}: {body}");
        if status != 200 {
            let message = body["message"].as_str().unwrap();
            assert!(message.contains("--metrics-token"), "{why}: {message}");
        }
    }
    let (got, _, _) = send(Method::GET, &relay.http("/actuator/prometheus"), None, "").await;
    assert_eq!(got, 401, "the spec's path is the same page");
    relay.stop().await;

    // Open mode: open, unless a metrics token is set.
    let open = TestRelay::start("eu").await;
    assert_eq!(
        send(Method::GET, &open.http("/metrics"), None, "").await.0,
        200
    );
    open.stop().await;
    let tmp = tempfile::tempdir().unwrap();
    let guarded =
        TestRelay::start_in(tmp.path(), "eu", |c| c.metrics_token = Some(METRICS.into())).await;
    let url = guarded.http("/metrics");
    assert_eq!(send(Method::GET, &url, None, "").await.0, 401);
    assert_eq!(send(Method::GET, &url, Some(METRICS), "").await.0, 200);
    guarded.stop().await;
}

#[tokio::test]
async fn renaming_does_not_reset_the_change_allowance() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start_in(tmp.path(), "eu", |c| {
        c.rate_limit_per_minute = 5.try_into().unwrap()
    })
    .await;
    let graft = relay.http(&format!("/app/runs/{}/graft", run_id()));
    for i in 0..5 {
        let resp = request(Method::POST, &graft, Some(&format!("ada{i}"))).await;
        assert_eq!(resp.status(), 201);
    }
    // A new name from the same client spends the same allowance.
    let resp = request(Method::POST, &graft, Some("someone-else")).await;
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().contains_key("retry-after"));
    let body: Value = resp.json().await.unwrap();
    let message = body["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "rate limit: client 127.0.0.1 may make 5 changes per minute on this relay (--rate-limit-per-minute)"
        ),
        "{message}"
    );
    relay.stop().await;
}

#[tokio::test]
async fn a_claimed_user_name_is_bounded_before_it_is_used() {
    let relay = TestRelay::start("eu").await;
    let graft = relay.http(&format!("/app/runs/{}/graft", run_id()));
    let resp = request(Method::POST, &graft, Some(&"x".repeat(4096))).await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("x-runmesh-user must be 1 to 64 bytes") && message.contains("4096"),
        "{message}"
    );
    let resp = request(Method::POST, &graft, Some(&"x".repeat(64))).await;
    assert_eq!(resp.status(), 201, "64 bytes is within the limit");
    relay.stop().await;
}

#[tokio::test]
async fn reads_have_their_own_budget() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start_in(tmp.path(), "eu", |c| {
        c.read_rate_limit_per_minute = 3.try_into().unwrap()
    })
    .await;
    let run = run_id();
    let state = relay.http(&format!("/api/crdt/runs/{run}/state"));
    assert_eq!(
        post(&relay.http(&format!("/app/runs/{run}/graft")), GRAFT)
            .await
            .0,
        201
    );
    for i in 0..3 {
        let resp = request(Method::GET, &state, Some(&format!("reader{i}"))).await;
        assert_eq!(resp.status(), 200);
    }
    let resp = request(Method::GET, &state, Some("yet-another-name")).await;
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().contains_key("retry-after"));
    let body: Value = resp.json().await.unwrap();
    let message = body["message"].as_str().unwrap();
    assert!(
        message
            .contains("may make 3 reads per minute on this relay (--read-rate-limit-per-minute)"),
        "{message}"
    );
    // Changes are counted apart.
    assert_eq!(
        post(&relay.http(&format!("/app/runs/{run}/graft")), GRAFT)
            .await
            .0,
        201
    );
    relay.stop().await;
}

/// A router driven in-process, each request from the address given.
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

    async fn call(&self, method: &str, path: &str, from: IpAddr, user: &str) -> StatusCode {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(runmesh_relay::USER_HEADER, user)
            .body(Body::from(GRAFT))
            .unwrap();
        let peer = PeerAddr(SocketAddr::new(from, 40000));
        request.extensions_mut().insert(ConnectInfo(peer));
        let response = runmesh_relay::app(self.state.clone())
            .oneshot(request)
            .await
            .unwrap();
        response.status()
    }
}

#[tokio::test]
async fn the_rate_limits_remember_at_most_so_many_callers() {
    let router = Router::new(|c| {
        c.rate_limit_per_minute = 2.try_into().unwrap();
        c.read_rate_limit_per_minute = 2.try_into().unwrap();
        c.rate_limit_max_callers = 50;
    })
    .await;
    let limits = &router.state.limits;
    let graft = format!("/app/runs/{}/graft", run_id());
    let state = format!("/api/crdt/runs/{}/state", run_id());
    // One client under 2,000 made-up 4 KB names: one entry, and refusals after its two.
    let home: IpAddr = [10, 0, 0, 1].into();
    let name = |i: usize| format!("{i:04}{}", "n".repeat(60));
    let mut granted = 0;
    for i in 0..2000 {
        if router.call("POST", &graft, home, &name(i)).await == StatusCode::CREATED {
            granted += 1;
        }
    }
    assert_eq!(granted, 2, "renaming did not reset the allowance");
    assert_eq!(limits.changes.callers(), 1);
    // 2,000 clients at distinct addresses: never more than 50 entries per budget.
    let mut full = 0;
    for i in 0..2000u32 {
        let from = IpAddr::from((0x0b00_0000 + i).to_be_bytes());
        let status = router.call("POST", &graft, from, "x").await;
        full += usize::from(status == StatusCode::TOO_MANY_REQUESTS);
        router.call("GET", &state, from, "x").await;
        assert!(
            limits.changes.callers() <= 50,
            "{}",
            limits.changes.callers()
        );
        assert!(limits.reads.callers() <= 50, "{}", limits.reads.callers());
    }
    assert_eq!(limits.changes.callers(), 50);
    assert!(
        full >= 1900,
        "clients past the ceiling were refused: {full}"
    );
    // A client the table already holds keeps its allowance.
    assert_eq!(
        router.call("POST", &graft, [11, 0, 0, 1].into(), "x").await,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn forks_per_caller_are_capped() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start_in(tmp.path(), "eu", |c| {
        c.fork_limit_per_minute = 2.try_into().unwrap()
    })
    .await;
    let run = run_id();
    assert_eq!(
        post(&relay.http(&format!("/app/runs/{run}/graft")), GRAFT)
            .await
            .0,
        201
    );
    let fork = relay.http(&format!("/api/crdt/runs/{run}/fork"));
    for _ in 0..2 {
        assert_eq!(post(&fork, "").await.0, 201);
    }
    let (status, body) = post(&fork, "").await;
    assert_eq!(status, 429, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("may make 2 forks per minute on this relay (--fork-limit-per-minute)"),
        "{message}"
    );
    // Other changes are still allowed.
    assert_eq!(
        post(&relay.http(&format!("/app/runs/{run}/graft")), GRAFT)
            .await
            .0,
        201
    );
    relay.stop().await;
}
