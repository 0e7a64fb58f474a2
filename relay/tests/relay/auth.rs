//! Auth and rate limits against a real relay: JWTs on REST and /ws (missing, expired,
//! wrong run, read-only), ES256/RS256 keys, the per-user rate limit, and mesh peers that
//! must present the mesh token.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use runmesh_core::sync::{PeerId, PeerMetadata, WireMessage};
use runmesh_core::{Identity, RunDoc, RunId};
use runmesh_relay::client::Connection;
use runmesh_testkit::relay::*;

pub(crate) const SECRET: &str = "test-secret-0123456789abcdef";
pub(crate) const MESH: &str = "mesh-secret-0123456789abcdef";

pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub(crate) fn hs256(sub: &str, exp: u64, runs: serde_json::Value) -> String {
    let claims = serde_json::json!({ "sub": sub, "exp": exp, "runs": runs });
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

pub(crate) async fn secured(
    tweak: impl FnOnce(&mut runmesh_relay::Config),
) -> (TestRelay, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start_in(tmp.path(), "auth", |c| {
        c.auth.jwt_secret = Some(SECRET.into());
        tweak(c);
    })
    .await;
    (relay, tmp)
}

pub(crate) async fn send(
    method: reqwest::Method,
    url: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, serde_json::Value, reqwest::header::HeaderMap) {
    let mut req = reqwest::Client::new()
        .request(method, url)
        .body(body.to_owned());
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let json = resp.json().await.unwrap_or(serde_json::Value::Null);
    (status, json, headers)
}

pub(crate) fn graft_body(agent: &str) -> String {
    format!(r#"{{"after": "step1", "agentName": "{agent}"}}"#)
}

#[tokio::test]
async fn missing_expired_and_wrong_run_tokens_are_refused() {
    let (relay, _tmp) = secured(|_| {}).await;
    let run = RunId::random();
    let other = RunId::random();
    let graft = relay.http(&format!("/app/runs/{run}/graft"));
    let state = relay.http(&format!("/api/crdt/runs/{run}/state"));
    use reqwest::Method;

    let (status, body, _) = send(Method::POST, &graft, None, &graft_body("A")).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "unauthorized");
    assert!(
        body["message"].as_str().unwrap().contains("missing token"),
        "{body}"
    );

    let expired = hs256("ada", now() - 3600, serde_json::json!({ "*": "write" }));
    let (status, body, _) = send(Method::GET, &state, Some(&expired), "").await;
    assert_eq!(
        (status, body["message"].as_str().unwrap()),
        (401, "token expired")
    );

    let forged = hs256("ada", now() + 60, serde_json::json!({ "*": "write" })).replace('.', ".x");
    let (status, _, _) = send(Method::GET, &state, Some(&forged), "").await;
    assert_eq!(status, 401);

    let wrong_run = hs256(
        "ada",
        now() + 60,
        serde_json::json!({ other.to_string(): "write" }),
    );
    let (status, body, _) = send(Method::POST, &graft, Some(&wrong_run), &graft_body("A")).await;
    assert_eq!(status, 403);
    assert_eq!(
        body["message"],
        format!("this token grants no access to run {run}")
    );
    let (status, _, _) = send(Method::GET, &state, Some(&wrong_run), "").await;
    assert_eq!(status, 403);

    // Nothing was created by the refused requests.
    let admin = hs256("root", now() + 60, serde_json::json!({ "*": "read" }));
    let (status, _, _) = send(Method::GET, &state, Some(&admin), "").await;
    assert_eq!(status, 404);

    // The WebSocket upgrade is refused without a valid token; with one (query parameter,
    // as browsers send it) the handshake completes, but a run outside the token's claim
    // is refused with an error message.
    let me = PeerId::random("t");
    let err = Connection::connect(&relay.ws(), me.clone(), PeerMetadata::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
    let url = format!("{}?token={expired}", relay.ws());
    let err = Connection::connect(&url, me.clone(), PeerMetadata::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
    let url = format!("{}?token={wrong_run}", relay.ws());
    let mut client = SyncClient::connect_url(&url, RunDoc::genesis(run, who())).await;
    client.open(true).await;
    match client.next_other().await {
        Some(WireMessage::Error { message, .. }) => {
            assert!(
                message.contains(&format!(
                    "forbidden: this token grants no access to run {run}"
                )),
                "{message}"
            )
        }
        other => panic!("expected an error, got {other:?}"),
    }
    relay.stop().await;
}

fn who() -> Identity {
    Identity::random("eu", "tester").unwrap()
}

#[tokio::test]
async fn a_read_only_token_cannot_write_over_rest_or_websocket() {
    let (relay, _tmp) = secured(|_| {}).await;
    let run = RunId::random();
    let writer = hs256(
        "ada",
        now() + 60,
        serde_json::json!({ run.to_string(): "write" }),
    );
    let reader = hs256(
        "bob",
        now() + 60,
        serde_json::json!({ run.to_string(): "read" }),
    );
    use reqwest::Method;
    let graft = relay.http(&format!("/app/runs/{run}/graft"));
    // The run as it is afterwards, asked for by the query flag.
    let whole = format!("{graft}?return=representation");
    let (status, body, _) = send(Method::POST, &whole, Some(&writer), &graft_body("ByAda")).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        body["state"]["grafts"][0]["by"], "ada",
        "the user is the token's sub"
    );

    let (status, body, _) = send(Method::POST, &graft, Some(&reader), &graft_body("ByBob")).await;
    assert_eq!(status, 403);
    assert_eq!(
        body["message"],
        format!("this token grants read on run {run}; a change needs write")
    );

    // Over the WebSocket the reader receives the run…
    let url = format!("{}?token={reader}", relay.ws());
    let mut bob = SyncClient::connect_url(&url, RunDoc::genesis(run, who())).await;
    bob.open(true).await;
    bob.wait_for("the run to arrive", |s| s.grafts.len() == 1)
        .await;
    // …but its changes are refused with an error, and nothing is applied.
    bob.run.graft("step1", "Sneaky", 1).unwrap();
    bob.push().await;
    match bob.next_other().await {
        Some(WireMessage::Error { message, .. }) => assert!(
            message.contains("changes refused, nothing applied: this token grants read"),
            "{message}"
        ),
        other => panic!("expected an error, got {other:?}"),
    }
    let state = relay.http(&format!("/api/crdt/runs/{run}/state"));
    let (_, body, _) = send(Method::GET, &state, Some(&reader), "").await;
    let agents: Vec<_> = body["grafts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["agentName"].clone())
        .collect();
    assert_eq!(agents, ["ByAda"]);
    relay.stop().await;
}

#[tokio::test]
async fn the_rate_limit_holds_over_rest_and_websocket() {
    let (relay, _tmp) = secured(|c| c.rate_limit_per_minute = 5.try_into().unwrap()).await;
    let run = RunId::random();
    let ada = hs256("ada", now() + 60, serde_json::json!({ "*": "write" }));
    let graft = relay.http(&format!("/app/runs/{run}/graft"));
    use reqwest::Method;
    for i in 0..5 {
        let (status, body, _) = send(
            Method::POST,
            &graft,
            Some(&ada),
            &graft_body(&format!("A{i}")),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, body, headers) =
        send(Method::POST, &graft, Some(&ada), &graft_body("TooMany")).await;
    assert_eq!(status, 429);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("rate limit: ada may make 5 changes per minute"),
        "{body}"
    );
    assert!(headers.contains_key("retry-after"));

    // The same user over the WebSocket has no allowance left either.
    let url = format!("{}?token={ada}", relay.ws());
    let mut client = SyncClient::connect_url(&url, RunDoc::genesis(run, who())).await;
    client.open(true).await;
    client.wait_for("the run", |s| s.grafts.len() == 5).await;
    client.run.graft("step1", "OverWs", 1).unwrap();
    client.push().await;
    match client.next_other().await {
        Some(WireMessage::Error { message, .. }) => {
            assert!(message.contains("rate limit: ada"), "{message}")
        }
        other => panic!("expected an error, got {other:?}"),
    }
    // Another user still has theirs.
    let bob = hs256("bob", now() + 60, serde_json::json!({ "*": "write" }));
    let whole = format!("{graft}?return=representation");
    let (status, body, _) = send(Method::POST, &whole, Some(&bob), &graft_body("Bob")).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        body["state"]["grafts"].as_array().unwrap().len(),
        6,
        "nothing of ada's refused changes landed"
    );
    let reader = hs256("prometheus", now() + 60, serde_json::json!({ "*": "read" }));
    let text = reqwest::Client::new()
        .get(relay.http("/metrics"))
        .bearer_auth(reader)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("runmesh_rate_limited_total{region=\"auth\"} 2"),
        "{text}"
    );
    relay.stop().await;
}

#[tokio::test]
async fn es256_and_rs256_public_keys_verify_their_tokens() {
    let keys = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/keys");
    for (public, private, alg) in [
        ("ec-public.pem", "ec-private.pk8.pem", Algorithm::ES256),
        ("rsa-public.pem", "rsa-private.pem", Algorithm::RS256),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let pem = std::fs::read_to_string(keys.join(public)).unwrap();
        let relay =
            TestRelay::start_in(tmp.path(), "keys", |c| c.auth.jwt_public_key = Some(pem)).await;
        let private = std::fs::read(keys.join(private)).unwrap();
        let key = match alg {
            Algorithm::ES256 => EncodingKey::from_ec_pem(&private).unwrap(),
            _ => EncodingKey::from_rsa_pem(&private).unwrap(),
        };
        let claims =
            serde_json::json!({ "sub": "ada", "exp": now() + 60, "runs": { "*": "write" } });
        let token = encode(&Header::new(alg), &claims, &key).unwrap();
        let run = RunId::random();
        let graft = relay.http(&format!("/app/runs/{run}/graft"));
        let (status, body, _) = send(
            reqwest::Method::POST,
            &graft,
            Some(&token),
            &graft_body("A"),
        )
        .await;
        assert_eq!(status, 201, "{alg:?}: {body}");
        let hs = hs256("ada", now() + 60, serde_json::json!({ "*": "write" }));
        let (status, _, _) = send(reqwest::Method::POST, &graft, Some(&hs), &graft_body("B")).await;
        assert_eq!(status, 401, "{alg:?}: an HS256 token must not pass");
        relay.stop().await;
    }
}

/// Undo needs write on the run; a fork needs read on the run and write on the new one;
/// a merge needs write here and read on the run merged from.
#[tokio::test]
async fn undo_fork_and_merge_respect_the_token_scopes() {
    use reqwest::Method;
    let (relay, _tmp) = secured(|_| {}).await;
    let (run, fork) = (RunId::random(), RunId::random());
    let token = |runs: serde_json::Value| hs256("ada", now() + 60, runs);
    let admin = token(serde_json::json!({ "*": "write" }));
    let graft = relay.http(&format!("/app/runs/{run}/graft"));
    let (status, _, _) = send(Method::POST, &graft, Some(&admin), &graft_body("A")).await;
    assert_eq!(status, 201);
    let api = |path: &str| relay.http(&format!("/api/crdt/runs/{run}/{path}"));
    let (_, history, _) = send(Method::GET, &api("history"), Some(&admin), "").await;
    let change = history["history"].as_array().unwrap().last().unwrap()["hash"].clone();
    let undo = serde_json::json!({ "change": change }).to_string();
    let fork_body = serde_json::json!({ "runId": fork }).to_string();

    let reader = token(serde_json::json!({ run.to_string(): "read" }));
    let (status, body, _) = send(Method::POST, &api("undo"), Some(&reader), &undo).await;
    assert_eq!(status, 403, "{body}");
    let (status, body, _) = send(Method::POST, &api("fork"), Some(&reader), &fork_body).await;
    assert_eq!(status, 403, "no write on the new run: {body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains(&fork.to_string()),
        "{body}"
    );

    let forker = token(serde_json::json!({ run.to_string(): "read", fork.to_string(): "write" }));
    let (status, body, _) = send(Method::POST, &api("fork"), Some(&forker), &fork_body).await;
    assert_eq!(status, 201, "{body}");

    let merge = serde_json::json!({ "from": fork }).to_string();
    let blind = token(serde_json::json!({ run.to_string(): "write" }));
    let (status, body, _) = send(Method::POST, &api("merge"), Some(&blind), &merge).await;
    assert_eq!(status, 403, "no read on the fork: {body}");
    let (status, body, _) = send(Method::POST, &api("merge"), Some(&forker), &merge).await;
    assert_eq!(status, 403, "no write on the run: {body}");
    let merger = token(serde_json::json!({ run.to_string(): "write", fork.to_string(): "read" }));
    let (status, body, _) = send(Method::POST, &api("merge"), Some(&merger), &merge).await;
    assert_eq!(status, 200, "{body}");
    let writer = token(serde_json::json!({ run.to_string(): "write" }));
    let (status, body, _) = send(Method::POST, &api("undo"), Some(&writer), &undo).await;
    assert_eq!(status, 200, "{body}");
    relay.stop().await;
}
