//! The server side of `/ws`: upgrade, handshake, then [`pump`] frames through a
//! [`Session`]. A peer whose `join` carries a region is another relay: a mesh link.

use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use runmesh_core::sync::{WireMessage, handshake};

use crate::auth::Grants;
use crate::http::Caller;
use crate::state::AppState;
use crate::ws::pump::{Incoming, Outgoing, pump};
use crate::ws::session::Session;

/// How long a new connection may take to send its `join`.
const JOIN_TIMEOUT: Duration = Duration::from_secs(10);

/// `GET /ws`: upgrades to a WebSocket speaking automerge-repo's protocol.
pub async fn ws_handler(
    State(state): State<AppState>,
    caller: Caller,
    upgrade: WebSocketUpgrade,
) -> Response {
    // Frames up to twice the limit are read so that an oversized one can be answered
    // with an `error` message; beyond that the socket is dropped outright.
    let limit = state.ctx.config.max_frame_bytes.saturating_mul(2);
    // Small buffers: most sockets are idle most of the time (tungstenite's defaults of
    // 128 KiB each cost ~137 KiB per idle socket; measured in the README).
    upgrade
        .read_buffer_size(8 * 1024)
        .write_buffer_size(0)
        .max_message_size(limit)
        .max_frame_size(limit)
        .on_upgrade(move |socket| serve(socket, state, caller.grants))
}

async fn serve(mut socket: WebSocket, state: AppState, grants: Grants) {
    state.ctx.metrics.connections(1);
    if let Some((session, outbound, close)) = join(&mut socket, &state, grants).await {
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
        let link = session.link().clone();
        let end = pump(session, outbound, incoming, Box::pin(sink), close).await;
        if link.is_mesh {
            state.ctx.mesh.link_down(&state.ctx, &link);
        }
        let peer = link.peer;
        tracing::debug!(%peer, ?end, "session ended");
    }
    state.ctx.metrics.connections(-1);
}

/// Reads the `join`, answers it, and sets up the session; `None` if the peer failed.
async fn join(
    socket: &mut WebSocket,
    state: &AppState,
    grants: Grants,
) -> Option<(
    Session,
    tokio::sync::mpsc::Receiver<Vec<u8>>,
    tokio_util::sync::CancellationToken,
)> {
    let me = state.ctx.me.clone();
    let first = match tokio::time::timeout(JOIN_TIMEOUT, socket.recv()).await {
        Ok(Some(Ok(Message::Binary(bytes)))) => {
            WireMessage::decode(&bytes, state.ctx.config.max_frame_bytes)
        }
        _ => return None,
    };
    let joined = match first {
        Ok(first) => handshake::accept(first, &me, &state.ctx.mesh.metadata(&state.ctx)),
        Err(e) => {
            state.ctx.metrics.malformed_frame();
            Err(Box::new(WireMessage::Error {
                message: e.to_string(),
                sender_id: Some(me.clone()),
                target_id: None,
            }))
        }
    };
    let (joined, reply) = match joined {
        Ok(ok) => ok,
        Err(error) => {
            let _ = socket.send(Message::Binary(error.encode().into())).await;
            let _ = socket.close().await;
            return None;
        }
    };
    socket
        .send(Message::Binary(reply.encode().into()))
        .await
        .ok()?;
    let close = state.shutdown.child_token();
    let is_mesh = joined.metadata.region.is_some();
    let verifier = &state.ctx.verifier;
    let open_mesh = verifier.is_open() && verifier.mesh_token().is_none();
    if is_mesh && !grants.is_mesh() && !open_mesh {
        tracing::warn!(peer = %joined.peer, "refusing a relay that did not present the mesh token");
        let error = WireMessage::Error {
            message: "mesh peers must present the mesh token (--mesh-token)".into(),
            sender_id: Some(me.clone()),
            target_id: Some(joined.peer.clone()),
        };
        let _ = socket.send(Message::Binary(error.encode().into())).await;
        let _ = socket.close().await;
        return None;
    }
    let grants = if is_mesh { Grants::Mesh } else { grants };
    let (session, outbound) = Session::new(
        state.ctx.clone(),
        joined.peer.clone(),
        grants,
        close.clone(),
    );
    if let Some(region) = &joined.metadata.region {
        if !state.ctx.mesh.link_up(
            &state.ctx,
            session.link().clone(),
            region.clone(),
            None,
            false,
        ) {
            tracing::debug!(peer = %joined.peer, "refusing a duplicate mesh link; ours to it stays");
            let error = session.error(
                "duplicate mesh link: the link dialled by the relay with the smaller peer id stays",
            );
            let _ = socket.send(Message::Binary(error.encode().into())).await;
            let _ = socket.close().await;
            return None;
        }
        tracing::info!(peer = %joined.peer, %region, "mesh peer connected to us");
    }
    Some((session, outbound, close))
}
