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
//!
//! Each append also notifies the relays listening (`listen.rs`) as it commits, so a
//! relay holding the run reads the new event and passes it to its clients, and keeps the
//! fingerprint of the run's stored heads in `crdt_run_digests` where it can be sure of it
//! (`digests.rs`).
//!
//! The driver is `tokio-postgres` with a `deadpool` pool, over TLS by rustls when
//! `sslmode` asks for it (`connect.rs`).

mod connect;
mod digests;
mod listen;
mod schema;

pub use connect::PgTlsError;

use std::io;
use std::sync::Mutex;
use std::time::Duration;

use automerge::{Automerge, ChangeHash, ReadDoc};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use runmesh_core::digest::Fingerprint;
use runmesh_core::reach::StoreEpoch;
use runmesh_core::{DocumentId, RunId};
use uuid::Uuid;

use crate::store::pg::connect::Target;
use crate::store::{EventMeta, Feed, Store, StoreError, Stored};

/// Connections in the pool.
const POOL_SIZE: usize = 16;

/// A store in PostgreSQL.
#[derive(Debug)]
pub struct PgStore {
    pool: Pool,
    /// Where the feed listens (`DATABASE_LISTEN_URL`, else the pool's database).
    listen: Mutex<Option<Target>>,
    /// This store's name in notifications, so its own appends are not fed back.
    origin: String,
    /// The database's life (`runmesh_store`).
    epoch: StoreEpoch,
}

pub(crate) fn pg_err(
    doc: &str,
    action: &'static str,
) -> impl FnOnce(tokio_postgres::Error) -> StoreError {
    let doc = doc.to_owned();
    move |e| StoreError::new(doc, action, e)
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

/// The run's newest snapshot and the last event it contains (none: 0).
async fn newest_snapshot(
    tx: &deadpool_postgres::Transaction<'_>,
    name: &str,
    run: Uuid,
) -> Result<(Option<Vec<u8>>, i64), StoreError> {
    let row = tx
        .query_opt(
            "SELECT snapshot_data, after_event FROM crdt_snapshots
             WHERE run_id = $1 ORDER BY seq DESC LIMIT 1",
            &[&run],
        )
        .await
        .map_err(pg_err(name, "reading the newest snapshot"))?;
    Ok(row.map_or((None, 0), |row| (Some(row.get(0)), row.get(1))))
}

/// `bytes` (a full save) with every change in `stored` (a snapshot and the events after
/// it) that it lacks (`None` when it lacks none), and the heads of the whole.
fn merge<'a>(
    bytes: &[u8],
    stored: impl Iterator<Item = &'a [u8]>,
) -> Result<(Option<Vec<u8>>, Vec<ChangeHash>), io::Error> {
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
    let heads = doc.get_heads();
    Ok(((heads != before).then(|| doc.save()), heads))
}

impl PgStore {
    /// Connects to `url` (a pool of up to 16 connections; TLS as its `sslmode` says) and
    /// brings the schema up to date.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let target =
            Target::parse(url).map_err(|e| StoreError::new("-", "reading DATABASE_URL", e))?;
        let manager = Manager::from_config(
            target.config.clone(),
            target.tls.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(10)))
            .create_timeout(Some(Duration::from_secs(10)))
            .build()
            .map_err(|e| StoreError::new("-", "building the connection pool", e))?;
        schema::migrate(&pool).await?;
        let epoch = schema::epoch(&pool).await?;
        let mut origin = [0u8; 8];
        getrandom::fill(&mut origin)
            .map_err(|e| StoreError::new("-", "naming this relay", e.to_string()))?;
        Ok(Self {
            pool,
            listen: Mutex::new(Some(target)),
            origin: origin.iter().map(|b| format!("{b:02x}")).collect(),
            epoch,
        })
    }

    /// Listens for other relays' appends on `url` rather than the pool's URL (`LISTEN`
    /// needs a session: behind PgBouncer in transaction mode, PostgreSQL itself).
    pub fn listen_on(self, url: &str) -> Result<Self, StoreError> {
        let target = Target::parse(url)
            .map_err(|e| StoreError::new("-", "reading DATABASE_LISTEN_URL", e))?;
        *self.listen.lock().expect("not poisoned") = Some(target);
        Ok(self)
    }

    async fn client(&self, doc: &str) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool
            .get()
            .await
            .map_err(|e| StoreError::new(doc, "taking a database connection", e))
    }
}

#[async_trait::async_trait]
impl Store for PgStore {
    fn epoch(&self) -> StoreEpoch {
        self.epoch
    }

    async fn load(&self, doc: &DocumentId) -> Result<Option<Stored>, StoreError> {
        let name = doc.to_string();
        let run = uuid(doc);
        let mut client = self.client(&name).await?;
        let tx = client
            .build_transaction()
            .read_only(true)
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .start()
            .await
            .map_err(pg_err(&name, "starting a read"))?;
        let (snapshot, after) = newest_snapshot(&tx, &name, run).await?;
        let chunks: Vec<Vec<u8>> = tx
            .query(
                "SELECT crdt_changes FROM collaboration_events
                 WHERE run_id = $1 AND id > $2 ORDER BY id",
                &[&run, &after],
            )
            .await
            .map_err(pg_err(&name, "reading the events"))?
            .iter()
            .map(|row| row.get(0))
            .collect();
        tx.commit().await.map_err(pg_err(&name, "ending a read"))?;
        if snapshot.is_none() && chunks.is_empty() {
            return Ok(None);
        }
        Ok(Some(Stored { snapshot, chunks }))
    }

