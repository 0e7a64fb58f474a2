//! `crdt_run_digests`: the fingerprint of each run's stored heads, so that a relay that
//! starts knows what it holds without reading a run (the mesh reconciles by them).
//!
//! Several relays write one run, and a writer knows the heads it stored only if nobody
//! else wrote in between. So each append updates the run's row in the same statement as
//! a compare-and-set: the new fingerprint is kept only if the row still holds the one the
//! writer knew the store to hold before its chunk ([`EventMeta::base`]); otherwise the
//! row becomes NULL, unknown. The update locks the row until the append commits, so each
//! append compares with the one committed before it. A run without a row has no events:
//! the first append keeps its fingerprint if its writer knew of nothing stored.
//!
//! A snapshot is written under the run's exclusive lock and merged with everything
//! stored, so it sets the row from the merged heads: an unknown run is known again from
//! its next snapshot. An unknown run is synced with the mesh at the next link, which is
//! always safe.
//!
//! Relays of a version before this table append without updating it, which would leave a
//! fingerprint that is no longer true: upgrade the relays that share a database together.
//!
//! [`EventMeta::base`]: crate::store::EventMeta::base

use automerge::ChangeHash;
use deadpool_postgres::Transaction;
use runmesh_core::digest::Fingerprint;
use runmesh_core::{DocumentId, RunId};
use uuid::Uuid;

use crate::store::pg::pg_err;
use crate::store::{EventMeta, StoreError};

/// Appends a chunk (`$1` run, `$2` bytes, `$3` region, `$4` lamport), holding the run's
/// lock shared (`$5`) until it commits, updates the run's fingerprint (`$7` for a new
/// row, `$8` the base, `$9` the new one) and notifies the other relays (`$6` this
/// store's name) as it commits.
pub(super) const APPEND: &str = "WITH appended AS (
         INSERT INTO collaboration_events
             (run_id, crdt_changes, source_region, lamport_timestamp)
         SELECT $1, $2, $3, $4
         FROM (SELECT pg_advisory_xact_lock_shared($5)) AS locked
         RETURNING id),
     digest AS (
         INSERT INTO crdt_run_digests AS d (run_id, heads)
         SELECT $1, $7::bytea FROM appended
         ON CONFLICT (run_id) DO UPDATE
         SET heads = CASE WHEN d.heads = $8::bytea THEN $9::bytea END)
     SELECT pg_notify('runmesh_events', $1::text || ' ' || id || ' ' || $6)
     FROM appended";

/// The fingerprints an append passes: for a new row, the base, the new one.
pub(super) fn append_params(meta: &EventMeta) -> [Option<Vec<u8>>; 3] {
    let heads = meta.heads.map(|f| f.0.to_vec());
    let new_run = meta.base == Some(Fingerprint::of_heads(&[]));
    [
        heads.clone().filter(|_| new_run),
        meta.base.map(|f| f.0.to_vec()),
        heads,
    ]
}

/// Records `heads` as the run's stored heads (a snapshot, under the run's exclusive lock).
pub(super) async fn set(
    tx: &Transaction<'_>,
    name: &str,
    run: Uuid,
    heads: &[ChangeHash],
) -> Result<(), StoreError> {
    let fingerprint = Fingerprint::of_heads(heads).0.to_vec();
    tx.execute(
        "INSERT INTO crdt_run_digests (run_id, heads) VALUES ($1, $2)
         ON CONFLICT (run_id) DO UPDATE SET heads = EXCLUDED.heads",
        &[&run, &fingerprint],
    )
    .await
    .map_err(pg_err(name, "recording the run's fingerprint"))?;
    Ok(())
}

/// Every stored run with its fingerprint where known.
pub(super) async fn all(
    client: &deadpool_postgres::Object,
) -> Result<Vec<(DocumentId, Option<Fingerprint>)>, StoreError> {
    let rows = client
        .query(
            "SELECT r.run_id, d.heads
             FROM (SELECT run_id FROM crdt_snapshots
                   UNION SELECT run_id FROM collaboration_events) AS r
             LEFT JOIN crdt_run_digests AS d USING (run_id)",
            &[],
        )
        .await
        .map_err(pg_err("-", "listing the runs' fingerprints"))?;
    Ok(rows
        .iter()
        .map(|row| {
            let run = RunId::from_bytes(*row.get::<_, Uuid>(0).as_bytes()).document_id();
            let heads: Option<&[u8]> = row.get(1);
            let fingerprint = heads
                .and_then(|h| <[u8; 16]>::try_from(h).ok())
                .map(Fingerprint);
            (run, fingerprint)
        })
        .collect())
}
