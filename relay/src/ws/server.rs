//! The server side of a `/ws` socket (axum): the `join` → `peer` handshake, then the
//! frames pumped through a [`Session`].

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use futures_util::{SinkExt, StreamExt};
use runmesh_core::sync::handshake::{self, Joined};
use runmesh_core::sync::{PeerId, PeerMetadata, WireMessage};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;
use crate::ws::pump::{Incoming, Outgoing, pump};
use crate::ws::session::{Session, SessionEnd};

/// How long a new connection may take to send its `join`.
const JOIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads the `join` and answers it as `me`; `None` if the peer failed (it was told why).
pub async fn handshake(
    socket: &mut WebSocket,
    me: &PeerId,
    metadata: &PeerMetadata,
    max_frame_bytes: usize,
    metrics: &Metrics,
) -> Option<Joined> {
    let first = match tokio::time::timeout(JOIN_TIMEOUT, socket.recv()).await {
        Ok(Some(Ok(Message::Binary(bytes)))) => WireMessage::decode(&bytes, max_frame_bytes),
        _ => return None,
    };
    let joined = match first {
        Ok(first) => handshake::accept(first, me, metadata),
        Err(e) => {
            metrics.malformed_frame();
            Err(Box::new(WireMessage::error(me, None, e.to_string())))
        }
    };
    match joined {
        Ok((joined, reply)) => {
            socket
                .send(Message::Binary(reply.encode().into()))
                .await
                .ok()?;
            Some(joined)
        }
        Err(error) => {
            refuse(socket, &error).await;
            None
        }
    }
}

/// Sends `error` and closes the socket.
pub async fn refuse(socket: &mut WebSocket, error: &WireMessage) {
    let _ = socket.send(Message::Binary(error.encode().into())).await;
    let _ = socket.close().await;
}

/// Pumps the joined socket's frames through `session` until it ends.
pub async fn serve(
    socket: WebSocket,
    session: Session,
    outbound: mpsc::Receiver<Vec<u8>>,
    close: CancellationToken,
) -> SessionEnd {
    let (sink, stream) = socket.split();
    let sink = sink.with(|out: Outgoing| {
        std::future::ready(Ok::<_, axum::Error>(match out {
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
    pump(session, outbound, incoming, Box::pin(sink), close).await
}
