//! The same storage rules checked on both stores: the directory store always, PostgreSQL
//! when `RUNMESH_TEST_DATABASE_URL` names a database (`.ci/postgres.sh` starts one and CI
//! sets it; `RUNMESH_REQUIRE_POSTGRES=1` makes its absence a failure).

use runmesh_testkit::pg::{admin, database_url};
use runmesh_testkit::relay::*;
use std::collections::BTreeSet;

use runmesh_core::{DocumentId, Identity, RunDoc, RunId, StepSpec};
use runmesh_relay::store::{DirStore, EventMeta, PgStore, Store};

pub(crate) fn meta(lamport: u64) -> EventMeta {
    EventMeta {
        source_region: "test".into(),
        lamport,
        heads: None,
        base: None,
    }
}

/// A replica writing one run the way a relay does: each change an appended chunk, each
/// snapshot a full save.
pub(crate) struct Writer(pub(crate) RunDoc);

impl Writer {
    pub(crate) fn create(run: RunId) -> Self {
        let steps = [StepSpec::new("step1").unwrap()];
        Self(
            RunDoc::create(
                run,
                Identity::random("test", "u").unwrap(),
                "Run",
                &steps,
                1,
            )
            .unwrap(),
        )
    }

    /// A replica that read the run from `store`.
    pub(crate) async fn read(store: &dyn Store, run: RunId) -> Self {
        let stored = store.load(&run.document_id()).await.unwrap().unwrap();
        let identity = Identity::random("test", "u").unwrap();
        Self(RunDoc::load(run, identity, &stored.concat()).unwrap())
    }

    /// Grafts `agent` and returns the chunk that holds the change.
    pub(crate) fn graft(&mut self, agent: &str) -> Vec<u8> {
        self.0.graft("step1", agent, 2).unwrap();
        self.0.save_incremental()
    }

    pub(crate) async fn agents(store: &dyn Store, run: RunId) -> BTreeSet<String> {
        Self::read(store, run)
            .await
            .0
            .grafts()
            .map(|g| g.agent_name.clone())
            .collect()
    }
}

/// Appends, snapshots with retention, loads and lists, as the relay uses a store.
async fn storage_rules(store: &dyn Store) {
    let run = RunId::random();
    let doc: DocumentId = run.document_id();
    assert!(
        store.load(&doc).await.unwrap().is_none(),
        "unknown documents load as None"
    );
    let mut w = Writer::create(run);
    let one = w.0.save_incremental();
    let two = w.graft("A1");
    store.append(&doc, &one, &meta(1)).await.unwrap();
    store.append(&doc, &two, &meta(2)).await.unwrap();
    let stored = store.load(&doc).await.unwrap().unwrap();
    assert_eq!(stored.snapshot, None);
    assert_eq!(stored.chunks, [one, two]);

    let snap = w.0.save();
    store.snapshot(&doc, &snap, &meta(2), 2).await.unwrap();
    let three = w.graft("A2");
    store.append(&doc, &three, &meta(3)).await.unwrap();
    let stored = store.load(&doc).await.unwrap().unwrap();
    assert_eq!(
        stored.snapshot,
        Some(snap),
        "a snapshot that lacks nothing is stored as is"
    );
    assert_eq!(stored.chunks, [three], "only chunks after the snapshot");

    let mut last = (Vec::new(), Vec::new());
    for i in 2..6u8 {
        let snap = w.0.save();
        store
            .snapshot(&doc, &snap, &meta(10 + u64::from(i)), 2)
            .await
            .unwrap();
        let chunk = w.graft(&format!("B{i}"));
        store.append(&doc, &chunk, &meta(20)).await.unwrap();
        last = (snap, chunk);
    }
    let stored = store.load(&doc).await.unwrap().unwrap();
    assert_eq!(stored.snapshot, Some(last.0));
    assert_eq!(stored.chunks, [last.1]);
    assert_eq!(Writer::agents(store, run).await.len(), 6);
    assert!(store.list().await.unwrap().contains(&doc));
}

#[tokio::test]
async fn the_directory_store_keeps_the_rules() {
    let tmp = tempfile::tempdir().unwrap();
    storage_rules(&DirStore::open(tmp.path()).unwrap()).await;
}

