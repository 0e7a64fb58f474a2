//! Several relays on one PostgreSQL (no mesh between them): what one stores reaches the
//! clients of the others through the database's notifications, and nothing acknowledged
//! is lost when one of them dies. Skipped without `RUNMESH_TEST_DATABASE_URL`.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::RELAY;
use runmesh_core::{Identity, RunDoc, RunId, RunState};
use runmesh_testkit::pg::database_url;
use runmesh_testkit::relay::*;

fn on(url: &str) -> impl FnOnce(&mut runmesh_relay::Config) + '_ {
    move |c: &mut runmesh_relay::Config| {
        c.database_url = Some(url.to_owned());
        c.snapshot_interval_events = 4;
    }
}

async fn relays(url: &str, n: usize) -> (Vec<TestRelay>, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let mut relays = Vec::new();
    for i in 0..n {
        let dir = tmp.path().join(format!("r{i}"));
        std::fs::create_dir(&dir).unwrap();
        relays.push(TestRelay::start_in(&dir, "pg", on(url)).await);
    }
    (relays, tmp)
}

async fn graft(base: &str, run: RunId, agent: &str) -> u16 {
    let url = format!("{base}/app/runs/{run}/graft");
    post(
        &url,
        format!(r#"{{"after": "step1", "agentName": "{agent}"}}"#),
    )
    .await
    .0
}

fn agents(state: &RunState) -> BTreeSet<String> {
    state.grafts.iter().map(|g| g.agent_name.clone()).collect()
}

async fn rest_agents(base: &str, run: RunId) -> BTreeSet<String> {
    let (status, state) = get(&format!("{base}/api/crdt/runs/{run}/state")).await;
    assert_eq!(status, 200, "{state}");
    state["grafts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["agentName"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_client_on_one_relay_sees_a_change_stored_through_another() {
    let Some(url) = database_url() else { return };
    let (relays, _tmp) = relays(&url, 2).await;
    let (a, b) = (&relays[0], &relays[1]);
    let run = RunId::random();
    assert_eq!(graft(&a.base(), run, "Base").await, 201);
    let mut on_b = SyncClient::fresh(b, run, "pg", "bob").await;
    on_b.open(true).await;
    on_b.wait_for("the run from the database", |s| agents(s).contains("Base"))
        .await;
    assert_eq!(graft(&a.base(), run, "FromA").await, 201);
    on_b.wait_for("A's graft, live", |s| agents(s).contains("FromA"))
        .await;
    // And the other way: a client's change on B reaches A's copy in memory.
    on_b.run.graft("step1", "FromB", 5).unwrap();
    on_b.push().await;
    eventually("B's client's graft on A", || {
        let base = a.base();
        async move {
            rest_agents(&base, run)
                .await
                .contains("FromB")
                .then_some(())
        }
    })
    .await;
    for relay in relays {
        relay.stop().await;
    }
}

#[tokio::test]
async fn clients_spread_over_three_relays_converge() {
    let Some(url) = database_url() else { return };
    let (relays, _tmp) = relays(&url, 3).await;
    let run = RunId::random();
    assert_eq!(graft(&relays[0].base(), run, "Base").await, 201);
    let mut clients = Vec::new();
    for (i, relay) in relays.iter().enumerate() {
        let mut client = SyncClient::fresh(relay, run, "pg", &format!("user{i}")).await;
        client.open(true).await;
        client
            .wait_for("the run", |s| agents(s).contains("Base"))
            .await;
        clients.push(client);
    }
    // Every client grafts while the others do.
    for round in 0..5 {
        for (i, client) in clients.iter_mut().enumerate() {
            client
                .run
                .graft("step1", &format!("c{i}-{round}"), 10 + round)
                .unwrap();
            client.push().await;
        }
    }
    let mut want: BTreeSet<String> = (0..3)
        .flat_map(|i| (0..5).map(move |r| format!("c{i}-{r}")))
        .collect();
    want.insert("Base".into());
    let mut heads = Vec::new();
    for client in &mut clients {
        let expected = want.clone();
        client
            .wait_for("every client's grafts", move |s| agents(s) == expected)
            .await;
        let mut h = client.run.heads();
        h.sort();
        heads.push(h);
    }
    assert!(heads.windows(2).all(|w| w[0] == w[1]), "{heads:?}");
    for relay in relays {
        relay.stop().await;
    }
}

/// The release binary twice on one database; a burst of grafts into the first, which is
/// killed (SIGKILL) in the middle of it. Every graft it answered 201 is on the second,
/// and a client that was on the first reconnects to the second and gets its own
/// changes there.
#[tokio::test]
async fn a_relay_killed_mid_burst_loses_nothing_it_acknowledged() {
    let Some(url) = database_url() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let args = ["--region", "pg", "--database-url", &url];
    let (dx, dy) = (tmp.path().join("x"), tmp.path().join("y"));
    std::fs::create_dir(&dx).unwrap();
    std::fs::create_dir(&dy).unwrap();
    let mut x = RELAY.spawn(&dx, &args);
    let mut y = RELAY.spawn(&dy, &args);
    let run = RunId::random();
    assert_eq!(graft(&x.base, run, "Base").await, 201);

    // A client on X with a change of its own it has pushed.
    let ws_x = x.base.replace("http://", "ws://") + "/ws";
    let identity = Identity::random("pg", "carol").unwrap();
    let mut carol = SyncClient::connect_url(&ws_x, RunDoc::genesis(run, identity)).await;
    carol.open(true).await;
    carol
        .wait_for("the run", |s| agents(s).contains("Base"))
        .await;
    carol.run.graft("step1", "Carol", 3).unwrap();
    carol.push().await;
    carol.wait_relay_has_all(&x.base).await;

    // The burst: four writers graft as fast as X answers, until X is gone; X is killed
    // once 20 grafts were acknowledged, with more in flight.
    let acked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (base, acked) = (x.base.clone(), acked.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut acknowledged = Vec::new();
                for i in 0.. {
                    let agent = format!("Burst{w}-{i}");
                    let sent = client
                        .post(format!("{base}/app/runs/{run}/graft"))
                        .header("content-type", "application/json")
                        .body(format!(r#"{{"after": "step1", "agentName": "{agent}"}}"#))
                        .send()
                        .await;
                    match sent.map(|r| r.status().as_u16()) {
                        Ok(201) => {
                            acked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            acknowledged.push(agent);
                        }
                        _ => return acknowledged,
                    }
                }
                unreachable!()
            })
        })
        .collect();
    eventually("20 grafts acknowledged", || {
        let n = acked.load(std::sync::atomic::Ordering::SeqCst);
        async move { (n >= 20).then_some(()) }
    })
    .await;
    x.child.kill().unwrap();
    x.child.wait().unwrap();
    let mut acknowledged = BTreeSet::new();
    for writer in writers {
        acknowledged.extend(writer.await.unwrap());
    }
    let on_y = rest_agents(&y.base, run).await;
    let lost: Vec<_> = acknowledged.difference(&on_y).collect();
    assert!(lost.is_empty(), "acknowledged by X, missing on Y: {lost:?}");
    assert!(on_y.contains("Carol"));

    // Carol reconnects to Y and carries on there.
    let ws_y = y.base.replace("http://", "ws://") + "/ws";
    let mut carol = SyncClient::connect_url(&ws_y, carol.run).await;
    carol.open(false).await;
    carol.run.graft("step1", "CarolOnY", 4).unwrap();
    carol.push().await;
    // (Y holds grafts Carol lacks, so "Y has exactly Carol's heads" never holds: wait for
    // her graft on Y, then for everything Y has on her side.)
    for _ in 0..200 {
        if rest_agents(&y.base, run).await.contains("CarolOnY") {
            break;
        }
        carol.pump(Duration::from_millis(50)).await;
    }
    let want = rest_agents(&y.base, run).await;
    assert!(want.contains("CarolOnY"));
    carol
        .wait_for("everything Y has", move |s| agents(s) == want)
        .await;
    eprintln!(
        "{} grafts acknowledged before the kill; all on the other relay",
        acknowledged.len()
    );
    y.child.kill().unwrap();
    y.child.wait().unwrap();
}

/// B's listening connection is cut (as a failover or a proxy restart would); A stores a
/// graft while B is not listening. B reconnects, reads what it missed, and its client
/// gets the graft.
#[tokio::test]
async fn a_relay_that_stopped_listening_catches_up() {
    let Some(url) = database_url() else { return };
    let (relays, _tmp) = relays(&url, 2).await;
    let (a, b) = (&relays[0], &relays[1]);
    let run = RunId::random();
    assert_eq!(graft(&a.base(), run, "Base").await, 201);
    let mut on_b = SyncClient::fresh(b, run, "pg", "bob").await;
    on_b.open(true).await;
    on_b.wait_for("the run", |s| agents(s).contains("Base"))
        .await;
    let (admin, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let cut: i64 = admin
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE query LIKE 'LISTEN runmesh_events%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(cut >= 2, "both relays were listening ({cut} cut)");
    assert_eq!(graft(&a.base(), run, "WhileDeaf").await, 201);
    on_b.wait_for("the graft made while B was not listening", |s| {
        agents(s).contains("WhileDeaf")
    })
    .await;
    for relay in relays {
        relay.stop().await;
    }
}
