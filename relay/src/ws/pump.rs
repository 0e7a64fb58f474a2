//! [`pump`]: moves frames between a joined peer's socket and its [`Session`], for both
//! the server's sockets (axum) and the mesh's outbound ones (tokio-tungstenite), which
//! the callers adapt to one [`Incoming`] stream and one sink of encoded frames.

use std::time::Duration;

use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::ws::session::{Session, SessionEnd};

/// A frame from the peer, transport-neutral.
#[derive(Debug)]
pub enum Incoming {
    /// A binary frame: one protocol message.
    Binary(Vec<u8>),
    /// A text frame: not part of the protocol.
    Text,
    /// Ping, pong, and other control frames.
    Control,
    /// The peer closed the connection.
    Closed,
    /// The socket failed.
    Error(String),
}

/// What the writer sends: a protocol frame, or a keep-alive ping.
#[derive(Debug)]
pub enum Outgoing {
    /// One encoded protocol message.
    Frame(Vec<u8>),
    /// A WebSocket ping (browsers and tungstenite answer with a pong).
    Ping,
}

/// How often an idle connection is pinged.
pub const PING_INTERVAL: Duration = Duration::from_secs(30);

/// Runs the session until the peer leaves, breaks the protocol, goes silent for the
/// configured idle timeout (pongs count), or `close` fires. Outbound frames are written
/// by their own task so a slow socket never blocks reading; it also pings every 30 s.
pub async fn pump<R, W>(
    mut session: Session,
    mut outbound: mpsc::Receiver<Vec<u8>>,
    mut incoming: R,
    mut sink: W,
    close: CancellationToken,
) -> SessionEnd
where
    R: Stream<Item = Incoming> + Unpin,
    W: Sink<Outgoing> + Unpin + Send + 'static,
{
    let writer_close = close.clone();
    let idle_timeout = session.idle_timeout();
    let sent = session.sent_counter();
    let frames_out = session.frames_out();
    let outbox = session.link().outbox.clone();
    let writer = tokio::spawn(async move {
        let mut ping =
            tokio::time::interval_at(tokio::time::Instant::now() + PING_INTERVAL, PING_INTERVAL);
        loop {
            tokio::select! {
                frame = outbound.recv() => match frame {
                    Some(frame) => {
                        let len = frame.len() as u64;
                        if sink.send(Outgoing::Frame(frame)).await.is_err() { break }
                        outbox.sent(len as usize);
                        frames_out.count(len as usize);
                        if let Some(sent) = &sent { sent.inc_by(len); }
                    }
                    None => break,
                },
                _ = ping.tick() => if sink.send(Outgoing::Ping).await.is_err() { break },
                () = writer_close.cancelled() => {
                    // Flush what is queued (an error message, say), within reason.
                    let drain = async {
                        while let Ok(frame) = outbound.try_recv() {
                            if sink.send(Outgoing::Frame(frame)).await.is_err() {
                                break;
                            }
                        }
                    };
                    let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
                    break;
                }
            }
        }
        let _ = sink.close().await;
        outbox.close();
    });
    let end = loop {
        let frame = tokio::select! {
            frame = tokio::time::timeout(idle_timeout, incoming.next()) => match frame {
                Ok(frame) => frame.unwrap_or(Incoming::Closed),
                Err(_) => {
                    tracing::info!(peer = %session.link().peer(), "closing a connection silent for {idle_timeout:?}");
                    break SessionEnd::CutOff;
                }
            },
            () = close.cancelled() => break SessionEnd::CutOff,
        };
        match frame {
            Incoming::Binary(bytes) => {
                if let Err(stop) = session.on_frame(&bytes).await {
                    if let Some(reply) = stop.reply {
                        let _ = session.link().tx.try_send(reply.encode());
                    }
                    break stop.end;
                }
            }
            Incoming::Text => {
                session.malformed();
                let reply =
                    session.error("text frames are not part of the protocol: send binary CBOR");
                let _ = session.link().tx.try_send(reply.encode());
                break SessionEnd::ProtocolError("text frame".into());
            }
            Incoming::Control => {}
            Incoming::Closed => break SessionEnd::Closed,
            Incoming::Error(e) => {
                tracing::warn!(peer = %session.link().peer(), error = %e, "websocket error");
                break SessionEnd::Closed;
            }
        }
    };
    session.end().await;
    close.cancel();
    let _ = writer.await;
    end
}
