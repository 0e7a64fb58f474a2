//! The `join` → `peer` handshake, both sides, as pure functions.

use crate::sync::PeerId;
use crate::sync::wire::{PROTOCOL_V1, PeerMetadata, WireMessage};

/// A peer that completed the handshake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Joined {
    /// The other side's peer id.
    pub peer: PeerId,
    /// What it said about its storage.
    pub metadata: PeerMetadata,
}

/// The first message a connecting (initiating) peer sends.
pub fn join(me: &PeerId, metadata: PeerMetadata) -> WireMessage {
    WireMessage::Join {
        sender_id: me.clone(),
        supported_protocol_versions: vec![PROTOCOL_V1.to_owned()],
        peer_metadata: Some(metadata),
    }
}

/// The receiving side: answers the first message of a connection. `Ok` carries the peer
/// and the `peer` reply; `Err` carries the `error` reply to send before closing.
pub fn accept(
    first: WireMessage,
    me: &PeerId,
    metadata: &PeerMetadata,
) -> Result<(Joined, WireMessage), Box<WireMessage>> {
    let refuse = |message: String, target: Option<PeerId>| {
        Box::new(WireMessage::error(me, target.as_ref(), message))
    };
    match first {
        WireMessage::Join {
            sender_id,
            supported_protocol_versions,
            peer_metadata,
        } => {
            // automerge-repo treats a missing list as "1".
            if !supported_protocol_versions.is_empty()
                && !supported_protocol_versions.iter().any(|v| v == PROTOCOL_V1)
            {
                return Err(refuse(
                    format!(
                        "unsupported protocol versions {supported_protocol_versions:?}: this relay speaks \"1\""
                    ),
                    Some(sender_id),
                ));
            }
            let reply = WireMessage::Peer {
                sender_id: me.clone(),
                selected_protocol_version: PROTOCOL_V1.to_owned(),
                target_id: sender_id.clone(),
                peer_metadata: Some(metadata.clone()),
            };
            Ok((
                Joined {
                    peer: sender_id,
                    metadata: peer_metadata.unwrap_or_default(),
                },
                reply,
            ))
        }
        other => Err(refuse(
            format!("expected a join message first, got {:?}", other.kind()),
            None,
        )),
    }
}

/// Why the answer to a `join` does not complete the handshake.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    /// The other side chose a protocol version we do not speak.
    #[error("peer selected protocol version \"{0}\", we speak \"1\"")]
    Version(String),
    /// The other side answered with an `error`.
    #[error("peer refused the handshake: {0}")]
    Refused(String),
    /// The other side answered with something else.
    #[error("expected a peer message, got \"{0}\"")]
    Unexpected(&'static str),
}

/// The initiating side: checks the answer to its `join`.
pub fn confirm(reply: WireMessage) -> Result<Joined, HandshakeError> {
    match reply {
        WireMessage::Peer {
            sender_id,
            selected_protocol_version,
            peer_metadata,
            ..
        } => {
            if selected_protocol_version != PROTOCOL_V1 {
                return Err(HandshakeError::Version(selected_protocol_version));
            }
            Ok(Joined {
                peer: sender_id,
                metadata: peer_metadata.unwrap_or_default(),
            })
        }
        WireMessage::Error { message, .. } => Err(HandshakeError::Refused(message)),
        other => Err(HandshakeError::Unexpected(other.kind())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_is_accepted_and_confirmed() {
        let (client, server) = (PeerId::from("client"), PeerId::from("server"));
        let (joined, reply) = accept(
            join(&client, PeerMetadata::default()),
            &server,
            &PeerMetadata::default(),
        )
        .unwrap();
        assert_eq!(joined.peer, client);
        assert_eq!(confirm(reply).unwrap().peer, server);
    }

    #[test]
    fn other_versions_and_other_first_messages_are_refused() {
        let me = PeerId::from("server");
        let join = WireMessage::Join {
            sender_id: "c".into(),
            supported_protocol_versions: vec!["2".into()],
            peer_metadata: None,
        };
        let Err(refusal) = accept(join, &me, &PeerMetadata::default()) else {
            panic!()
        };
        let WireMessage::Error { message, .. } = *refusal else {
            panic!()
        };
        assert!(
            message.contains("unsupported protocol versions [\"2\"]"),
            "{message}"
        );
        let leave = WireMessage::Leave {
            sender_id: "c".into(),
        };
        let Err(refusal) = accept(leave, &me, &PeerMetadata::default()) else {
            panic!()
        };
        let WireMessage::Error { message, .. } = *refusal else {
            panic!()
        };
        assert!(message.contains("expected a join"), "{message}");
    }
}
