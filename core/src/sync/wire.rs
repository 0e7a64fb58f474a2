//! [`WireMessage`]: automerge-repo's network protocol, version "1": one CBOR map per
//! binary WebSocket frame. Decoded once, at the edge; everything past here is typed.

use serde::{Deserialize, Serialize};

use crate::id::DocumentId;
use crate::sync::PeerId;

/// The only protocol version there is.
pub const PROTOCOL_V1: &str = "1";

/// What a peer says about its storage in `join` and `peer`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerMetadata {
    /// Ties the peer to persistent storage (many peer ids may share one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_id: Option<String>,
    /// Whether the peer expects not to come back with this storage id.
    #[serde(default)]
    pub is_ephemeral: bool,
    /// runmesh relays say which region they serve; stock clients leave it out (and
    /// ignore it), and its presence is how a relay recognises a mesh peer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// One protocol message. Written by serde's derive; read by `wire_decode`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type")]
pub enum WireMessage {
    /// Client → server: who I am, which versions I speak.
    #[serde(rename = "join", rename_all = "camelCase")]
    Join {
        /// The client's peer id.
        sender_id: PeerId,
        /// Versions the client speaks; must contain "1".
        #[serde(default)]
        supported_protocol_versions: Vec<String>,
        /// The client's storage.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        peer_metadata: Option<PeerMetadata>,
    },
    /// Server → client: the answer to `join`.
    #[serde(rename = "peer", rename_all = "camelCase")]
    Peer {
        /// The server's peer id.
        sender_id: PeerId,
        /// Always "1".
        selected_protocol_version: String,
        /// The client's peer id.
        target_id: PeerId,
        /// The server's storage.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        peer_metadata: Option<PeerMetadata>,
    },
    /// The sender is about to disconnect.
    #[serde(rename = "leave", rename_all = "camelCase")]
    Leave {
        /// Who is leaving.
        sender_id: PeerId,
    },
    /// Start syncing a document; answer `doc-unavailable` if you do not have it.
    #[serde(rename = "request", rename_all = "camelCase")]
    Request {
        /// The document.
        document_id: DocumentId,
        /// Sender.
        sender_id: PeerId,
        /// Receiver.
        target_id: PeerId,
        /// An Automerge sync message.
        #[serde(with = "serde_bytes")]
        data: Vec<u8>,
    },
    /// An Automerge sync message about a document.
    #[serde(rename = "sync", rename_all = "camelCase")]
    Sync {
        /// The document.
        document_id: DocumentId,
        /// Sender.
        sender_id: PeerId,
        /// Receiver.
        target_id: PeerId,
        /// An Automerge sync message.
        #[serde(with = "serde_bytes")]
        data: Vec<u8>,
    },
    /// Neither the sender nor any of its peers has the document.
    #[serde(rename = "doc-unavailable", rename_all = "camelCase")]
    DocUnavailable {
        /// The document.
        document_id: DocumentId,
        /// Sender.
        sender_id: PeerId,
        /// Receiver.
        target_id: PeerId,
    },
    /// Data that is not stored (presence, cursors), relayed to the document's peers.
    #[serde(rename = "ephemeral", rename_all = "camelCase")]
    Ephemeral {
        /// Sender.
        sender_id: PeerId,
        /// Receiver.
        target_id: PeerId,
        /// Sequence number within the session.
        count: u64,
        /// The session this stream belongs to.
        session_id: String,
        /// The document it is about.
        document_id: DocumentId,
        /// Arbitrary CBOR from the application.
        #[serde(with = "serde_bytes")]
        data: Vec<u8>,
    },
    /// A protocol error; the sender closes the connection after it.
    #[serde(rename = "error", rename_all = "camelCase")]
    Error {
        /// What went wrong.
        message: String,
        /// Sender, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sender_id: Option<PeerId>,
        /// Receiver, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target_id: Option<PeerId>,
    },
    /// Relay to relay only (stock clients never see it): one step of reconciling which
    /// runs the two hold differently ([`crate::digest`]), its message in CBOR.
    #[serde(rename = "runmesh-digest", rename_all = "camelCase")]
    Digest {
        /// Sender.
        sender_id: PeerId,
        /// Receiver.
        target_id: PeerId,
        /// A [`crate::digest::DigestMessage`], encoded.
        #[serde(with = "serde_bytes")]
        data: Vec<u8>,
    },
    /// Relay to relay only: which regions' stores hold which runs' changes
    /// ([`crate::reach`]), a [`crate::reach::ReachMessage`] in CBOR.
    #[serde(rename = "runmesh-reach", rename_all = "camelCase")]
    Reach {
        /// Sender.
        sender_id: PeerId,
        /// Receiver.
        target_id: PeerId,
        /// A [`crate::reach::ReachMessage`], encoded.
        #[serde(with = "serde_bytes")]
        data: Vec<u8>,
    },
    /// Remote-heads gossip: accepted and ignored (the relay does not gossip heads).
    #[serde(rename = "remote-subscription-change")]
    RemoteSubscriptionChange {},
    /// Remote-heads gossip: accepted and ignored.
    #[serde(rename = "remote-heads-changed")]
    RemoteHeadsChanged {},
}

/// A frame that is not a protocol message.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// Larger than the limit.
    #[error("frame of {len} bytes is larger than the limit of {max}")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not CBOR, or not a message of a known type with the fields it needs.
    #[error("not an automerge-repo message: {0}")]
    Malformed(String),
}

impl WireMessage {
    /// Decodes one frame, refusing frames over `max_len` bytes before parsing them.
    pub fn decode(frame: &[u8], max_len: usize) -> Result<Self, WireError> {
        if frame.len() > max_len {
            return Err(WireError::TooLarge {
                len: frame.len(),
                max: max_len,
            });
        }
        ciborium::de::from_reader(frame).map_err(|e| {
            WireError::Malformed(match e {
                ciborium::de::Error::Semantic(_, why) => why,
                other => other.to_string(),
            })
        })
    }

