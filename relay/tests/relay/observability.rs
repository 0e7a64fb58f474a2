//! What monitoring sees: every metric the shipped alert rules and dashboard use is one a
//! running relay exports, with a series; `/health` and the spec's `/actuator/prometheus`
//! answer what their names promise.

use std::collections::BTreeSet;

use runmesh_testkit::relay::*;

const ALERTS: &str = include_str!("../../deploy/prometheus/alerts.yml");
const DASHBOARD: &str = include_str!("../../deploy/grafana/runmesh.json");

/// The metric names a text mentions (Prometheus' own `up` aside).
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (at, _) in text.match_indices(['c', 'r']) {
        let rest = &text[at..];
        if !(rest.starts_with("crdt_") || rest.starts_with("runmesh_")) {
            continue;
        }
        if at > 0 && text.as_bytes()[at - 1].is_ascii_alphanumeric() {
            continue;
        }
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        if name.contains('_') && !name.ends_with('_') {
            names.insert(name);
        }
    }
    names
}

#[tokio::test]
async fn every_metric_the_alerts_and_dashboard_use_is_exported() {
    let used: BTreeSet<String> = metric_names(ALERTS)
        .into_iter()
        .chain(metric_names(DASHBOARD))
        .collect();
    assert!(used.len() >= 15, "{used:?}");
    // Two meshed relays, one storing a snapshot at every change, so every family has a
    // series: a link, bytes both ways, a lag, stored changes and snapshots, requests.
    let east = TestRelay::start("us-east-1").await;
    let tmp = tempfile::tempdir().unwrap();
    let west_ws = east.ws();
    let west = TestRelay::start_in(tmp.path(), "us-west-2", move |c| {
        c.mesh_peers = vec![west_ws];
        c.snapshot_interval_events = 1;
    })
    .await;
    let run = run_id();
    let graft = west.http(&format!("/app/runs/{run}/graft"));
    assert_eq!(
        post(&graft, r#"{"after":"step1","agentName":"A"}"#).await.0,
        201
    );
    eventually("the graft to reach the other region", || async {
        let state = get(&east.http(&format!("/api/crdt/runs/{run}/state")))
            .await
            .1;
        (state["grafts"].as_array().is_some_and(|g| g.len() == 1)).then_some(())
    })
    .await;
    // Some series follow the graft by a moment (what the other region said it stored).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let text = loop {
        let text = west.metrics().await;
        let series = |name: &str| {
            text.lines()
                .any(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        };
        let missing: Vec<&String> = used.iter().filter(|name| !series(name)).collect();
        if missing.is_empty() {
            break text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not exported: {missing:?}\n{text}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(
        text.contains("route=\"/app/runs/{run_id}/graft\""),
        "routes are templates"
    );
}

#[tokio::test]
async fn health_and_the_spec_s_metrics_path_answer_with_the_app_served() {
    let www = tempfile::tempdir().unwrap();
    std::fs::write(www.path().join("index.html"), "<html>the app</html>").unwrap();
    let dist = www.path().to_owned();
    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start_in(tmp.path(), "eu", move |c| c.web_dist = Some(dist)).await;
    for path in ["/health", "/actuator/health"] {
        let (status, body) = get(&relay.http(path)).await;
        assert_eq!(
            (status, body["status"].as_str()),
            (200, Some("ready")),
            "{path}"
        );
    }
    let text = reqwest::get(relay.http("/actuator/prometheus"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("crdt_sync_failures_total{region=\"eu\"} 0"),
        "{text}"
    );
    assert!(
        text.contains("crdt_snapshot_size_bytes{region=\"eu\"} 0"),
        "{text}"
    );
    let (status, _) = get(&relay.http("/actuator/nothing")).await;
    assert_eq!(
        status, 404,
        "an unknown path under /actuator is not the app"
    );
    let page = reqwest::get(relay.http("/runs/x"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("the app"),
        "the app's own routes still get the app"
    );
}

/// The value of `name`'s series whose labels include every one of `labels`.
fn value(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .find(|l| l.starts_with(&format!("{name}{{")) && labels.iter().all(|x| l.contains(x)))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no series {name} with {labels:?} in\n{text}"))
}

#[tokio::test]
async fn frames_bytes_and_sync_messages_are_counted_by_kind_of_peer_and_direction() {
    let relay = TestRelay::start("eu").await;
    let before = relay.metrics().await;
    for peer in ["client", "mesh"] {
        for direction in ["in", "out"] {
            let labels = [
                &*format!("peer=\"{peer}\""),
                &*format!("direction=\"{direction}\""),
            ];
            assert_eq!(value(&before, "runmesh_ws_frames_total", &labels), 0.0);
        }
    }
    for name in [
        "runmesh_sync_messages_generated_total",
        "runmesh_sync_messages_coalesced_total",
    ] {
        assert_eq!(value(&before, name, &["region=\"eu\""]), 0.0, "{name}");
    }
    let run = runmesh_core::RunDoc::create(
        runmesh_core::RunId::random(),
        runmesh_core::Identity::random("eu", "u").unwrap(),
        "T",
        &[],
        1,
    )
    .unwrap();
    let mut client = SyncClient::connect(&relay, run).await;
    client.open(false).await;
    client.wait_relay_has_all(&relay.http("")).await;
    let after = relay.metrics().await;
    let client_in = ["peer=\"client\"", "direction=\"in\""];
    let client_out = ["peer=\"client\"", "direction=\"out\""];
    assert!(
        value(&after, "runmesh_ws_frames_total", &client_in) >= 2.0,
        "{after}"
    );
    assert!(
        value(&after, "runmesh_ws_frames_total", &client_out) >= 1.0,
        "{after}"
    );
    let bytes_in = value(&after, "runmesh_ws_frame_bytes_total", &client_in);
    assert!(bytes_in > 100.0, "the run's changes came in: {bytes_in}");
    // The relay answered the client's opening and acknowledged its changes. (Whether
    // messages were coalesced depends on how they met in the run's queue: the rule is
    // `metrics::tests::sync_messages_in_one_batch_after_the_first_are_coalesced`.)
    let generated = value(&after, "runmesh_sync_messages_generated_total", &[]);
    assert!(generated >= 1.0, "{after}");
    let mesh = ["peer=\"mesh\"", "direction=\"in\""];
    assert_eq!(value(&after, "runmesh_ws_frames_total", &mesh), 0.0);
    relay.stop().await;
}
