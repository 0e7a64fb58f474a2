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
    let stall = session.write_stall_timeout();
    let peer = session.link().peer().to_string();
    let sent = session.sent_counter();
    let frames_out = session.frames_out();
    let outbox = session.link().outbox.clone();
    let writer = tokio::spawn(async move {
        let mut ping =
            tokio::time::interval_at(tokio::time::Instant::now() + PING_INTERVAL, PING_INTERVAL);
        let mut write = Writer {
            sink: &mut sink,
            stall,
            peer: &peer,
        };
        loop {
            tokio::select! {
                frame = outbound.recv() => match frame {
                    Some(frame) => {
                        let len = frame.len();
                        if !write.send(Outgoing::Frame(frame), len).await { break }
                        outbox.sent(len);
                        frames_out.count(len);
                        if let Some(sent) = &sent { sent.inc_by(len as u64); }
                    }
                    None => break,
                },
                _ = ping.tick() => if !write.send(Outgoing::Ping, 0).await { break },
                () = writer_close.cancelled() => {
                    // Flush what is queued (an error message, say), within reason.
                    let drain = async {
                        while let Ok(frame) = outbound.try_recv() {
                            let len = frame.len();
                            if !write.send(Outgoing::Frame(frame), len).await {
                                break;
                            }
                        }
                    };
                    let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
                    break;
                }
            }
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), sink.close()).await;
        outbox.close();
        // A writer that stops (the peer reads nothing, the socket failed) ends the
        // session too, so the reader does not hold the connection until it idles out.
        writer_close.cancel();
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

/// Writes to the peer's sink, each write within its deadline.
struct Writer<'a, W> {
    sink: &'a mut W,
    stall: Duration,
    peer: &'a str,
}

impl<W: Sink<Outgoing> + Unpin> Writer<'_, W> {
    /// Sends `item` of `len` bytes; false when the sink failed or the peer read too
    /// little of it in time. The connection's own stall check sees a write that makes no
    /// progress; this deadline holds whoever polls it (the tenth attack's E29: a client
    /// that never reads nor sends kept its WebSocket until the idle timeout).
    async fn send(&mut self, item: Outgoing, len: usize) -> bool {
        let deadline = write_deadline(self.stall, len);
        match tokio::time::timeout(deadline, self.sink.send(item)).await {
            Ok(Ok(())) => true,
            Ok(Err(_)) => false,
            Err(_) => {
                tracing::info!(peer = %self.peer, "the peer read too little of a {len}-byte frame in {deadline:?}; closing");
                false
            }
        }
    }
}

/// The slowest a peer may read a frame before its connection is closed.
pub const MIN_READ_BYTES_PER_SEC: u64 = 256 * 1024;

/// How long a frame of `len` bytes may take to write: the stall timeout, plus the time
/// it takes at [`MIN_READ_BYTES_PER_SEC`].
fn write_deadline(stall: Duration, len: usize) -> Duration {
    stall + Duration::from_millis(len as u64 * 1000 / MIN_READ_BYTES_PER_SEC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_may_take_the_stall_timeout_plus_its_time_at_the_slowest_read_rate() {
        let stall = Duration::from_secs(30);
        assert_eq!(write_deadline(stall, 0), stall);
        assert_eq!(
            write_deadline(stall, 256 * 1024),
            stall + Duration::from_secs(1)
        );
        assert_eq!(
            write_deadline(stall, 16 << 20),
            stall + Duration::from_secs(64)
        );
    }
}