    /// Encodes the message as one CBOR map.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        ciborium::ser::into_writer(self, &mut out).expect("writing CBOR to a Vec cannot fail");
        out
    }

    /// The same sync message as a `request` (which asks for `doc-unavailable` if the
    /// other side lacks the document); other messages are returned unchanged.
    pub fn into_request(self) -> Self {
        match self {
            Self::Sync {
                document_id,
                sender_id,
                target_id,
                data,
            } => Self::Request {
                document_id,
                sender_id,
                target_id,
                data,
            },
            other => other,
        }
    }

    /// A protocol `error` from `from` to `to`; the sender closes the connection after it.
    pub fn error(from: &PeerId, to: Option<&PeerId>, message: impl Into<String>) -> Self {
        Self::Error {
            message: message.into(),
            sender_id: Some(from.clone()),
            target_id: to.cloned(),
        }
    }

    /// `doc-unavailable`: neither `from` nor any peer it asked has `document`.
    pub fn unavailable(document: DocumentId, from: &PeerId, to: &PeerId) -> Self {
        Self::DocUnavailable {
            document_id: document,
            sender_id: from.clone(),
            target_id: to.clone(),
        }
    }

    /// The document this message is about, if any.
    pub fn document_id(&self) -> Option<DocumentId> {
        match self {
            Self::Request { document_id, .. }
            | Self::Sync { document_id, .. }
            | Self::DocUnavailable { document_id, .. }
            | Self::Ephemeral { document_id, .. } => Some(*document_id),
            _ => None,
        }
    }

    /// The message's type, as written on the wire (for logs and metrics).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Join { .. } => "join",
            Self::Peer { .. } => "peer",
            Self::Leave { .. } => "leave",
            Self::Request { .. } => "request",
            Self::Sync { .. } => "sync",
            Self::DocUnavailable { .. } => "doc-unavailable",
            Self::Ephemeral { .. } => "ephemeral",
            Self::Error { .. } => "error",
            Self::Digest { .. } => "runmesh-digest",
            Self::Reach { .. } => "runmesh-reach",
            Self::RemoteSubscriptionChange {} => "remote-subscription-change",
            Self::RemoteHeadsChanged {} => "remote-heads-changed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(s: &str) -> PeerId {
        PeerId::from(s)
    }

    fn doc() -> DocumentId {
        DocumentId::from_bytes([7; 16])
    }

    #[test]
    fn every_message_round_trips() {
        let messages = [
            WireMessage::Join {
                sender_id: peer("a"),
                supported_protocol_versions: vec!["1".into()],
                peer_metadata: Some(PeerMetadata {
                    storage_id: Some("s".into()),
                    is_ephemeral: false,
                    region: Some("eu".into()),
                }),
            },
            WireMessage::Peer {
                sender_id: peer("b"),
                selected_protocol_version: "1".into(),
                target_id: peer("a"),
                peer_metadata: None,
            },
            WireMessage::Sync {
                document_id: doc(),
                sender_id: peer("a"),
                target_id: peer("b"),
                data: vec![1, 2, 3],
            },
            WireMessage::Ephemeral {
                sender_id: peer("a"),
                target_id: peer("b"),
                count: 7,
                session_id: "s".into(),
                document_id: doc(),
                data: vec![9],
            },
            WireMessage::Error {
                message: "bad".into(),
                sender_id: None,
                target_id: None,
            },
            WireMessage::Digest {
                sender_id: peer("a"),
                target_id: peer("b"),
                data: vec![0xa0],
            },
            WireMessage::Reach {
                sender_id: peer("a"),
                target_id: peer("b"),
                data: vec![0xa1],
            },
        ];
        for m in messages {
            assert_eq!(WireMessage::decode(&m.encode(), 1 << 20).unwrap(), m);
        }
    }

    #[test]
    fn data_is_a_cbor_byte_string_and_keys_are_camel_case() {
        let m = WireMessage::Sync {
            document_id: doc(),
            sender_id: peer("a"),
            target_id: peer("b"),
            data: vec![1, 2],
        };
        let value: ciborium::Value = ciborium::de::from_reader(&m.encode()[..]).unwrap();
        let map = value.as_map().unwrap();
        let get = |k: &str| {
            map.iter()
                .find(|(key, _)| key.as_text() == Some(k))
                .map(|(_, v)| v.clone())
        };
        assert_eq!(get("type").unwrap().as_text(), Some("sync"));
        assert_eq!(
            get("documentId").unwrap().as_text(),
            Some(doc().to_string().as_str())
        );
        assert_eq!(get("data").unwrap().as_bytes().unwrap(), &vec![1, 2]);
    }

    #[test]
    fn junk_unknown_types_and_big_frames_are_refused() {
        assert!(matches!(
            WireMessage::decode(b"\xff\x00junk", 1024),
            Err(WireError::Malformed(_))
        ));
        let mut unknown = Vec::new();
        let value = ciborium::Value::Map(vec![(
            ciborium::Value::Text("type".into()),
            ciborium::Value::Text("nope".into()),
        )]);
        ciborium::ser::into_writer(&value, &mut unknown).unwrap();
        assert!(matches!(
            WireMessage::decode(&unknown, 1024),
            Err(WireError::Malformed(_))
        ));
        let err = WireMessage::decode(&[0u8; 2048], 1024).unwrap_err();
        assert_eq!(
            err.to_string(),
            "frame of 2048 bytes is larger than the limit of 1024"
        );
    }
}
