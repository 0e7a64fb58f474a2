//! The relay binary's operator commands against real relays: `token`, `health`,
//! `export`/`import`, and verification keys rotated on SIGHUP: a session lives through the
//! switch, and ends, saying why, once the key its token was signed with is removed.

use crate::RELAY;
use crate::sse::Consumer;
use runmesh_core::sync::{PeerId, PeerMetadata, WireMessage};
use runmesh_core::{Identity, RunDoc, RunId};
use runmesh_relay::client::Connection;
use runmesh_testkit::relay::*;

const SECRET: &str = "ops-secret-0123456789abcdef";

async fn graft_with(base: &str, run: RunId, token: &str, agent: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{base}/app/runs/{run}/graft"))
        .bearer_auth(token)
        .body(format!(r#"{{"after":"step1","agentName":"{agent}"}}"#))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn mint(secret: &str, runs: &[&str]) -> String {
    let mut args = vec!["token", "--sub", "alice", "--ttl", "1h"];
    for run in runs {
        args.extend(["--run", run]);
    }
    let (ok, out, err) = RELAY.command(&args, &[("JWT_SECRET", secret)]);
    assert!(ok, "token failed: {err}");
    out.trim().to_owned()
}

#[tokio::test]
async fn a_minted_token_is_accepted_for_its_runs_only() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = RELAY.spawn(tmp.path(), &["--jwt-secret", SECRET]);
    let (mine, other) = (RunId::random(), RunId::random());
    let token = mint(SECRET, &[&format!("{mine}=write")]);
    assert_eq!(graft_with(&relay.base, mine, &token, "A").await, 201);
    assert_eq!(graft_with(&relay.base, other, &token, "A").await, 403);
    let (ok, _, err) = RELAY.command(
        &["token", "--sub", "a", "--run", "nope=write"],
        &[("JWT_SECRET", SECRET)],
    );
    assert!(!ok && err.contains("--run \"nope=write\""), "{err}");
    let (ok, _, err) = RELAY.command(&["token", "--sub", "a", "--run", "*=read"], &[]);
    assert!(!ok && err.contains("no key"), "{err}");
}

#[tokio::test]
async fn health_exits_zero_for_a_ready_relay_and_one_otherwise() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = RELAY.spawn(tmp.path(), &[]);
    let (ok, out, _) = RELAY.command(&["health", &relay.base], &[]);
    assert!(ok && out.contains("200"), "{out}");
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nobody = format!("http://{}", free.local_addr().unwrap());
    drop(free);
    let (ok, _, err) = RELAY.command(&["health", &nobody, "--timeout-secs", "2"], &[]);
    assert!(!ok && err.contains("not ready"), "{err}");
    // A path that answers, but not 200, is not ready either.
    let missing = format!("{}/health/nothing", relay.base);
    let (ok, _, err) = RELAY.command(&["health", &missing], &[]);
    assert!(!ok && err.contains("404"), "{err}");
}

