//! PostgreSQL keeps the fingerprint of each run's stored heads where it can be sure of it:
//! known while every append starts from what the store held, unknown once one did not,
//! known again from the next snapshot. Skipped without `RUNMESH_TEST_DATABASE_URL`.

use runmesh_core::digest::Fingerprint;
use runmesh_core::{DocumentId, RunId};
use runmesh_relay::store::{EventMeta, PgStore, Store};

use crate::store::{Writer, meta};
use runmesh_testkit::pg::database_url;

/// What the store says of `run`'s heads.
async fn known(store: &PgStore, run: RunId) -> Option<Fingerprint> {
    let doc: DocumentId = run.document_id();
    let listed = store.fingerprints().await.unwrap();
    let (_, fingerprint) = listed
        .into_iter()
        .find(|(id, _)| *id == doc)
        .expect("the run is listed");
    fingerprint
}

/// Appends `w`'s changes since its last save as a relay does, from `base`.
async fn append(store: &PgStore, run: RunId, w: &mut Writer, base: &[automerge::ChangeHash]) {
    let chunk = w.0.save_incremental();
    let meta = EventMeta {
        heads: Some(Fingerprint::of_heads(&w.0.heads())),
        base: Some(Fingerprint::of_heads(base)),
        ..meta(1)
    };
    store
        .append(&run.document_id(), &chunk, &meta)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_fingerprint_is_kept_only_while_the_writer_knew_what_was_stored() {
    let Some(url) = database_url() else { return };
    let store = PgStore::connect(&url).await.unwrap();
    let run = RunId::random();
    let mut a = Writer::create(run);
    append(&store, run, &mut a, &[]).await;
    let first = a.0.heads();
    assert_eq!(
        known(&store, run).await,
        Some(Fingerprint::of_heads(&first))
    );
    a.0.graft("step1", "A1", 2).unwrap();
    append(&store, run, &mut a, &first).await;
    let second = a.0.heads();
    assert_eq!(
        known(&store, run).await,
        Some(Fingerprint::of_heads(&second))
    );

    // B read the run, then A appended: B's append does not start from what is stored.
    let mut b = Writer::read(&store, run).await;
    a.0.graft("step1", "A2", 2).unwrap();
    append(&store, run, &mut a, &second).await;
    assert_eq!(
        known(&store, run).await,
        Some(Fingerprint::of_heads(&a.0.heads()))
    );
    b.0.graft("step1", "B1", 2).unwrap();
    append(&store, run, &mut b, &second).await;
    assert_eq!(
        known(&store, run).await,
        None,
        "B's heads are not the store's"
    );
    // Nor are A's, whatever A says next.
    let before = a.0.heads();
    a.0.graft("step1", "A3", 2).unwrap();
    append(&store, run, &mut a, &before).await;
    assert_eq!(known(&store, run).await, None);

    // A snapshot merges everything stored: known again, as what a reader loads.
    store
        .snapshot(&run.document_id(), &a.0.save(), &meta(5), 1)
        .await
        .unwrap();
    let mut reader = Writer::read(&store, run).await;
    assert_eq!(reader.0.grafts().count(), 4);
    assert_eq!(
        known(&store, run).await,
        Some(Fingerprint::of_heads(&reader.0.heads()))
    );

    // A chunk whose writer does not say what it started from (an import) is not known.
    let plain = reader.graft("Imported");
    store
        .append(&run.document_id(), &plain, &meta(6))
        .await
        .unwrap();
    assert_eq!(known(&store, run).await, None);
}

/// A new run is known from its first append only if its writer knew of nothing stored.
#[tokio::test]
async fn a_new_run_is_known_only_from_an_empty_base() {
    let Some(url) = database_url() else { return };
    let store = PgStore::connect(&url).await.unwrap();
    let (fresh, odd) = (RunId::random(), RunId::random());
    let mut w = Writer::create(fresh);
    append(&store, fresh, &mut w, &[]).await;
    assert_eq!(
        known(&store, fresh).await,
        Some(Fingerprint::of_heads(&w.0.heads()))
    );
    let mut w = Writer::create(odd);
    let made = w.0.heads();
    append(&store, odd, &mut w, &made).await;
    assert_eq!(known(&store, odd).await, None);
}
