//! A real WebSocket client that keeps one run in sync through a relay with core's sync
//! engine.

use std::time::{Duration, Instant};

use runmesh_core::sync::{DocSync, PeerId, PeerMetadata, WireMessage};
use runmesh_core::{Identity, RunDoc, RunId, RunState};
use runmesh_relay::client::Connection;

use super::TestRelay;

/// A client that keeps one run in sync through a relay.
#[derive(Debug)]
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