#[tokio::test]
async fn keys_rotate_on_sighup_and_sessions_end_when_their_key_is_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let keys = tmp.path().join("jwt-keys");
    let (old, new) = ("old-secret-0123456789", "new-secret-0123456789");
    std::fs::write(&keys, format!("hs256 {old}\n")).unwrap();
    let data = tmp.path().join("data");
    let relay = RELAY.spawn(&data, &["--jwt-keys", keys.to_str().unwrap()]);
    let run = RunId::random();
    let (old_token, new_token) = (mint(old, &["*=write"]), mint(new, &["*=write"]));
    assert_eq!(graft_with(&relay.base, run, &old_token, "Old").await, 201);
    assert_eq!(graft_with(&relay.base, run, &new_token, "New").await, 401);

    // A session opened with the old key, syncing the run.
    let conn = Connection::connect_with_token(
        &relay.ws(),
        PeerId::random("ops"),
        PeerMetadata::default(),
        Some(&old_token),
    )
    .await
    .unwrap();
    let mut client = SyncClient::from_connection(
        conn,
        RunDoc::genesis(run, Identity::random("ops", "bob").unwrap()),
    );
    client.open(true).await;
    client
        .wait_for("the first graft", |s| names(s).contains(&"Old".into()))
        .await;

    let hangup = || {
        let pid = relay.child.id().to_string();
        assert!(
            std::process::Command::new("kill")
                .args(["-HUP", &pid])
                .status()
                .unwrap()
                .success()
        );
    };
    std::fs::write(&keys, format!("hs256 {old}\nhs256 {new}\n")).unwrap();
    hangup();
    eventually("the new key to be accepted", || async {
        (graft_with(&relay.base, run, &new_token, "New").await == 201).then_some(())
    })
    .await;
    // While both keys verify, the session opened with the old key goes on.
    client
        .wait_for("the graft made with the new key", |s| {
            names(s).contains(&"New".into())
        })
        .await;
    let events = format!("{}/api/crdt/runs/{run}/events", relay.base);
    let mut old_feed = Consumer::open(&format!("{events}?token={old_token}"), None).await;
    let mut new_feed = Consumer::open(&format!("{events}?token={new_token}"), None).await;

    std::fs::write(&keys, format!("hs256 {new}\n")).unwrap();
    hangup();
    // What was opened with the old key ends, saying why; the rest goes on.
    let end = old_feed.ended().await;
    assert_eq!(end["code"], "token_revoked", "{end}");
    assert!(
        end["reason"]
            .as_str()
            .unwrap()
            .contains("keys were reloaded"),
        "{end}"
    );
    let told = loop {
        match client.next_other().await {
            Some(WireMessage::Error { message, .. }) => break message,
            Some(_) => {}
            None => panic!("the session closed without saying why"),
        }
    };
    assert!(told.contains("keys were reloaded"), "{told}");
    assert_eq!(graft_with(&relay.base, run, &old_token, "Late").await, 401);
    assert_eq!(graft_with(&relay.base, run, &new_token, "Newer").await, 201);
    let (_, change) = new_feed.next().await;
    assert_eq!(change["diff"]["graftsAdded"][0]["agentName"], "Newer");
}

#[tokio::test]
async fn an_export_taken_while_the_relay_runs_restores_every_run() {
    let tmp = tempfile::tempdir().unwrap();
    let (source_dir, target_dir) = (tmp.path().join("source"), tmp.path().join("target"));
    let source = RELAY.spawn(&source_dir, &["--snapshot-interval-events", "3"]);
    let runs: Vec<RunId> = (0..12).map(|_| RunId::random()).collect();
    for (i, run) in runs.iter().enumerate() {
        for g in 0..=i % 5 {
            let url = format!("{}/app/runs/{run}/graft", source.base);
            let (status, _) =
                post(&url, format!(r#"{{"after":"step1","agentName":"A{g}"}}"#)).await;
            assert_eq!(status, 201);
        }
    }
    let archive = tmp.path().join("runs.tar");
    let source_arg = source_dir.to_str().unwrap();
    let (ok, _, err) = RELAY.command(
        &[
            "export",
            "--data-dir",
            source_arg,
            "--out",
            archive.to_str().unwrap(),
        ],
        &[],
    );
    assert!(ok && err.contains("exported 12 runs"), "{err}");
    let (ok, _, err) = RELAY.command(
        &[
            "import",
            "--data-dir",
            target_dir.to_str().unwrap(),
            archive.to_str().unwrap(),
        ],
        &[],
    );
    assert!(ok && err.contains("imported 12 runs"), "{err}");
    let target = RELAY.spawn(&target_dir, &[]);
    for run in &runs {
        let heads = |base: &str| {
            let url = format!("{base}/api/crdt/runs/{run}/heads");
            async move { get(&url).await.1["heads"].clone() }
        };
        assert_eq!(
            heads(&source.base).await,
            heads(&target.base).await,
            "run {run}"
        );
    }
}
