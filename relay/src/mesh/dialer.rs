//! One task per configured peer URL: dial, run the session, and when it ends dial again,
//! forever, with exponential backoff (100 ms doubling up to `--mesh-backoff-max-ms`,
//! 1 s by default) and ±50 % jitter.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use crate::auth::Grants;
use crate::client::Connection;
use crate::docs::DocContext;
use crate::mesh::PeerStatus;
use crate::ws::pump::{Incoming, Outgoing, pump};
use crate::ws::session::Session;

const BACKOFF_START: Duration = Duration::from_millis(100);
/// How often a dialer standing by checks whether the peer's link to us is still up.
const STANDBY_POLL: Duration = Duration::from_millis(200);

/// Starts a dialer for every configured mesh peer.
pub fn spawn_all(ctx: &Arc<DocContext>, shutdown: &CancellationToken) {
    let urls = ctx.config.mesh_peers.clone();
    ctx.mesh
        .dialer_status()
        .extend(urls.iter().map(|url| PeerStatus {
            url: url.clone(),
            peer: None,
            region: None,
            attempts: 0,
            last_error: None,
        }));
    for (index, url) in urls.into_iter().enumerate() {
        tokio::spawn(dial_forever(ctx.clone(), index, url, shutdown.clone()));
    }
}

/// The delay before attempt `n` (1-based) after a failure or a dropped link.
pub fn backoff(attempt: u32, cap: Duration, jitter: f64) -> Duration {
    let exp = BACKOFF_START.saturating_mul(1u32 << attempt.min(16).saturating_sub(1));
    exp.min(cap).mul_f64(0.5 + jitter)
}

fn jitter() -> f64 {
    let mut b = [0u8; 4];
    let _ = getrandom::fill(&mut b);
    f64::from(u32::from_le_bytes(b)) / f64::from(u32::MAX)
}

async fn dial_forever(
    ctx: Arc<DocContext>,
    index: usize,
    url: String,
    shutdown: CancellationToken,
) {
    let mut attempt = 0u32;
    while !shutdown.is_cancelled() {
        let token = ctx.verifier.mesh_token();
        let tls = Some(ctx.mesh_tls.clone());
        match Connection::connect_with(&url, ctx.me.clone(), ctx.mesh.metadata(&ctx), token, tls)
            .await
        {
            Ok(conn) => {
                attempt = 0;
                let peer = conn.remote.peer.clone();
                let region = conn
                    .remote
                    .metadata
                    .region
                    .clone()
                    .unwrap_or_else(|| "unknown".into());
                tracing::info!(%url, %peer, %region, "mesh link up");
                {
                    let mut status = ctx.mesh.dialer_status();
                    status[index].peer = Some(peer.clone());
                    status[index].region = Some(region.clone());
                    status[index].attempts = 0;
                    status[index].last_error = None;
                }
                let close = shutdown.child_token();
                let (session, outbound) =
                    Session::new(ctx.clone(), peer.clone(), Grants::Mesh, close.clone());
                let link = session.link().clone();
                if !ctx
                    .mesh
                    .link_up(&ctx, link.clone(), region, Some(url.clone()), true)
                {
                    // The peer's own link to us is the one both sides keep: wait while
                    // it lives, then dial again.
                    conn.close().await;
                    tracing::debug!(%url, %peer, "the peer's link to us is kept; standing by");
                    ctx.mesh.dialer_status()[index].peer = Some(peer.clone());
                    while ctx.mesh.has_peer(&peer) && !shutdown.is_cancelled() {
                        tokio::time::sleep(STANDBY_POLL).await;
                    }
                    ctx.mesh.dialer_status()[index].peer = None;
                    attempt = 0;
                    continue;
                }
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
                let end = pump(session, outbound, incoming, Box::pin(sink), close).await;
                ctx.mesh.link_down(&ctx, &link);
                ctx.mesh.dialer_status()[index].peer = None;
                tracing::warn!(%url, ?end, "mesh link down");
            }
            Err(e) => {
                let mut status = ctx.mesh.dialer_status();
                status[index].attempts += 1;
                status[index].last_error = Some(e.to_string());
                if attempt == 0 {
                    tracing::warn!(%url, error = %e, "cannot reach mesh peer; retrying with backoff");
                }
            }
        }
        attempt = attempt.saturating_add(1);
        let delay = backoff(attempt, ctx.config.mesh_backoff_max, jitter());
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = shutdown.cancelled() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_cap_with_jitter_around_it() {
        let cap = Duration::from_secs(10);
        assert_eq!(backoff(1, cap, 0.5), Duration::from_millis(100));
        assert_eq!(backoff(2, cap, 0.5), Duration::from_millis(200));
        assert_eq!(backoff(5, cap, 0.5), Duration::from_millis(1600));
        assert_eq!(backoff(30, cap, 0.5), cap);
        assert_eq!(backoff(1, cap, 0.0), Duration::from_millis(50));
        assert_eq!(backoff(30, cap, 1.0), cap.mul_f64(1.5));
    }
}
