//! The tables and their migrations, run at start-up by whichever relay comes first.

use deadpool_postgres::Pool;

use runmesh_core::reach::StoreEpoch;

use crate::store::StoreError;
use crate::store::pg::pg_err;

/// The schema, one statement per migration; `runmesh_migrations` records which ran.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE crdt_snapshots (
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
    CREATE INDEX collaboration_events_run ON collaboration_events (run_id, id);",
    // Citus distributes these tables by run: every primary key includes `run_id`. Regions
    // are up to 64 bytes (the relay's limit), so never longer than 64 characters.
    "ALTER TABLE crdt_snapshots DROP CONSTRAINT crdt_snapshots_pkey,
        ADD PRIMARY KEY (run_id, id),
        ALTER COLUMN region TYPE VARCHAR(64);
    ALTER TABLE collaboration_events DROP CONSTRAINT collaboration_events_pkey,
        ADD PRIMARY KEY (run_id, id),
        ALTER COLUMN source_region TYPE VARCHAR(64);
    DROP INDEX collaboration_events_run;",
    // The fingerprint of each run's stored heads, for the mesh's reconciliation (NULL:
    // not known; see `digests.rs`). Runs stored before it are not known.
    "CREATE TABLE crdt_run_digests (
        run_id UUID PRIMARY KEY,
        heads BYTEA
    );
    INSERT INTO crdt_run_digests (run_id)
        SELECT run_id FROM crdt_snapshots UNION SELECT run_id FROM collaboration_events;",
    // The database's life, one row: what other regions were told it holds stays true
    // while it lives (`runmesh_core::reach`).
    "CREATE TABLE runmesh_store (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        created_ms BIGINT NOT NULL,
        nonce BIGINT NOT NULL
    );",
];

/// Brings the schema up to date (one migrator at a time: relays may share a database).
pub(crate) async fn migrate(pool: &Pool) -> Result<(), StoreError> {
    let mut client = pool
        .get()
        .await
        .map_err(|e| StoreError::new("-", "connecting to PostgreSQL", e))?;
    let tx = client
        .transaction()
        .await
        .map_err(pg_err("-", "starting the migration"))?;
    tx.batch_execute(
        "SELECT pg_advisory_xact_lock(7286001);
         CREATE TABLE IF NOT EXISTS runmesh_migrations (version INTEGER PRIMARY KEY);",
    )
    .await
    .map_err(pg_err("-", "creating the migrations table"))?;
    let done: i64 = tx
        .query_one("SELECT count(*) FROM runmesh_migrations", &[])
        .await
        .map_err(pg_err("-", "reading the migrations table"))?
        .get(0);
    for (version, sql) in MIGRATIONS.iter().enumerate().skip(done as usize) {
        tx.batch_execute(sql)
            .await
            .map_err(pg_err("-", "running a migration"))?;
        tx.execute(
            "INSERT INTO runmesh_migrations (version) VALUES ($1)",
            &[&(version as i32 + 1)],
        )
        .await
        .map_err(pg_err("-", "recording a migration"))?;
    }
    tx.commit()
        .await
        .map_err(pg_err("-", "committing the migration"))
}

/// The database's epoch, made by whichever relay asks first.
pub(crate) async fn epoch(pool: &Pool) -> Result<StoreEpoch, StoreError> {
    let fresh = crate::store::epoch::fresh()
        .map_err(|e| StoreError::new("-", "making the store's epoch", e))?;
    let client = pool
        .get()
        .await
        .map_err(|e| StoreError::new("-", "connecting to PostgreSQL", e))?;
    // BIGINT is signed: the numbers are stored as their bits.
    let (created, nonce) = (fresh.created_ms as i64, fresh.nonce as i64);
    client
        .execute(
            "INSERT INTO runmesh_store (id, created_ms, nonce) VALUES (1, $1, $2)
             ON CONFLICT (id) DO NOTHING",
            &[&created, &nonce],
        )
        .await
        .map_err(pg_err("-", "recording the store's epoch"))?;
    let row = client
        .query_one(
            "SELECT created_ms, nonce FROM runmesh_store WHERE id = 1",
            &[],
        )
        .await
        .map_err(pg_err("-", "reading the store's epoch"))?;
    Ok(StoreEpoch {
        created_ms: row.get::<_, i64>(0) as u64,
        nonce: row.get::<_, i64>(1) as u64,
    })
}
