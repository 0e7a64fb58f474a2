//! One task per configured peer URL: dial, run the session, and when it ends dial again,
//! forever, when core's [`node::Dialer`](runmesh_core::node::Dialer) says ([`Backoff`]:
//! 100 ms doubling up to `--mesh-backoff-max-ms`; stand-by after a lost tie-break).

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use runmesh_core::Backoff;
use runmesh_core::node::Dialer;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use crate::auth::Grants;
use crate::client::Connection;
use crate::mesh::{Dialled, Mesh, PeerStatus};
use crate::ws::pump::{Incoming, Outgoing, pump};
use crate::ws::{Session, SessionEnv};

/// The first wait after a failure.
const BACKOFF_START: Duration = Duration::from_millis(100);
/// How often a dialer standing by checks whether the peer's link to us is still up.
const STANDBY_POLL: Duration = Duration::from_millis(200);

/// How to reach the configured peers.
#[derive(Debug, Clone)]
pub struct DialPlan {
    /// The URLs of `CRDT_MESH_PEERS`.
    pub urls: Vec<String>,
    /// The mesh token to present, if any.
    pub token: Option<String>,
    /// TLS settings for `wss://`.
    pub tls: Arc<rustls::ClientConfig>,
    /// The longest wait between attempts.
    pub backoff_max: Duration,
}

/// Starts a dialer for every configured mesh peer.
pub fn spawn_all(
    mesh: Arc<Mesh>,
    sessions: SessionEnv,
    plan: DialPlan,
    shutdown: &CancellationToken,
) {
    mesh.dialer_status()
        .extend(plan.urls.iter().map(|url| PeerStatus {
            url: url.clone(),
            peer: None,
            region: None,
            attempts: 0,
            last_error: None,
        }));
    let plan = Arc::new(plan);
    for url in &plan.urls {
        mesh.dialer_up(url, false);
    }
    for index in 0..plan.urls.len() {
        let dialer = DialTask {
            mesh: mesh.clone(),
            sessions: sessions.clone(),
            plan: plan.clone(),
            index,
            shutdown: shutdown.clone(),
        };
        tokio::spawn(dialer.dial_forever());
    }
}

fn jitter() -> f64 {
    let mut b = [0u8; 4];
    let _ = getrandom::fill(&mut b);
    f64::from(u32::from_le_bytes(b)) / f64::from(u32::MAX)
}

struct DialTask {
    mesh: Arc<Mesh>,
    sessions: SessionEnv,
    plan: Arc<DialPlan>,
    index: usize,
    shutdown: CancellationToken,
}

impl DialTask {
    fn url(&self) -> &str {
        &self.plan.urls[self.index]
    }

    fn status(&self, update: impl FnOnce(&mut PeerStatus)) {
        update(&mut self.mesh.dialer_status()[self.index]);
    }

    async fn dial_forever(self) {
        let backoff = Backoff::new(BACKOFF_START, self.plan.backoff_max);
        let env = self.mesh.docs().env();
        let mut dialer = Dialer::new(backoff, env.now());
        let mut failures = 0u32;
        while !self.shutdown.is_cancelled() {
            if let Some(at) = dialer.next_dial() {
                tokio::select! {
                    () = tokio::time::sleep_until(env.instant(at).into()) => {}
                    () = self.shutdown.cancelled() => return,
                }
            }
            if !dialer.dial(env.now()) {
                continue;
            }
            match self.dial_once(&mut dialer).await {
                Ok(()) => {
                    failures = 0;
                    dialer.ended(env.now(), jitter());
                }
                Err(e) => {
                    if failures == 0 {
                        tracing::warn!(url = %self.url(), error = %e, "CRDT mesh: cannot reach peer; retrying with backoff");
                    }
                    failures += 1;
                    self.status(|s| {
                        s.attempts += 1;
                        s.last_error = Some(e.to_string());
                    });
                    dialer.failed(env.now(), jitter());
                }
            }
        }
    }

    /// One connection's life: dial, join, run the session until it ends.
    /// Tells `dialer` whether the link came up or stood by; `Ok` once it has ended.
    async fn dial_once(&self, dialer: &mut Dialer) -> Result<(), crate::client::ClientError> {
        let url = self.url().to_owned();
        let me = self.sessions.me.clone();
        let token = self.plan.token.as_deref();
        let tls = Some(self.plan.tls.clone());
        let conn = Connection::connect_with(&url, me, self.mesh.metadata(), token, tls).await?;
        let peer = conn.remote.peer.clone();
        let region = conn.remote.metadata.region.clone();
        let region = region.unwrap_or_else(|| "unknown".into());
        tracing::info!(%url, %peer, %region, "CRDT mesh: link up");
        self.status(|s| {
            s.peer = Some(peer.clone());
            s.region = Some(region.clone());
            s.attempts = 0;
            s.last_error = None;
        });
        let close = self.shutdown.child_token();
        let (mut session, outbound) = Session::new(
            self.sessions.clone(),
            peer.clone(),
            Grants::Mesh,
            close.clone(),
        );
        session.count_traffic(self.mesh.traffic(&region));
        let link = session.link().clone();
        if !self
            .mesh
            .link_up(link.clone(), region, Dialled::ByUs { url: url.clone() })
        {
            // The peer's own link to us is the one both sides keep: wait while it lives.
            dialer.stand_by(peer.clone());
            conn.close().await;
            tracing::debug!(%url, %peer, "CRDT mesh: the peer's link to us is kept; standing by");
            while self.mesh.has_peer(&peer) && !self.shutdown.is_cancelled() {
                tokio::time::sleep(STANDBY_POLL).await;
            }
            self.status(|s| s.peer = None);
            return Ok(());
        }
        dialer.linked();
        let (sink, stream) = conn.into_inner().split();
        let sink = sink.with(|out: Outgoing| {
            std::future::ready(Ok::<_, tokio_tungstenite::tungstenite::Error>(match out {
                Outgoing::Frame(frame) => Message::Binary(frame.into()),
                Outgoing::Ping => Message::Ping(Vec::new().into()),
            }))
        });
        let incoming = stream.map(|m| match m {
            Ok(Message::Binary(bytes)) => Incoming::Binary(bytes.to_vec()),
            Ok(Message::Text(_)) => Incoming::Text,
            Ok(Message::Close(_)) => Incoming::Closed,
            Ok(_) => Incoming::Control,
            Err(e) => Incoming::Error(e.to_string()),
        });
        self.mesh.dialer_up(&url, true);
        let end = pump(session, outbound, incoming, Box::pin(sink), close).await;
        self.mesh.dialer_up(&url, false);
        self.mesh.link_down(&link);
        self.status(|s| s.peer = None);
        tracing::warn!(%url, ?end, "CRDT mesh: link down");
        Ok(())
    }
}
