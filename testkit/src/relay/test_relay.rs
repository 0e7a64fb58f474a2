//! A relay in this process, on 127.0.0.1:0, with a data directory of its own.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use runmesh_relay::Config;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A relay running in this process.
#[derive(Debug)]
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

    /// How many runs the relay holds in memory, as the mesh status counts them.
    pub async fn runs_loaded(&self) -> u64 {
        let status: serde_json::Value = reqwest::get(self.http("/api/crdt/mesh/status"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        status["runsLoaded"].as_u64().unwrap()
    }

    /// The catch-up of the mesh peer this relay is connected to (`null` if none ran on
    /// the link), once a link is up.
    pub async fn catch_up(&self) -> Option<serde_json::Value> {
        let (_, status) = super::get(&self.http("/api/crdt/mesh/status")).await;
        let peer = status["peers"]
            .as_array()?
            .iter()
            .find(|p| p["connected"] == true)?;
        Some(peer["catchUp"].clone())
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
