//! The PostgreSQL schema's migrations: a database made by the first schema is brought up
//! to date with its data kept (needs `RUNMESH_TEST_DATABASE_URL`, as `store.rs`).

use runmesh_testkit::pg::{Schema, admin, database_url};

use runmesh_core::RunId;
use runmesh_core::digest::Fingerprint;
use runmesh_relay::store::{EventMeta, PgStore, Store};

use crate::store::Writer;

/// A database made by the first schema, with a run in it, is brought up to date with its
/// data kept: every primary key then includes `run_id` (as Citus needs) and regions take
/// 64 characters. Runs in a schema of its own (`search_path` in the URL).
#[tokio::test]
async fn the_migration_from_the_first_schema_keeps_the_data() {
    let Some(url) = database_url() else { return };
    let schema = Schema::create(&url).await;
    let old = admin(&schema.url).await;
    old.batch_execute(FIRST_SCHEMA).await.unwrap();
    let run = RunId::random();
    let mut w = Writer::create(run);
    let chunk = w.graft("Kept");
    let uuid = uuid::Uuid::from_bytes(*run.as_bytes());
    old.execute(
        "INSERT INTO collaboration_events (run_id, crdt_changes, source_region, lamport_timestamp)
         VALUES ($1, $2, 'eu-west-1', 2)",
        &[&uuid, &chunk],
    )
    .await
    .unwrap();

    let store = PgStore::connect(&schema.url).await.unwrap();
    assert_eq!(
        Writer::agents(&store, run).await,
        ["Kept".to_owned()].into()
    );
    assert_eq!(
        store.fingerprints().await.unwrap(),
        [(run.document_id(), None)],
        "a run stored before the fingerprints is not known"
    );
    for table in ["crdt_snapshots", "collaboration_events"] {
        let key: Vec<String> = old
            .query(
                "SELECT a.attname::text FROM pg_index i
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
                 WHERE i.indrelid = $1::text::regclass AND i.indisprimary ORDER BY a.attname",
                &[&format!("{}.{table}", schema.name)],
            )
            .await
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect();
        assert_eq!(key, ["id", "run_id"], "{table}'s primary key");
    }
    let long = "r".repeat(64);
    let chunk = w.graft("LongRegion");
    let meta = EventMeta {
        source_region: long,
        lamport: 3,
        heads: None,
        base: None,
    };
    store
        .append(&run.document_id(), &chunk, &meta)
        .await
        .unwrap();
    store
        .snapshot(&run.document_id(), &w.0.save(), &meta, 1)
        .await
        .unwrap();
    assert_eq!(Writer::agents(&store, run).await.len(), 2);
    assert_eq!(
        store.fingerprints().await.unwrap(),
        [(run.document_id(), Some(Fingerprint::of_heads(&w.0.heads())))],
        "a snapshot makes it known"
    );
    drop(store);
    schema.drop_all().await;
}

/// The schema as the first release created it, with its migration recorded.
const FIRST_SCHEMA: &str = "CREATE TABLE crdt_snapshots (
        id UUID PRIMARY KEY,
        run_id UUID NOT NULL,
        snapshot_data BYTEA NOT NULL,
        lamport_timestamp BIGINT NOT NULL,
        region VARCHAR(50) NOT NULL,
        created_at TIMESTAMP NOT NULL DEFAULT now(),
        event_count INTEGER,
        seq BIGINT GENERATED ALWAYS AS IDENTITY,
        after_event BIGINT NOT NULL DEFAULT 0
    );
    CREATE INDEX crdt_snapshots_run ON crdt_snapshots (run_id, seq);
    CREATE TABLE collaboration_events (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        run_id UUID NOT NULL,
        crdt_changes BYTEA NOT NULL,
        source_region VARCHAR(50) NOT NULL,
        lamport_timestamp BIGINT NOT NULL,
        created_at TIMESTAMP NOT NULL DEFAULT now()
    );
    CREATE INDEX collaboration_events_run ON collaboration_events (run_id, id);
    CREATE TABLE runmesh_migrations (version INTEGER PRIMARY KEY);
    INSERT INTO runmesh_migrations VALUES (1);";

/// Relays sharing a database agree on its epoch (what other regions are told it holds
/// stays true while it lives); a database made again gets a new one.
#[tokio::test]
async fn relays_sharing_a_database_share_its_epoch_and_a_new_database_has_a_new_one() {
    let Some(url) = database_url() else { return };
    let first = Schema::create(&url).await;
    let a = PgStore::connect(&first.url).await.unwrap();
    let b = PgStore::connect(&first.url).await.unwrap();
    assert_eq!(a.epoch(), b.epoch());
    let second = Schema::create(&url).await;
    let c = PgStore::connect(&second.url).await.unwrap();
    assert_ne!(c.epoch(), a.epoch());
}
