//! [`PgStore`]: runs in PostgreSQL (`DATABASE_URL`), in the spec's tables.
//!
//! `crdt_snapshots` holds full saves (the spec's columns plus `seq`, their order, and
//! `after_event`); `collaboration_events` holds each appended chunk with `crdt_changes`,
//! `source_region` and `lamport_timestamp`. Loading takes the newest snapshot and the events
//! after it. An append is durable when its transaction has committed (PostgreSQL's
//! `synchronous_commit`, on by default). Migrations run at start-up.
//!
//! Several relays may share one database, each holding its own copy of a run that may lack
//! what the others appended. What keeps every acknowledged change:
//!
//! > **A snapshot contains its predecessor and every event whose id is at most its
//! > `after_event`.**
//!
//! - A snapshot is written under the run's exclusive advisory lock; an append holds the
//!   same lock shared until it commits. So while a snapshot is written no append to the
//!   run is in flight, and every event it can see is every event there will ever be with
//!   an id up to the largest it sees (ids are handed out before commit, so without the
//!   lock a smaller id could still commit later).
//! - The snapshot is the writer's save merged with the newest snapshot and every event
//!   after it, so what another relay appended is in it even if the writer never saw it.
//!   `after_event` is the largest event id at that moment.
//! - Loading takes the newest snapshot and every event after its `after_event`: by the
//!   invariant, nothing is skipped.
//! - Pruning deletes snapshots older than the oldest one kept and the events up to that
//!   one's `after_event`, which it and every newer snapshot contain.

use std::io;
use std::sync::Arc;

use automerge::{Automerge, ReadDoc};
use postgres::NoTls;
use r2d2::Pool;
use r2d2_postgres::PostgresConnectionManager;
use runmesh_core::{DocumentId, RunId};
use uuid::Uuid;

use crate::store::{EventMeta, Store, StoreError, Stored};

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
];

/// A store in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: Arc<Connections>,
}

type PgPool = Pool<PostgresConnectionManager<NoTls>>;

/// The pool, closed off any async runtime: a blocking `postgres` connection closes by
/// running a runtime of its own, which panics on a tokio worker (where a relay that shuts
/// down drops its state), and a panic there aborts the process.
#[derive(Debug)]
struct Connections(Option<PgPool>);

impl Drop for Connections {
    fn drop(&mut self) {
        let Some(pool) = self.0.take() else { return };
        if tokio::runtime::Handle::try_current().is_ok() {
            let _ = std::thread::spawn(move || drop(pool)).join();
        }
    }
}

fn pg_err(doc: &str, action: &'static str) -> impl FnOnce(postgres::Error) -> StoreError {
    let doc = doc.to_owned();
    move |e| StoreError {
        doc,
        action,
        source: io::Error::other(e),
    }
}

fn uuid(doc: &DocumentId) -> Uuid {
    Uuid::from_bytes(*RunId::from(*doc).as_bytes())
}

/// The run's advisory lock: its id's first eight bytes (two runs that share them only
/// wait for each other).
fn lock_key(run: Uuid) -> i64 {
    let (high, _) = run.as_u64_pair();
    high as i64
}

/// `bytes` (a full save) with every change in `stored` (a snapshot and the events after
/// it) that it lacks; `None` when it lacks none.
fn merge<'a>(
    bytes: &[u8],
    stored: impl Iterator<Item = &'a [u8]>,
) -> Result<Option<Vec<u8>>, io::Error> {
    let mut doc = Automerge::load(bytes).map_err(io::Error::other)?;
    let before = doc.get_heads();
    for chunk in stored {
        doc.load_incremental(chunk).map_err(io::Error::other)?;
    }
    if !doc.get_missing_deps(&[]).is_empty() {
        return Err(io::Error::other(
            "the stored events depend on changes that are stored nowhere",
        ));
    }
    Ok((doc.get_heads() != before).then(|| doc.save()))
}

