//! Test support: a real relay on 127.0.0.1:0 and a real WebSocket client that syncs a
//! run through it with core's sync engine. Shared with the workspace's `tests/` crate.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use runmesh_core::sync::{DocSync, PeerId, PeerMetadata, WireMessage};
use runmesh_core::{Identity, RunDoc, RunId, RunState};
use runmesh_relay::Config;
use runmesh_relay::client::Connection;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A relay running in this process.
pub struct TestRelay {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl TestRelay {
    /// A relay with its own temporary data directory.
    pub async fn start(region: &str) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let mut relay = Self::start_in(tmp.path(), region, |_| {}).await;
        relay._tmp = Some(tmp);
        relay
    }

    /// A relay on an existing data directory, with `tweak` applied to its config.
    pub async fn start_in(dir: &Path, region: &str, tweak: impl FnOnce(&mut Config)) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::start_on(listener, dir, region, tweak).await
    }

    /// A relay on a listener the caller bound (so others can know its address first).
    pub async fn start_on(
        listener: tokio::net::TcpListener,
        dir: &Path,
        region: &str,
        tweak: impl FnOnce(&mut Config),
    ) -> Self {
        let mut config = Config::for_tests(dir.to_owned(), region);
        tweak(&mut config);
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(runmesh_relay::run(listener, config, shutdown.clone()));
        Self {
            addr,
            data_dir: dir.to_owned(),
            _tmp: None,
            shutdown,
            task,
        }
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn http(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The relay's Prometheus text.
    pub async fn metrics(&self) -> String {
        reqwest::get(self.http("/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub fn ws(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Stops the relay and waits until it has.
    pub async fn stop(self) -> Option<tempfile::TempDir> {
        self.shutdown.cancel();
        self.task.await.unwrap().unwrap();
        self._tmp
    }
}

pub fn run_id() -> RunId {
    "123e4567-e89b-12d3-a456-426614174000".parse().unwrap()
}

/// A client that keeps one run in sync through a relay.
pub struct SyncClient {
    pub conn: Connection,
    pub run: RunDoc,
    sync: DocSync,
    relay: PeerId,
}

impl SyncClient {
    pub async fn connect(relay: &TestRelay, run: RunDoc) -> Self {
        Self::connect_url(&relay.ws(), run).await
    }

    pub async fn connect_url(url: &str, run: RunDoc) -> Self {
        let me = PeerId::random("test-client");
        let conn = Connection::connect(url, me, PeerMetadata::default())
            .await
            .unwrap();
        Self::from_connection(conn, run)
    }

    /// A client over a connection the caller opened (with a token, say).
    pub fn from_connection(conn: Connection, run: RunDoc) -> Self {
        let relay = conn.remote.peer.clone();
        let sync = DocSync::new(run.run_id().document_id(), conn.me.clone());
        Self {
            conn,
            run,
            sync,
            relay,
        }
    }

    /// A client with a fresh replica of `run` (genesis only) in `region`.
    pub async fn fresh(relay: &TestRelay, run: RunId, region: &str, user: &str) -> Self {
        Self::connect(
            relay,
            RunDoc::genesis(run, Identity::random(region, user).unwrap()),
        )
        .await
    }

    /// Starts syncing: as `request` (asks for a document it lacks) or `sync` (offers one).
    pub async fn open(&mut self, request: bool) {
        let message = self
            .sync
            .add_peer(self.run.automerge_mut(), &self.relay)
            .expect("a first sync message");
        let message = if request {
            message.into_request()
        } else {
            message
        };
        self.conn.send(&message).await.unwrap();
    }

    /// Sends what local changes produced.
    pub async fn push(&mut self) {
        self.sync.local_change();
        for (_, message) in self.sync.flush(self.run.automerge_mut()) {
            self.conn.send(&message).await.unwrap();
        }
    }

    /// Handles messages until `pred` holds; returns how long it took. Panics at the deadline.
    pub async fn wait_for(&mut self, what: &str, pred: impl Fn(&RunState) -> bool) -> Duration {
        let start = Instant::now();
        let deadline = start + Duration::from_secs(10);
        while !pred(&self.run.state()) {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = tokio::time::timeout(left, self.conn.recv())
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "timed out waiting for {what}; state: {}",
                        self.run.state().to_json()
                    )
                })
                .unwrap()
                .unwrap_or_else(|| panic!("relay closed the connection while waiting for {what}"));
            self.handle(message).await;
        }
        start.elapsed()
    }

    /// Handles messages until the relay at `http_base` has exactly this client's heads.
    pub async fn wait_relay_has_all(&mut self, http_base: &str) {
        let url = format!("{http_base}/api/crdt/runs/{}/heads", self.run.run_id());
        let mut want: Vec<String> = self.run.heads().iter().map(ToString::to_string).collect();
        want.sort();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let body: serde_json::Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
            let mut have: Vec<String> = body["heads"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h.as_str().unwrap().to_owned())
                .collect();
            have.sort();
            if have == want {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "relay never got this client's changes"
            );
            if let Ok(Ok(Some(message))) =
                tokio::time::timeout(Duration::from_millis(20), self.conn.recv()).await
            {
                self.handle(message).await;
            }
        }
    }

    /// Handles whatever arrives for `period`.
    pub async fn pump(&mut self, period: Duration) {
        let until = Instant::now() + period;
        while let Ok(Ok(Some(message))) =
            tokio::time::timeout_at(until.into(), self.conn.recv()).await
        {
            self.handle(message).await;
        }
    }

    /// The next message that is not a sync message (sync messages are applied on the way).
    pub async fn next_other(&mut self) -> Option<WireMessage> {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(10), self.conn.recv())
                .await
                .unwrap()
                .unwrap()?;
            match message {
                WireMessage::Sync { .. } => self.handle(message).await,
                other => return Some(other),
            }
        }
    }

    async fn handle(&mut self, message: WireMessage) {
        if let WireMessage::Sync { data, .. } = message {
            let changed = self
                .sync
                .receive(
                    self.run.automerge_mut(),
                    &self.relay,
                    runmesh_core::sync::decode_message(&data).expect("a sync message"),
                )
                .unwrap();
            if changed {
                self.run.refresh();
            }
            for (_, reply) in self.sync.flush(self.run.automerge_mut()) {
                self.conn.send(&reply).await.unwrap();
            }
        }
    }
}

/// Names of the pipeline's nodes.
pub fn names(state: &RunState) -> Vec<String> {
    state.pipeline.iter().map(|n| n.name.clone()).collect()
}

/// Polls `check` until it returns `Some`, at most 10 s; no fixed sleeps beyond a short poll.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// POSTs `body` (JSON text or a JSON value) and returns the status and the JSON answer.
pub async fn post(url: &str, body: impl std::fmt::Display) -> (u16, serde_json::Value) {
    let resp = reqwest::Client::new()
        .post(url)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(serde_json::Value::Null))
}

/// GETs `url` and returns the status and the JSON answer.
pub async fn get(url: &str) -> (u16, serde_json::Value) {
    let resp = reqwest::get(url).await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(serde_json::Value::Null))
}