    async fn append(
        &self,
        doc: &DocumentId,
        chunk: &[u8],
        meta: &EventMeta,
    ) -> Result<(), StoreError> {
        let name = doc.to_string();
        let run = uuid(doc);
        let lamport = i64::try_from(meta.lamport).unwrap_or(i64::MAX);
        // One statement, one implicit transaction: the shared lock is held until the
        // insert commits, so no snapshot of this run is written meanwhile; the
        // fingerprint is updated with it, and the notification goes out as it commits.
        let [new_run, base, heads] = digests::append_params(meta);
        self.client(&name)
            .await?
            .execute(
                digests::APPEND,
                &[
                    &run,
                    &chunk,
                    &meta.source_region,
                    &lamport,
                    &lock_key(run),
                    &self.origin,
                    &new_run,
                    &base,
                    &heads,
                ],
            )
            .await
            .map_err(pg_err(&name, "appending an event"))?;
        Ok(())
    }

    async fn snapshot(
        &self,
        doc: &DocumentId,
        bytes: &[u8],
        meta: &EventMeta,
        retain: u32,
    ) -> Result<(), StoreError> {
        let name = doc.to_string();
        let run = uuid(doc);
        let lamport = i64::try_from(meta.lamport).unwrap_or(i64::MAX);
        let mut client = self.client(&name).await?;
        let tx = client
            .transaction()
            .await
            .map_err(pg_err(&name, "starting a snapshot"))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&lock_key(run)])
            .await
            .map_err(pg_err(&name, "locking the run"))?;
        let (newest, since) = newest_snapshot(&tx, &name, run).await?;
        let events = tx
            .query(
                "SELECT id, crdt_changes FROM collaboration_events
                 WHERE run_id = $1 AND id > $2 ORDER BY id",
                &[&run, &since],
            )
            .await
            .map_err(pg_err(&name, "reading the events"))?;
        let after: i64 = events.last().map_or(since, |row| row.get(0));
        let count: i64 = tx
            .query_one(
                "SELECT count(*) FROM collaboration_events WHERE run_id = $1",
                &[&run],
            )
            .await
            .map_err(pg_err(&name, "reading the event count"))?
            .get(0);
        let stored = newest
            .iter()
            .map(Vec::as_slice)
            .chain(events.iter().map(|row| row.get::<_, &[u8]>(1)));
        let (merged, heads) = merge(bytes, stored).map_err(|source| StoreError {
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
        .await
        .map_err(pg_err(&name, "writing the snapshot"))?;
        digests::set(&tx, &name, run, &heads).await?;
        // Keep the newest `retain` snapshots and the events after the oldest kept one.
        let oldest_kept: Option<(i64, i64)> = tx
            .query_opt(
                "SELECT seq, after_event FROM crdt_snapshots WHERE run_id = $1
                 ORDER BY seq DESC OFFSET $2 LIMIT 1",
                &[&run, &(i64::from(retain.max(1)) - 1)],
            )
            .await
            .map_err(pg_err(&name, "finding old snapshots"))?
            .map(|row| (row.get(0), row.get(1)));
        if let Some((seq, cutoff)) = oldest_kept {
            tx.execute(
                "DELETE FROM crdt_snapshots WHERE run_id = $1 AND seq < $2",
                &[&run, &seq],
            )
            .await
            .map_err(pg_err(&name, "deleting old snapshots"))?;
            tx.execute(
                "DELETE FROM collaboration_events WHERE run_id = $1 AND id <= $2",
                &[&run, &cutoff],
            )
            .await
            .map_err(pg_err(&name, "deleting old events"))?;
        }
        tx.commit()
            .await
            .map_err(pg_err(&name, "committing the snapshot"))
    }

    async fn list(&self) -> Result<Vec<DocumentId>, StoreError> {
        let rows = self
            .client("-")
            .await?
            .query(
                "SELECT run_id FROM crdt_snapshots UNION SELECT run_id FROM collaboration_events",
                &[],
            )
            .await
            .map_err(pg_err("-", "listing runs"))?;
        Ok(rows
            .iter()
            .map(|row| RunId::from_bytes(*row.get::<_, Uuid>(0).as_bytes()).document_id())
            .collect())
    }

    async fn contains(&self, doc: &DocumentId) -> Result<bool, StoreError> {
        let name = doc.to_string();
        let row = self
            .client(&name)
            .await?
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM crdt_snapshots WHERE run_id = $1)
                     OR EXISTS (SELECT 1 FROM collaboration_events WHERE run_id = $1)",
                &[&uuid(doc)],
            )
            .await
            .map_err(pg_err(&name, "looking a run up"))?;
        Ok(row.get(0))
    }

    async fn fingerprints(&self) -> Result<Vec<(DocumentId, Option<Fingerprint>)>, StoreError> {
        digests::all(&self.client("-").await?).await
    }

    fn feed(&self) -> Option<Feed> {
        let target = self.listen.lock().expect("not poisoned").take()?;
        Some(listen::start(target, self.origin.clone()))
    }

    async fn events(
        &self,
        doc: &DocumentId,
        events: &[i64],
    ) -> Result<Option<Vec<Vec<u8>>>, StoreError> {
        let name = doc.to_string();
        let mut wanted = events.to_vec();
        wanted.sort_unstable();
        wanted.dedup();
        let rows = self
            .client(&name)
            .await?
            .query(
                "SELECT crdt_changes FROM collaboration_events
                 WHERE run_id = $1 AND id = ANY($2) ORDER BY id",
                &[&uuid(doc), &wanted],
            )
            .await
            .map_err(pg_err(&name, "reading new events"))?;
        if rows.len() < wanted.len() {
            return Ok(None);
        }
        Ok(Some(rows.iter().map(|row| row.get(0)).collect()))
    }
}