#[tokio::test]
async fn the_postgres_store_keeps_the_rules_and_its_tables_are_the_spec_s() {
    let Some(url) = database_url() else { return };
    let store = PgStore::connect(&url).await.unwrap();
    storage_rules(&store).await;
    // Migrations are idempotent: a second relay on the same database starts cleanly.
    let again = PgStore::connect(&url).await.unwrap();
    assert!(!again.list().await.unwrap().is_empty());
    let client = admin(&url).await;
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
                "SELECT count(*) FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2",
                &[&table, &column],
            )
            .await
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

/// The issue's reproduction at the store: replica B read the run before A appended "X",
/// then appended "Y" and wrote a snapshot (which lacks "X") keeping only itself, so the
/// events it claims to contain are pruned. "X" must survive, as must "Y" when A then
/// does the same.
#[tokio::test]
async fn a_snapshot_by_a_replica_that_missed_an_append_keeps_it() {
    let Some(url) = database_url() else { return };
    let store = PgStore::connect(&url).await.unwrap();
    let run = RunId::random();
    let doc = run.document_id();
    let mut a = Writer::create(run);
    let base = a.graft("Base");
    store
        .append(&doc, &a.0.save_incremental(), &meta(1))
        .await
        .unwrap();
    store.append(&doc, &base, &meta(2)).await.unwrap();
    let mut b = Writer::read(&store, run).await;
    store.append(&doc, &a.graft("X"), &meta(3)).await.unwrap();
    store.append(&doc, &b.graft("Y"), &meta(3)).await.unwrap();
    store
        .snapshot(&doc, &b.0.save(), &meta(3), 1)
        .await
        .unwrap();
    store.append(&doc, &a.graft("Z"), &meta(4)).await.unwrap();
    store
        .snapshot(&doc, &a.0.save(), &meta(4), 1)
        .await
        .unwrap();
    let agents = Writer::agents(&store, run).await;
    assert_eq!(agents, ["Base", "X", "Y", "Z"].map(String::from).into());
}

