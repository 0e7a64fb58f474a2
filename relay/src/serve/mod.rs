//! Accepting and serving connections (HTTP/1.1, optionally TLS) under the limits that
//! keep clients from holding the relay: a cap on connections ([`slots`], sized against
//! the open-file limit by [`fds`]), a deadline on every request head ([`conn`]), and a
//! grace period on shutdown after which whatever is still open is dropped, so the
//! process exits within it even with streams and sockets open.

mod conn;
pub mod fds;
mod slots;
mod stall;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::serve::conn::{Conn, Lane};
pub use crate::serve::slots::PROBE_SLOTS;
use crate::serve::slots::{Held, Slot, Slots};

/// How connections are served.
#[derive(Debug, Clone, Copy)]
pub struct ServeLimits {
    /// Connections served in full at once.
    pub max_connections: usize,
    /// Time for each request head.
    pub header_read_timeout: Duration,
    /// How long a write may wait for the client to read.
    pub write_stall_timeout: Duration,
    /// How long shutdown waits for connections and WebSockets to end.
    pub grace: Duration,
}

/// Serves `router` on `listener` until `shutdown` fires; then stops accepting, lets
/// requests under way finish and WebSockets (tracked by `upgraded`) close, and returns
/// when all have or when `limits.grace` has passed, whichever is first.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<ServerConfig>>,
    router: Router,
    limits: ServeLimits,
    shutdown: CancellationToken,
    upgraded: TaskTracker,
) {
    let slots = Slots::new(limits.max_connections);
    let acceptor = tls.map(TlsAcceptor::from);
    let connections = TaskTracker::new();
    let drop_all = CancellationToken::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.cancelled() => break,
        };
        let (tcp, addr) = match accepted {
            Ok((tcp, addr)) => {
                // Frames are small and answered at once: Nagle's algorithm would hold each
                // behind the peer's delayed acknowledgement of the one before.
                let _ = tcp.set_nodelay(true);
                (tcp, addr)
            }
            Err(e) => {
                // Out of descriptors, most likely: wait rather than spin.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let slot = slots.admit();
        let (lane, evicted) = match &slot {
            Slot::Served(_) => (Lane::Served, None),
            Slot::Probe(probe) => (
                Lane::ProbeOnly {
                    max_connections: limits.max_connections,
                },
                Some(probe.evicted()),
            ),
        };
        let io = Held::new(tcp, slot);
        let conn = Conn {
            router: router.clone(),
            addr,
            header_read_timeout: limits.header_read_timeout,
            write_stall_timeout: limits.write_stall_timeout,
            lane,
            shutdown: shutdown.clone(),
        };
        let (acceptor, drop_all) = (acceptor.clone(), drop_all.clone());
        connections.spawn(async move {
            let served = async move {
                match acceptor {
                    Some(acceptor) => {
                        if let Some(tls) = crate::tls::accept(&acceptor, io, addr).await {
                            conn.serve(tls).await;
                        }
                    }
                    None => conn.serve(io).await,
                }
            };
            let evicted = async move {
                match evicted {
                    Some(evicted) => evicted.cancelled().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = served => {}
                () = evicted => {}
                () = drop_all.cancelled() => {}
            }
        });
    }
    drop(listener);
    connections.close();
    upgraded.close();
    tracing::info!(
        connections = connections.len(),
        websockets = upgraded.len(),
        grace = ?limits.grace,
        "stopped accepting; waiting for open connections to end"
    );
    let ended = async {
        connections.wait().await;
        upgraded.wait().await;
    };
    if tokio::time::timeout(limits.grace, ended).await.is_err() {
        tracing::warn!(
            connections = connections.len(),
            websockets = upgraded.len(),
            "still open after the shutdown grace period (--shutdown-grace-secs): dropping them"
        );
        // Connections drop at once when told; a WebSocket was told when `shutdown` fired
        // and is not waited for any longer.
        drop_all.cancel();
        connections.wait().await;
    }
}