impl PgStore {
    /// Connects (a pool of up to 16 connections) and brings the schema up to date.
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        let fail = |action, e: String| StoreError {
            doc: "-".into(),
            action,
            source: io::Error::other(e),
        };
        let config: postgres::Config = url
            .parse()
            .map_err(|e: postgres::Error| fail("parsing DATABASE_URL", e.to_string()))?;
        let manager = PostgresConnectionManager::new(config, NoTls);
        let pool = Pool::builder()
            .max_size(16)
            .min_idle(Some(1))
            .connection_timeout(std::time::Duration::from_secs(10))
            .build(manager)
            .map_err(|e| fail("connecting to PostgreSQL", e.to_string()))?;
        let store = Self {
            pool: Arc::new(Connections(Some(pool))),
        };
        store.migrate()?;
        Ok(store)
    }

    fn client(
        &self,
        doc: &str,
    ) -> Result<r2d2::PooledConnection<PostgresConnectionManager<NoTls>>, StoreError> {
        let pool = self
            .pool
            .0
            .as_ref()
            .expect("the pool is taken only when dropped");
        pool.get().map_err(|e| StoreError {
            doc: doc.to_owned(),
            action: "taking a database connection",
            source: io::Error::other(e.to_string()),
        })
    }

    fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.client("-")?;
        let mut tx = client
            .transaction()
            .map_err(pg_err("-", "starting the migration"))?;
        // One migrator at a time (several relays may share a database).
        tx.batch_execute(
            "SELECT pg_advisory_xact_lock(7286001);
             CREATE TABLE IF NOT EXISTS runmesh_migrations (version INTEGER PRIMARY KEY);",
        )
        .map_err(pg_err("-", "creating the migrations table"))?;
        let done: i64 = tx
            .query_one("SELECT count(*) FROM runmesh_migrations", &[])
            .map_err(pg_err("-", "reading the migrations table"))?
            .get(0);
        for (version, sql) in MIGRATIONS.iter().enumerate().skip(done as usize) {
            tx.batch_execute(sql)
                .map_err(pg_err("-", "running a migration"))?;
            tx.execute(
                "INSERT INTO runmesh_migrations (version) VALUES ($1)",
                &[&(version as i32 + 1)],
            )
            .map_err(pg_err("-", "recording a migration"))?;
        }
        tx.commit().map_err(pg_err("-", "committing the migration"))
    }
}

impl Store for PgStore {
    fn load(&self, doc: &DocumentId) -> Result<Option<Stored>, StoreError> {
        let name = doc.to_string();
        let run = uuid(doc);
        let mut client = self.client(&name)?;
        let mut tx = client
            .build_transaction()
            .read_only(true)
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .start()
            .map_err(pg_err(&name, "starting a read"))?;
        let snapshot = tx
            .query_opt(
                "SELECT snapshot_data, after_event FROM crdt_snapshots
                 WHERE run_id = $1 ORDER BY seq DESC LIMIT 1",
                &[&run],
            )
            .map_err(pg_err(&name, "reading the snapshot"))?;
        let (snapshot, after): (Option<Vec<u8>>, i64) = match snapshot {
            Some(row) => (Some(row.get(0)), row.get(1)),
            None => (None, 0),
        };
        let chunks: Vec<Vec<u8>> = tx
            .query(
                "SELECT crdt_changes FROM collaboration_events
                 WHERE run_id = $1 AND id > $2 ORDER BY id",
                &[&run, &after],
            )
            .map_err(pg_err(&name, "reading the events"))?
            .iter()
            .map(|row| row.get(0))
            .collect();
        tx.commit().map_err(pg_err(&name, "ending a read"))?;
        if snapshot.is_none() && chunks.is_empty() {
            return Ok(None);
        }
        Ok(Some(Stored { snapshot, chunks }))
    }

    fn append(&self, doc: &DocumentId, chunk: &[u8], meta: &EventMeta) -> Result<(), StoreError> {
        let name = doc.to_string();
        let run = uuid(doc);
        let lamport = i64::try_from(meta.lamport).unwrap_or(i64::MAX);
        // One statement, one implicit transaction: the shared lock is held until the
        // insert commits, so no snapshot of this run is written meanwhile.
        self.client(&name)?
            .execute(
                "INSERT INTO collaboration_events
                     (run_id, crdt_changes, source_region, lamport_timestamp)
                 SELECT $1, $2, $3, $4 FROM (SELECT pg_advisory_xact_lock_shared($5)) AS locked",
                &[&run, &chunk, &meta.source_region, &lamport, &lock_key(run)],
            )
            .map_err(pg_err(&name, "appending an event"))?;
        Ok(())
    }

