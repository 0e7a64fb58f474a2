//! The PostgreSQL store over TLS, against CI's PostgreSQL: its certificate is for
//! `localhost` (not `127.0.0.1`), signed by a throwaway CA (`RUNMESH_TEST_DATABASE_CA`),
//! and the role `runmesh_tls` may connect only over TLS (`.ci/postgres.sh`).

use runmesh_core::{DocumentId, RunId};
use runmesh_relay::store::{EventMeta, FeedItem, PgStore, Store};
use runmesh_testkit::pg::database_url;

/// `(host, query)` → a URL for the TLS-only role; `None` when there is no database.
fn tls_url(host: &str, query: &str) -> Option<String> {
    let url = database_url()?;
    let port = url.rsplit_once(':')?.1.split('/').next()?.to_owned();
    Some(format!(
        "postgres://runmesh_tls@{host}:{port}/runmesh_tls?{query}"
    ))
}

fn ca() -> String {
    std::env::var("RUNMESH_TEST_DATABASE_CA")
        .expect("RUNMESH_TEST_DATABASE_CA names the CA of CI's PostgreSQL (.ci/postgres.sh --ca)")
}

async fn connect(host: &str, query: &str) -> Option<Result<PgStore, String>> {
    let url = tls_url(host, query)?;
    Some(PgStore::connect(&url).await.map_err(|e| e.to_string()))
}

async fn round_trip(store: &PgStore) {
    let doc: DocumentId = RunId::random().document_id();
    let meta = EventMeta {
        source_region: "tls".into(),
        lamport: 1,
        heads: None,
        base: None,
    };
    let mut doc_bytes = automerge::AutoCommit::new();
    let chunk = doc_bytes.save();
    store.append(&doc, &chunk, &meta).await.unwrap();
    let stored = store.load(&doc).await.unwrap().unwrap();
    assert_eq!(stored.chunks, [chunk]);
}

#[tokio::test]
async fn verify_full_connects_to_the_name_on_the_certificate() {
    let query = format!("sslmode=verify-full&sslrootcert={}", ca());
    let Some(store) = connect("localhost", &query).await else {
        return;
    };
    round_trip(&store.unwrap()).await;
}

#[tokio::test]
async fn verify_full_refuses_a_host_the_certificate_does_not_name() {
    let query = format!("sslmode=verify-full&sslrootcert={}", ca());
    let Some(refused) = connect("127.0.0.1", &query).await else {
        return;
    };
    let why = refused.unwrap_err();
    assert!(why.contains("certificate not valid for name"), "{why}");
}

#[tokio::test]
async fn verify_ca_checks_the_signer_but_not_the_name() {
    let query = format!("sslmode=verify-ca&sslrootcert={}", ca());
    let Some(store) = connect("127.0.0.1", &query).await else {
        return;
    };
    round_trip(&store.unwrap()).await;
    // Without the CA file only the public CAs are trusted: this one is not.
    let Some(refused) = connect("localhost", "sslmode=verify-ca").await else {
        return;
    };
    let why = refused.unwrap_err();
    assert!(why.contains("UnknownIssuer"), "{why}");
}

#[tokio::test]
async fn require_encrypts_without_checking_and_disable_is_refused_by_the_server() {
    let Some(store) = connect("127.0.0.1", "sslmode=require").await else {
        return;
    };
    round_trip(&store.unwrap()).await;
    let Some(refused) = connect("127.0.0.1", "sslmode=disable").await else {
        return;
    };
    let why = refused.unwrap_err();
    assert!(why.contains("no encryption"), "{why}");
}

/// The notification feed runs over the same TLS settings: an append through one store
/// reaches the other's feed.
#[tokio::test]
async fn the_feed_listens_over_tls() {
    let query = format!("sslmode=verify-full&sslrootcert={}", ca());
    let Some(listener) = connect("localhost", &query).await else {
        return;
    };
    let listener = listener.unwrap();
    let writer = connect("localhost", &query).await.unwrap().unwrap();
    let mut feed = listener.feed().expect("a PostgreSQL store has a feed");
    let first = tokio::time::timeout(std::time::Duration::from_secs(10), feed.recv()).await;
    assert_eq!(first.unwrap(), Some(FeedItem::Resumed));
    let doc: DocumentId = RunId::random().document_id();
    let meta = EventMeta::default();
    writer
        .append(&doc, &automerge::AutoCommit::new().save(), &meta)
        .await
        .unwrap();
    loop {
        let item = tokio::time::timeout(std::time::Duration::from_secs(10), feed.recv())
            .await
            .expect("the append is fed within 10 s")
            .unwrap();
        if let FeedItem::Appended(appended) = item
            && appended.doc == doc
        {
            let events = listener.events(&doc, &[appended.event]).await.unwrap();
            assert_eq!(events.map(|e| e.len()), Some(1));
            break;
        }
    }
    // Its own appends are not fed back to it (other tests' appends may be).
    listener
        .append(&doc, &automerge::AutoCommit::new().save(), &meta)
        .await
        .unwrap();
    let quiet = tokio::time::timeout(std::time::Duration::from_millis(500), async {
        loop {
            match feed.recv().await {
                Some(FeedItem::Appended(appended)) if appended.doc == doc => return appended,
                _ => {}
            }
        }
    })
    .await;
    assert!(quiet.is_err(), "its own append came back: {quiet:?}");
}
