//! [`route`]: what a frame from a peer that completed the handshake asks for. Decoded
//! once, where it arrives: the protocol message, the Automerge sync message inside it
//! (under the core's panic guard), a relay's digest frame.

use automerge::sync::Message;

use crate::digest::DigestMessage;
use crate::hub::{PeerKind, Presence};
use crate::id::DocumentId;
use crate::reach::ReachMessage;
use crate::sync::{PeerId, WireMessage, decode_message};

/// One frame's request.
#[derive(Debug)]
pub enum Routed {
    /// A sync message for a run.
    Sync(SyncFrame),
    /// Ephemeral data (presence) for the run's other peers. Its sender: a client speaks
    /// for itself; a relay passes on what others said.
    Ephemeral {
        /// The run.
        doc: DocumentId,
        /// What was said, and by whom.
        presence: Presence,
    },
    /// A mesh peer we asked for a run does not have it either.
    Unavailable {
        /// The run.
        doc: DocumentId,
    },
    /// A mesh peer's digest frame: which runs it holds, to reconcile with ours.
    Digest(DigestMessage),
    /// A mesh peer's claims of which regions' stores hold which runs' changes.
    Reach(ReachMessage),
    /// The peer left, or reported an error (`Some`): the session ends.
    End(Option<String>),
    /// Nothing to do (other peers' gossip a relay does not need).
    Nothing,
}

/// A `sync` or `request` frame, its Automerge message decoded.
#[derive(Debug)]
pub struct SyncFrame {
    /// The run.
    pub doc: DocumentId,
    /// The sync message, decoded.
    pub message: Message,
    /// It came as a `request`: the peer asks for a run it lacks.
    pub request: bool,
}

/// A frame that breaks the protocol: the session ends with an `error` naming it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// The Automerge sync message inside could not be decoded.
    #[error("{0}")]
    BadSync(String),
    /// Anything else.
    #[error("{0}")]
    Protocol(String),
}

/// The largest ephemeral message (presence, cursors) a peer may send: the relay copies
/// it to every other peer of the run (eleventh attack, E34: 15 MB presence frames to 40
/// readers took a relay to 3.6 GB before any queue was counted).
pub const MAX_PRESENCE_BYTES: usize = 64 * 1024;

/// What `message`, from `peer` at the other end of a `kind` link, asks for.
pub fn route(message: WireMessage, peer: &PeerId, kind: PeerKind) -> Result<Routed, RouteError> {
    let mesh = kind == PeerKind::Mesh;
    Ok(match message {
        WireMessage::Sync {
            document_id, data, ..
        } => sync(document_id, &data, false)?,
        WireMessage::Request {
            document_id, data, ..
        } => sync(document_id, &data, true)?,
        WireMessage::Ephemeral { data, .. } if data.len() > MAX_PRESENCE_BYTES => {
            return Err(RouteError::Protocol(format!(
                "ephemeral data of {} bytes is over the limit of {MAX_PRESENCE_BYTES} bytes",
                data.len()
            )));
        }
        WireMessage::Ephemeral {
            document_id,
            sender_id,
            session_id,
            count,
            data,
            ..
        } => Routed::Ephemeral {
            doc: document_id,
            presence: Presence {
                sender: if mesh { sender_id } else { peer.clone() },
                session_id,
                count,
                data,
            },
        },
        WireMessage::Leave { .. } => Routed::End(None),
        WireMessage::Error { message, .. } => Routed::End(Some(message)),
        WireMessage::Join { .. } | WireMessage::Peer { .. } => {
            return Err(RouteError::Protocol(
                "handshake message after the handshake".into(),
            ));
        }
        WireMessage::DocUnavailable { document_id, .. } if mesh => {
            Routed::Unavailable { doc: document_id }
        }
        // Relays reconcile which runs they hold differently; a client may not.
        WireMessage::Digest { data, .. } if mesh => Routed::Digest(
            DigestMessage::decode(&data).map_err(|e| RouteError::Protocol(e.to_string()))?,
        ),
        WireMessage::Digest { .. } => {
            return Err(RouteError::Protocol(
                "`runmesh-digest` is for relays only".into(),
            ));
        }
        WireMessage::Reach { data, .. } if mesh => Routed::Reach(
            ReachMessage::decode(&data).map_err(|e| RouteError::Protocol(e.to_string()))?,
        ),
        WireMessage::Reach { .. } => {
            return Err(RouteError::Protocol(
                "`runmesh-reach` is for relays only".into(),
            ));
        }
        // Not needed by a relay: it answers requests itself, and does not gossip heads.
        WireMessage::DocUnavailable { .. }
        | WireMessage::RemoteSubscriptionChange {}
        | WireMessage::RemoteHeadsChanged {} => Routed::Nothing,
    })
}

fn sync(doc: DocumentId, data: &[u8], request: bool) -> Result<Routed, RouteError> {
    let message = decode_message(data).map_err(|e| RouteError::BadSync(e.to_string()))?;
    Ok(Routed::Sync(SyncFrame {
        doc,
        message,
        request,
    }))
}