    fn snapshot(
        &self,
        doc: &DocumentId,
        bytes: &[u8],
        meta: &EventMeta,
        retain: u32,
    ) -> Result<(), StoreError> {
        let name = doc.to_string();
        let run = uuid(doc);
        let lamport = i64::try_from(meta.lamport).unwrap_or(i64::MAX);
        let mut client = self.client(&name)?;
        let mut tx = client
            .transaction()
            .map_err(pg_err(&name, "starting a snapshot"))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&lock_key(run)])
            .map_err(pg_err(&name, "locking the run"))?;
        let newest = tx
            .query_opt(
                "SELECT snapshot_data, after_event FROM crdt_snapshots
                 WHERE run_id = $1 ORDER BY seq DESC LIMIT 1",
                &[&run],
            )
            .map_err(pg_err(&name, "reading the newest snapshot"))?;
        let (newest, since): (Option<Vec<u8>>, i64) = match newest {
            Some(row) => (Some(row.get(0)), row.get(1)),
            None => (None, 0),
        };
        let events = tx
            .query(
                "SELECT id, crdt_changes FROM collaboration_events
                 WHERE run_id = $1 AND id > $2 ORDER BY id",
                &[&run, &since],
            )
            .map_err(pg_err(&name, "reading the events"))?;
        let after: i64 = events.last().map_or(since, |row| row.get(0));
        let count: i64 = tx
            .query_one(
                "SELECT count(*) FROM collaboration_events WHERE run_id = $1",
                &[&run],
            )
            .map_err(pg_err(&name, "reading the event count"))?
            .get(0);
        let stored = newest
            .iter()
            .map(Vec::as_slice)
            .chain(events.iter().map(|row| row.get::<_, &[u8]>(1)));
        let merged = merge(bytes, stored).map_err(|source| StoreError {
            doc: name.clone(),
            action: "merging the snapshot with what is stored",
            source,
        })?;
        let bytes = merged.as_deref().unwrap_or(bytes);
        let id = Uuid::from_bytes(*RunId::random().as_bytes());
        tx.execute(
            "INSERT INTO crdt_snapshots
                 (id, run_id, snapshot_data, lamport_timestamp, region, event_count, after_event)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &id,
                &run,
                &bytes,
                &lamport,
                &meta.source_region,
                &(i32::try_from(count).unwrap_or(i32::MAX)),
                &after,
            ],
        )
        .map_err(pg_err(&name, "writing the snapshot"))?;
        // Keep the newest `retain` snapshots and the events after the oldest kept one.
        let oldest_kept: Option<(i64, i64)> = tx
            .query_opt(
                "SELECT seq, after_event FROM crdt_snapshots WHERE run_id = $1
                 ORDER BY seq DESC OFFSET $2 LIMIT 1",
                &[&run, &(i64::from(retain.max(1)) - 1)],
            )
            .map_err(pg_err(&name, "finding old snapshots"))?
            .map(|row| (row.get(0), row.get(1)));
        if let Some((seq, cutoff)) = oldest_kept {
            tx.execute(
                "DELETE FROM crdt_snapshots WHERE run_id = $1 AND seq < $2",
                &[&run, &seq],
            )
            .map_err(pg_err(&name, "deleting old snapshots"))?;
            tx.execute(
                "DELETE FROM collaboration_events WHERE run_id = $1 AND id <= $2",
                &[&run, &cutoff],
            )
            .map_err(pg_err(&name, "deleting old events"))?;
        }
        tx.commit()
            .map_err(pg_err(&name, "committing the snapshot"))
    }

    fn list(&self) -> Result<Vec<DocumentId>, StoreError> {
        let rows = self
            .client("-")?
            .query(
                "SELECT run_id FROM crdt_snapshots UNION SELECT run_id FROM collaboration_events",
                &[],
            )
            .map_err(pg_err("-", "listing runs"))?;
        Ok(rows
            .iter()
            .map(|row| RunId::from_bytes(*row.get::<_, Uuid>(0).as_bytes()).document_id())
            .collect())
    }
}
