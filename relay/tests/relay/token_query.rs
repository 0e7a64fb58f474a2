//! Tokens the same way on every read (issue 32, item 4): with auth on, `?token=` is the
//! credential on every GET — the only way an `EventSource` can send one — and never
//! refused as a parameter of the route.

use runmesh_core::sync::{PeerId, PeerMetadata};
use runmesh_relay::client::Connection;

use crate::jwt::{every_run, now, secured};
use crate::sse::Consumer;
use runmesh_testkit::relay::*;

#[tokio::test]
async fn every_get_route_accepts_the_token_as_a_query_parameter() {
    let (relay, _tmp) = secured().await;
    let token = every_run("ada", now() + 600);
    let run = run_id();
    let created = reqwest::Client::new()
        .post(relay.http(&format!("/app/runs/{run}/graft")))
        .bearer_auth(&token)
        .body(r#"{"after": "step1", "agentName": "A"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let (_, heads) = get(&relay.http(&format!("/api/crdt/runs/{run}/heads?token={token}"))).await;
    let heads = heads["heads"][0].as_str().expect("heads, with ?token=");
    let runs = format!("/api/crdt/runs/{run}");
    let routes = [
        "/api/crdt/runs".to_owned(),
        "/api/crdt/runs?limit=5".to_owned(),
        format!("{runs}/state"),
        format!("{runs}/state?at={heads}"),
        format!("{runs}/diff?from={heads}"),
        format!("{runs}/diff?from={heads}&to={heads}"),
        format!("{runs}/changes"),
        format!("{runs}/heads"),
        format!("{runs}/history"),
        format!("{runs}/events"),
        format!("{runs}/events?since={heads}"),
        "/api/crdt/mesh/status".to_owned(),
    ];
    let client = reqwest::Client::new();
    for route in &routes {
        let joiner = if route.contains('?') { '&' } else { '?' };
        let (after, before) = (
            format!("{route}{joiner}token={token}"),
            match route.split_once('?') {
                Some((path, query)) => format!("{path}?token={token}&{query}"),
                None => format!("{route}?token={token}"),
            },
        );
        for url in [after, before] {
            let response = client.get(relay.http(&url)).send().await.unwrap();
            assert_eq!(response.status(), 200, "GET {route} with ?token=");
        }
        let refused = client.get(relay.http(route)).send().await.unwrap();
        assert_eq!(refused.status(), 401, "GET {route} without a token");
    }

    // Routes that need no token do not refuse one either.
    for route in ["/health", "/health/live", "/health/ready", "/metrics"] {
        let response = client
            .get(relay.http(&format!("{route}?token={token}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "GET {route} with ?token=");
    }
    // And the WebSocket, as a browser opens it.
    let ws = format!("{}?token={token}", relay.ws());
    Connection::connect(&ws, PeerId::random("browser"), PeerMetadata::default())
        .await
        .expect("/ws with ?token=");

    // A parameter a route does not take is still named, the token beside it is not.
    let (status, body) = get(&relay.http(&format!("{runs}/state?token={token}&bogus=1"))).await;
    assert_eq!(status, 400);
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("\"bogus\"") && !message.contains("token"),
        "{message}"
    );

    // What a browser's EventSource does: the token in the URL, Last-Event-ID resumed.
    let url = relay.http(&format!("{runs}/events?token={token}"));
    let mut feed = Consumer::open(&url, Some(heads)).await;
    feed.quiet().await;
    let grafted = reqwest::Client::new()
        .post(relay.http(&format!("/app/runs/{run}/graft?token={token}")))
        .body(r#"{"after": "step1", "agentName": "B"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(grafted.status(), 201);
    let (_, change) = feed.next().await;
    assert_eq!(change["diff"]["graftsAdded"][0]["agentName"], "B");
    relay.stop().await;
}