/// Two replicas of one run on one database, each appending its own grafts and taking a
/// snapshot every third one (keeping only the newest), at the same time: every graft
/// either wrote is there at the end.
#[tokio::test]
async fn replicas_writing_one_run_while_both_take_snapshots_lose_nothing() {
    let Some(url) = database_url() else { return };
    let store = PgStore::connect(&url).await.unwrap();
    let run = RunId::random();
    let doc = run.document_id();
    let mut first = Writer::create(run);
    store
        .append(&doc, &first.0.save_incremental(), &meta(1))
        .await
        .unwrap();
    let store = std::sync::Arc::new(store);
    let writers: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|name| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut w = Writer::read(store.as_ref(), run).await;
                for i in 0..30 {
                    let chunk = w.graft(&format!("{name}{i}"));
                    store.append(&doc, &chunk, &meta(i)).await.unwrap();
                    if i % 3 == 2 {
                        store
                            .snapshot(&doc, &w.0.save(), &meta(i), 1)
                            .await
                            .unwrap();
                    }
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    let agents = Writer::agents(store.as_ref(), run).await;
    let expected: BTreeSet<String> = (0..30)
        .flat_map(|i| [format!("a{i}"), format!("b{i}")])
        .collect();
    assert_eq!(agents, expected);
    let stored = store.load(&doc).await.unwrap().unwrap();
    assert!(
        stored.chunks.len() < 60,
        "snapshots pruned the log ({} chunks left)",
        stored.chunks.len()
    );
}

/// The issue's reproduction with relays: A and B on one database, a snapshot after every
/// event; "X" acknowledged by A and "Y" by B (which read the run before "X") are both on
/// a fresh relay C.
#[tokio::test]
async fn two_relays_on_one_database_keep_every_acknowledged_graft() {
    let Some(url) = database_url() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let with_pg = |c: &mut runmesh_relay::Config| {
        c.database_url = Some(url.clone());
        c.snapshot_interval_events = 1;
    };
    let run = RunId::random();
    let graft = |relay: &TestRelay, agent: &str| {
        let url = relay.http(&format!("/app/runs/{run}/graft"));
        let body = format!(r#"{{"after": "step1", "agentName": "{agent}"}}"#);
        async move {
            let (status, body) = post(&url, body).await;
            assert_eq!(status, 201, "{body}");
        }
    };
    for dir in ["a", "b", "c"] {
        std::fs::create_dir(tmp.path().join(dir)).unwrap();
    }
    let a = TestRelay::start_in(&tmp.path().join("a"), "pg", with_pg).await;
    let b = TestRelay::start_in(&tmp.path().join("b"), "pg", with_pg).await;
    graft(&a, "Base").await;
    let (status, _) = get(&b.http(&format!("/api/crdt/runs/{run}/state"))).await;
    assert_eq!(status, 200);
    graft(&a, "X").await;
    graft(&b, "Y").await;
    a.stop().await;
    b.stop().await;
    let c = TestRelay::start_in(&tmp.path().join("c"), "pg", with_pg).await;
    let (_, state) = get(&c.http(&format!("/api/crdt/runs/{run}/state"))).await;
    let agents: BTreeSet<&str> = state["grafts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["agentName"].as_str().unwrap())
        .collect();
    assert_eq!(agents, ["Base", "X", "Y"].into());
    c.stop().await;
}

/// The release binary on PostgreSQL exits 0 on SIGTERM (its blocking database connections
/// used to be closed on a tokio worker, which aborted the process), and keeps the graft.
#[tokio::test]
async fn a_relay_on_postgres_exits_zero_on_sigterm() {
    let Some(url) = database_url() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let spawn = || crate::RELAY.spawn(tmp.path(), &["--region", "pg", "--database-url", &url]);
    let mut relay = spawn();
    let run = RunId::random();
    let graft = format!("{}/app/runs/{run}/graft", relay.base);
    let (status, body) = post(&graft, r#"{"after": "step1", "agentName": "BeforeTerm"}"#).await;
    assert_eq!(status, 201, "{body}");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &relay.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = eventually("the relay to exit", || {
        let exited = relay.child.try_wait().unwrap();
        async move { exited }
    })
    .await;
    assert!(exit.success(), "exit status {exit:?}");
    let mut again = spawn();
    let (_, state) = get(&format!("{}/api/crdt/runs/{run}/state", again.base)).await;
    assert_eq!(state["grafts"][0]["agentName"], "BeforeTerm");
    again.child.kill().unwrap();
    again.child.wait().unwrap();
}

/// The feed names the events other relays append; once a snapshot has pruned them,
/// asking for them says so (`None`), and the relay reads the run instead.
#[tokio::test]
async fn events_named_by_the_feed_are_read_until_a_snapshot_prunes_them() {
    let Some(url) = database_url() else { return };
    let listener = PgStore::connect(&url).await.unwrap();
    let writer = PgStore::connect(&url).await.unwrap();
    let mut feed = listener.feed().expect("PostgreSQL has a feed");
    assert_eq!(
        tokio::time::timeout(std::time::Duration::from_secs(10), feed.recv())
            .await
            .unwrap(),
        Some(runmesh_relay::store::FeedItem::Resumed)
    );
    let run = RunId::random();
    let doc = run.document_id();
    let mut w = Writer::create(run);
    let first = w.0.save_incremental();
    let second = w.graft("Fed");
    writer.append(&doc, &first, &meta(1)).await.unwrap();
    writer.append(&doc, &second, &meta(2)).await.unwrap();
    let mut ids = Vec::new();
    while ids.len() < 2 {
        let item = tokio::time::timeout(std::time::Duration::from_secs(10), feed.recv())
            .await
            .expect("both appends are fed")
            .unwrap();
        if let runmesh_relay::store::FeedItem::Appended(a) = item
            && a.doc == doc
        {
            ids.push(a.event);
        }
    }
    let read = listener.events(&doc, &ids).await.unwrap();
    assert_eq!(read, Some(vec![first, second]));
    writer
        .snapshot(&doc, &w.0.save(), &meta(2), 1)
        .await
        .unwrap();
    assert_eq!(listener.events(&doc, &ids).await.unwrap(), None);
    assert_eq!(
        Writer::agents(&listener, run).await,
        ["Fed".to_owned()].into()
    );
}
