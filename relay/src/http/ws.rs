//! `GET /ws`: upgrades to a WebSocket speaking automerge-repo's protocol. A peer whose
//! `join` carries a region is another relay: its session becomes a mesh link.

use axum::extract::State;
use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::response::Response;
use runmesh_core::sync::WireMessage;
use runmesh_core::sync::handshake::Joined;

use crate::auth::Grants;
use crate::http::caller::Caller;
use crate::http::state::AppState;
use crate::mesh::Dialled;
use crate::ws::Session;
use crate::ws::server::{handshake, refuse, serve};

/// `GET /ws`
pub async fn ws_handler(
    State(state): State<AppState>,
    caller: Caller,
    upgrade: WebSocketUpgrade,
) -> Response {
    // Frames up to twice the limit are read so that an oversized one can be answered
    // with an `error` message; beyond that the socket is dropped outright.
    let limit = state.sessions.config.max_frame_bytes.saturating_mul(2);
    // Small buffers: most sockets are idle most of the time (tungstenite's defaults of
    // 128 KiB each cost ~137 KiB per idle socket; docs/benchmarks.md).
    // Held until the session ends: shutdown waits for it (within its grace period).
    let tracked = state.upgraded.token();
    upgrade
        .read_buffer_size(8 * 1024)
        .write_buffer_size(0)
        .max_message_size(limit)
        .max_frame_size(limit)
        .on_upgrade(move |socket| async move {
            connection(socket, state, caller.grants).await;
            drop(tracked);
        })
}

async fn connection(mut socket: WebSocket, state: AppState, grants: Grants) {
    state.metrics.connections(1);
    let joined = handshake(
        &mut socket,
        &state.me,
        &state.mesh.metadata(),
        state.sessions.config.max_frame_bytes,
        &state.metrics,
    )
    .await;
    if let Some(joined) = joined {
        joined_connection(socket, &state, grants, joined).await;
    }
    state.metrics.connections(-1);
}

async fn joined_connection(
    mut socket: WebSocket,
    state: &AppState,
    grants: Grants,
    joined: Joined,
) {
    let region = joined.metadata.region;
    let open_mesh = state.verifier.is_open() && state.verifier.mesh_token().is_none();
    if region.is_some() && !grants.is_mesh() && !open_mesh {
        tracing::warn!(peer = %joined.peer, "CRDT mesh: refusing a relay that did not present the mesh token");
        let error = WireMessage::error(
            &state.me,
            Some(&joined.peer),
            "mesh peers must present the mesh token (--mesh-token)",
        );
        return refuse(&mut socket, &error).await;
    }
    let grants = if region.is_some() {
        Grants::Mesh
    } else {
        grants
    };
    let close = state.shutdown.child_token();
    let (mut session, outbound) = Session::new(
        state.sessions.clone(),
        joined.peer.clone(),
        grants,
        close.clone(),
    );
    let link = session.link().clone();
    if let Some(region) = region {
        session.count_traffic(state.mesh.traffic(&region));
        if !state
            .mesh
            .link_up(link.clone(), region.clone(), Dialled::ByThem)
        {
            tracing::debug!(peer = %joined.peer, "CRDT mesh: refusing a duplicate link; ours to it stays");
            let error = session.error(
                "duplicate mesh link: the link dialled by the relay with the smaller peer id stays",
            );
            return refuse(&mut socket, &error).await;
        }
        tracing::info!(peer = %joined.peer, %region, "CRDT mesh: peer connected to us");
    }
    let end = serve(socket, session, outbound, close).await;
    if link.is_mesh() {
        state.mesh.link_down(&link);
        tracing::warn!(peer = %joined.peer, ?end, "CRDT mesh: peer disconnected from us");
    } else {
        tracing::debug!(peer = %joined.peer, ?end, "session ended");
    }
}
