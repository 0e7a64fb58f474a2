//! The same storage rules checked on both stores: the directory store always, PostgreSQL
//! when `RUNMESH_TEST_DATABASE_URL` names a database (`.ci/postgres.sh` starts one and CI
//! sets it; `RUNMESH_REQUIRE_POSTGRES=1` makes its absence a failure).

use crate::common::*;
use runmesh_core::{DocumentId, RunId};
use runmesh_relay::store::{DirStore, EventMeta, PgStore, Store};

fn database_url() -> Option<String> {
    let url = std::env::var("RUNMESH_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty());
    if url.is_none() {
        assert!(
            std::env::var("RUNMESH_REQUIRE_POSTGRES").is_err(),
            "RUNMESH_REQUIRE_POSTGRES is set but RUNMESH_TEST_DATABASE_URL is not"
        );
        eprintln!("RUNMESH_TEST_DATABASE_URL is not set: skipping the PostgreSQL half");
    }
    url
}

fn meta(lamport: u64) -> EventMeta {
    EventMeta {
        source_region: "test".into(),
        lamport,
    }
}

/// Appends, snapshots with retention, loads and lists, as the relay uses a store.
fn storage_rules(store: &dyn Store) {
    let doc: DocumentId = RunId::random().document_id();
    assert!(
        store.load(&doc).unwrap().is_none(),
        "unknown documents load as None"
    );
    store.append(&doc, b"one", &meta(1)).unwrap();
    store.append(&doc, b"two", &meta(2)).unwrap();
    let stored = store.load(&doc).unwrap().unwrap();
    assert_eq!(stored.snapshot, None);
    assert_eq!(stored.chunks, [b"one".to_vec(), b"two".to_vec()]);

    store.snapshot(&doc, b"snap-1", &meta(2), 2).unwrap();
    store.append(&doc, b"three", &meta(3)).unwrap();
    let stored = store.load(&doc).unwrap().unwrap();
    assert_eq!(stored.snapshot.as_deref(), Some(&b"snap-1"[..]));
    assert_eq!(
        stored.chunks,
        [b"three".to_vec()],
        "only chunks after the snapshot"
    );

    for i in 2..6u8 {
        store
            .snapshot(&doc, &[b's', i], &meta(10 + u64::from(i)), 2)
            .unwrap();
        store.append(&doc, &[b'c', i], &meta(20)).unwrap();
    }
    let stored = store.load(&doc).unwrap().unwrap();
    assert_eq!(stored.snapshot.as_deref(), Some(&[b's', 5][..]));
    assert_eq!(stored.chunks, [vec![b'c', 5]]);
    assert!(store.list().unwrap().contains(&doc));
}

#[test]
fn the_directory_store_keeps_the_rules() {
    let tmp = tempfile::tempdir().unwrap();
    storage_rules(&DirStore::open(tmp.path()).unwrap());
}

#[test]
fn the_postgres_store_keeps_the_rules_and_its_tables_are_the_spec_s() {
    let Some(url) = database_url() else { return };
    let store = PgStore::connect(&url).unwrap();
    storage_rules(&store);
    // Migrations are idempotent: a second relay on the same database starts cleanly.
    let again = PgStore::connect(&url).unwrap();
    assert!(!again.list().unwrap().is_empty());
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    for (table, column) in [
        ("crdt_snapshots", "snapshot_data"),
        ("crdt_snapshots", "lamport_timestamp"),
        ("crdt_snapshots", "event_count"),
        ("collaboration_events", "crdt_changes"),
        ("collaboration_events", "source_region"),
        ("collaboration_events", "lamport_timestamp"),
    ] {
        let found: i64 = client
            .query_one(
                "SELECT count(*) FROM information_schema.columns WHERE table_name = $1 AND column_name = $2",
                &[&table, &column],
            )
            .unwrap()
            .get(0);
        assert_eq!(found, 1, "{table}.{column}");
    }
}

#[tokio::test]
async fn a_relay_on_postgres_keeps_every_change_across_a_restart() {
    let Some(url) = database_url() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let with_pg = |c: &mut runmesh_relay::Config| {
        c.database_url = Some(url.clone());
        c.snapshot_interval_events = 3;
    };
    let run = RunId::random();
    let relay = TestRelay::start_in(tmp.path(), "pg", with_pg).await;
    for i in 0..8 {
        let (status, body) = post(
            &relay.http(&format!("/app/runs/{run}/graft")),
            format!(r#"{{"after": "step1", "agentName": "Agent{i}"}}"#),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }
    let before = get(&relay.http(&format!("/api/crdt/runs/{run}/state")))
        .await
        .1;
    relay.stop().await;
    assert!(
        std::fs::read_dir(tmp.path().join("runs")).map_or(true, |mut d| d.next().is_none()),
        "nothing went to the data directory"
    );

    let relay = TestRelay::start_in(tmp.path(), "pg", with_pg).await;
    let (status, after) = get(&relay.http(&format!("/api/crdt/runs/{run}/state"))).await;
    assert_eq!(status, 200);
    assert_eq!(after["grafts"], before["grafts"]);
    assert_eq!(after["grafts"].as_array().unwrap().len(), 8);
    relay.stop().await;
}
