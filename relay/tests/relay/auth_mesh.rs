//! Relays with a mesh token: a relay that presents the same token joins the mesh and
//! carries changes; one with another token is refused.

use runmesh_core::RunId;
use runmesh_testkit::relay::*;

use crate::auth::{MESH, SECRET, graft_body, hs256, now, send};

#[tokio::test]
async fn mesh_peers_must_present_the_mesh_token() {
    let a_dir = tempfile::tempdir().unwrap();
    let a = TestRelay::start_in(a_dir.path(), "eu", |c| {
        c.auth.jwt_secret = Some(SECRET.into());
        c.auth.mesh_token = Some(MESH.into());
    })
    .await;
    let b_dir = tempfile::tempdir().unwrap();
    let b = TestRelay::start_in(b_dir.path(), "us", |c| {
        c.auth.jwt_secret = Some(SECRET.into());
        c.auth.mesh_token = Some(MESH.into());
        c.mesh_peers = vec![a.ws()];
    })
    .await;
    let c_dir = tempfile::tempdir().unwrap();
    let c = TestRelay::start_in(c_dir.path(), "ap", |c| {
        c.auth.jwt_secret = Some(SECRET.into());
        c.auth.mesh_token = Some("a-different-mesh-secret-000".into());
        c.mesh_peers = vec![a.ws()];
    })
    .await;
    let admin = hs256("root", now() + 60, serde_json::json!({ "*": "write" }));
    let run = RunId::random();
    let (status, _, _) = send(
        reqwest::Method::POST,
        &b.http(&format!("/app/runs/{run}/graft")),
        Some(&admin),
        &graft_body("FromUs"),
    )
    .await;
    assert_eq!(status, 201);
    // The run reaches A over B's authenticated link…
    let state = a.http(&format!("/api/crdt/runs/{run}/state"));
    eventually("the run to reach eu over the mesh", || async {
        let (status, body, _) = send(reqwest::Method::GET, &state, Some(&admin), "").await;
        (status == 200 && body["grafts"].as_array().is_some_and(|g| g.len() == 1)).then_some(())
    })
    .await;
    // …while C, with the wrong token, never links: A lists only B.
    let (_, status, _) = send(
        reqwest::Method::GET,
        &a.http("/api/crdt/mesh/status"),
        Some(&admin),
        "",
    )
    .await;
    let text = status.to_string();
    assert!(text.contains("\"us\""), "{text}");
    assert!(!text.contains("\"ap\""), "{text}");
    // C was told why.
    let c_status = c.http("/api/crdt/mesh/status");
    eventually("C to record the refusal", || async {
        let (_, body, _) = send(reqwest::Method::GET, &c_status, Some(&admin), "").await;
        body.to_string().contains("401").then_some(())
    })
    .await;
    for relay in [c, b, a] {
        relay.stop().await;
    }
}
