//! `GET /ws`: upgrades to a WebSocket speaking automerge-repo's protocol. A peer whose
//! `join` carries a region is another relay: its session becomes a mesh link. A session
//! opened with a token ends when the token does (it expires, or a key reload no longer
//! verifies it): an `error` message naming why, then the close.

use axum::extract::State;
use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use runmesh_core::sync::handshake::Joined;
use runmesh_core::sync::{PeerId, WireMessage};

use crate::auth::{Grants, Lease};
use crate::http::caller::Caller;
use crate::http::error::AppError;
use crate::http::state::AppState;
use crate::limits::Who;
use crate::mesh::Dialled;
use crate::runs::PeerLink;
use crate::ws::Session;
use crate::ws::server::{handshake, refuse, serve};

/// `GET /ws`
pub async fn ws_handler(
    State(state): State<AppState>,
    caller: Caller,
    upgrade: WebSocketUpgrade,
) -> Response {
    // Counted from the upgrade: an idle socket holds a connection as a busy one does.
    let stream = if caller.grants.is_mesh() {
        None
    } else {
        match state.streams.open(&caller.who) {
            Ok(stream) => Some(stream),
            Err(why) => return AppError::Unavailable(why).into_response(),
        }
    };
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
            connection(socket, state, caller).await;
            drop((tracked, stream));
        })
}

async fn connection(mut socket: WebSocket, state: AppState, caller: Caller) {
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
        let lease = caller.lease(&state);
        joined_connection(socket, &state, caller, lease, joined).await;
    }
    state.metrics.connections(-1);
}

async fn joined_connection(
    mut socket: WebSocket,
    state: &AppState,
    caller: Caller,
    lease: Lease,
    joined: Joined,
) {
    let Caller { grants, who, .. } = caller;
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
    let verified = matches!(who, Who::Subject(_));
    session.spend_as(who.clone());
    let link = session.link().clone();
    // Only a verified caller holds its ids: in open mode anyone may do anything anyway,
    // and a client whose address changed must be able to reconnect with its id while its
    // old connection has not yet timed out.
    let claims = state.sessions.claims.clone();
    if !link.is_mesh() && verified {
        let claimed = lock(&claims).claim(&joined.peer, who, link.link.session);
        if let Err(why) = claimed {
            tracing::info!(peer = %joined.peer, "refusing a join with a peer id another caller holds");
            return refuse(&mut socket, &session.error(&why)).await;
        }
    }
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
    // Only sessions opened with a token can end this way: no task for the others.
    let ending = lease
        .can_end()
        .then(|| tokio::spawn(end_with_lease(lease, link.clone(), state.me.clone())));
    let end = serve(socket, session, outbound, close).await;
    if let Some(ending) = ending {
        ending.abort();
    }
    lock(&claims).release(&joined.peer, link.link.session);
    if link.is_mesh() {
        state.mesh.link_down(&link);
        tracing::warn!(peer = %joined.peer, ?end, "CRDT mesh: peer disconnected from us");
    } else {
        tracing::debug!(peer = %joined.peer, ?end, "session ended");
    }
}

/// Closes the session when its token stops being accepted, telling the peer why in an
/// `error` message from `me`.
async fn end_with_lease(lease: Lease, link: PeerLink, me: PeerId) {
    tokio::select! {
        end = lease.ended() => {
            tracing::info!(peer = %link.peer(), reason = %end, "closing a session whose token ended");
            let error = WireMessage::error(&me, Some(link.peer()), end.to_string());
            // Queued before the close: the writer sends what is queued, then closes.
            let _ = link.tx.try_send(error.encode());
            link.close.cancel();
        }
        () = link.close.cancelled() => {}
    }
}

fn lock<T>(claims: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    claims
        .lock()
        .expect("the peer claims lock is never poisoned")
}
