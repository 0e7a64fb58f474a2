//! The server side of `/ws`: upgrade, handshake, then a [`Session`] pumping frames.

use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use runmesh_core::sync::{PeerMetadata, WireMessage, handshake};

use crate::state::AppState;
use crate::ws::session::{Session, SessionEnd};

/// How long a new connection may take to send its `join`.
const JOIN_TIMEOUT: Duration = Duration::from_secs(10);

/// `GET /ws`: upgrades to a WebSocket speaking automerge-repo's protocol.
pub async fn ws_handler(State(state): State<AppState>, upgrade: WebSocketUpgrade) -> Response {
    // Frames up to twice the limit are read so that an oversized one can be answered
    // with an `error` message; beyond that the socket is dropped outright.
    let limit = state.ctx.config.max_frame_bytes.saturating_mul(2);
    upgrade
        .max_message_size(limit)
        .max_frame_size(limit)
        .on_upgrade(move |socket| serve(socket, state))
}

async fn serve(mut socket: WebSocket, state: AppState) {
    state.ctx.metrics.connections(1);
    let me = state.ctx.me.clone();
    let first = match tokio::time::timeout(JOIN_TIMEOUT, socket.recv()).await {
        Ok(Some(Ok(Message::Binary(bytes)))) => {
            WireMessage::decode(&bytes, state.ctx.config.max_frame_bytes)
        }
        _ => {
            state.ctx.metrics.connections(-1);
            return;
        }
    };
    let joined = match first {
        Ok(first) => handshake::accept(
            first,
            &me,
            &PeerMetadata {
                storage_id: None,
                is_ephemeral: false,
            },
        ),
        Err(e) => {
            state.ctx.metrics.malformed_frame();
            Err(WireMessage::Error {
                message: e.to_string(),
                sender_id: Some(me.clone()),
                target_id: None,
            })
        }
    };
    let (joined, reply) = match joined {
        Ok(ok) => ok,
        Err(error) => {
            let _ = socket.send(Message::Binary(error.encode().into())).await;
            let _ = socket.close().await;
            state.ctx.metrics.connections(-1);
            return;
        }
    };
    if socket
        .send(Message::Binary(reply.encode().into()))
        .await
        .is_err()
    {
        state.ctx.metrics.connections(-1);
        return;
    }
    let close = state.shutdown.child_token();
    let (mut session, mut outbound) =
        Session::new(state.ctx.clone(), joined.peer.clone(), false, close.clone());
    tracing::debug!(peer = %joined.peer, "peer joined");
    let (mut sink, mut stream) = socket.split();
    let writer_close = close.clone();
    let writer = tokio::spawn(async move {
        loop {
            tokio::select! {
                frame = outbound.recv() => match frame {
                    Some(frame) => if sink.send(Message::Binary(frame.into())).await.is_err() { break },
                    None => break,
                },
                () = writer_close.cancelled() => {
                    // Flush what is queued (an error message, say), within reason.
                    let drain = async {
                        while let Ok(frame) = outbound.try_recv() {
                            if sink.send(Message::Binary(frame.into())).await.is_err() {
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
    });
    let end = loop {
        let frame = tokio::select! {
            frame = stream.next() => frame,
            () = close.cancelled() => break SessionEnd::CutOff,
        };
        match frame {
            Some(Ok(Message::Binary(bytes))) => {
                if let Err((end, reply)) = session.on_frame(&bytes).await {
                    if let Some(reply) = reply {
                        let _ = session.link().tx.try_send(reply.encode());
                    }
                    break end;
                }
            }
            Some(Ok(Message::Text(_))) => {
                state.ctx.metrics.malformed_frame();
                let reply = WireMessage::Error {
                    message: "text frames are not part of the protocol: send binary CBOR".into(),
                    sender_id: Some(me.clone()),
                    target_id: Some(joined.peer.clone()),
                };
                let _ = session.link().tx.try_send(reply.encode());
                break SessionEnd::ProtocolError("text frame".into());
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                state.ctx.metrics.malformed_frame();
                tracing::warn!(peer = %joined.peer, error = %e, "websocket error");
                break SessionEnd::Closed;
            }
            None => break SessionEnd::Closed,
        }
    };
    tracing::debug!(peer = %joined.peer, ?end, "session ended");
    session.end().await;
    close.cancel();
    let _ = writer.await;
    state.ctx.metrics.connections(-1);
}
