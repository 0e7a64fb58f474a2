//! Reading a [`WireMessage`] from CBOR.
//!
//! Every field any message type has is read into one flat struct, and the message is
//! built from it by its `type`. serde's derive for an internally tagged enum would do
//! the same job by buffering the whole map first, and its code came to 44 KB of the web
//! app's wasm on its own; this is a fraction of that, and its errors name the message
//! type and the missing field. Fields a type does not use are ignored, as are unknown
//! ones (automerge-repo adds fields freely).

use serde::Deserialize;

use crate::id::DocumentId;
use crate::sync::PeerId;
use crate::sync::wire::{PeerMetadata, WireMessage};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Fields {
    #[serde(rename = "type")]
    kind: String,
    sender_id: Option<PeerId>,
    target_id: Option<PeerId>,
    document_id: Option<String>,
    #[serde(default, with = "serde_bytes")]
    data: Option<Vec<u8>>,
    supported_protocol_versions: Option<Vec<String>>,
    selected_protocol_version: Option<String>,
    peer_metadata: Option<PeerMetadata>,
    count: Option<u64>,
    session_id: Option<String>,
    message: Option<String>,
}

impl<'de> Deserialize<'de> for WireMessage {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Fields::deserialize(d)?
            .into_message()
            .map_err(serde::de::Error::custom)
    }
}

/// The longest peer id a message may carry (automerge-repo's are a few dozen bytes).
pub const MAX_PEER_ID_BYTES: usize = 256;
/// The longest ephemeral session id (automerge-repo's are 16 characters).
pub const MAX_SESSION_ID_BYTES: usize = 128;
/// The longest `error` message text, storage id or region.
pub const MAX_TEXT_BYTES: usize = 4096;
/// The most protocol versions a `join` may offer.
pub const MAX_VERSIONS: usize = 16;

impl Fields {
    /// Refuses text fields longer than any peer writes, naming the field: the relay keeps
    /// ids (presence, sessions) and copies them to every peer of a run (twelfth attack,
    /// E42: a 15 MB session id in each of 115 empty presence messages killed a relay).
    fn check_sizes(&self) -> Result<(), String> {
        let long = |field: &str, len: usize, max: usize| {
            Err(format!(
                "`{field}` of {len} bytes is over the limit of {max} bytes"
            ))
        };
        if self.kind.len() > 64 {
            return long("type", self.kind.len(), 64);
        }
        for (field, id) in [("senderId", &self.sender_id), ("targetId", &self.target_id)] {
            if let Some(id) = id
                && id.as_str().len() > MAX_PEER_ID_BYTES
            {
                return long(field, id.as_str().len(), MAX_PEER_ID_BYTES);
            }
        }
        if let Some(session) = &self.session_id
            && session.len() > MAX_SESSION_ID_BYTES
        {
            return long("sessionId", session.len(), MAX_SESSION_ID_BYTES);
        }
        let texts = [
            ("message", self.message.as_deref()),
            ("documentId", self.document_id.as_deref()),
            (
                "selectedProtocolVersion",
                self.selected_protocol_version.as_deref(),
            ),
            (
                "peerMetadata.storageId",
                self.peer_metadata
                    .as_ref()
                    .and_then(|m| m.storage_id.as_deref()),
            ),
            (
                "peerMetadata.region",
                self.peer_metadata
                    .as_ref()
                    .and_then(|m| m.region.as_deref()),
            ),
        ];
        for (field, text) in texts {
            if let Some(text) = text
                && text.len() > MAX_TEXT_BYTES
            {
                return long(field, text.len(), MAX_TEXT_BYTES);
            }
        }
        if let Some(versions) = &self.supported_protocol_versions
            && (versions.len() > MAX_VERSIONS || versions.iter().any(|v| v.len() > 64))
        {
            return Err(format!(
                "`supportedProtocolVersions` may list at most {MAX_VERSIONS} versions of up to 64 bytes"
            ));
        }
        Ok(())
    }

    fn into_message(self) -> Result<WireMessage, String> {
        self.check_sizes()?;
        let kind = self.kind;
        let need = |field: &str| format!("`{kind}` message without `{field}`");
        macro_rules! take {
            ($field:ident, $name:literal) => {
                self.$field.ok_or_else(|| need($name))?
            };
        }
        let document = |text: Option<String>| -> Result<DocumentId, String> {
            let text = text.ok_or_else(|| need("documentId"))?;
            text.parse()
                .map_err(|e| format!("`{kind}` message with an {e}"))
        };
        Ok(match kind.as_str() {
            "join" => WireMessage::Join {
                sender_id: take!(sender_id, "senderId"),
                supported_protocol_versions: self.supported_protocol_versions.unwrap_or_default(),
                peer_metadata: self.peer_metadata,
            },
            "peer" => WireMessage::Peer {
                sender_id: take!(sender_id, "senderId"),
                selected_protocol_version: take!(
                    selected_protocol_version,
                    "selectedProtocolVersion"
                ),
                target_id: take!(target_id, "targetId"),
                peer_metadata: self.peer_metadata,
            },
            "leave" => WireMessage::Leave {
                sender_id: take!(sender_id, "senderId"),
            },
            "request" | "sync" => {
                let document_id = document(self.document_id)?;
                let sender_id = take!(sender_id, "senderId");
                let target_id = take!(target_id, "targetId");
                let data = take!(data, "data");
                if kind == "request" {
                    WireMessage::Request {
                        document_id,
                        sender_id,
                        target_id,
                        data,
                    }
                } else {
                    WireMessage::Sync {
                        document_id,
                        sender_id,
                        target_id,
                        data,
                    }
                }
            }
            "doc-unavailable" => WireMessage::DocUnavailable {
                document_id: document(self.document_id)?,
                sender_id: take!(sender_id, "senderId"),
                target_id: take!(target_id, "targetId"),
            },
            "ephemeral" => WireMessage::Ephemeral {
                sender_id: take!(sender_id, "senderId"),
                target_id: take!(target_id, "targetId"),
                count: take!(count, "count"),
                session_id: take!(session_id, "sessionId"),
                document_id: document(self.document_id)?,
                data: take!(data, "data"),
            },
            "error" => WireMessage::Error {
                message: take!(message, "message"),
                sender_id: self.sender_id,
                target_id: self.target_id,
            },
            "runmesh-digest" => WireMessage::Digest {
                sender_id: take!(sender_id, "senderId"),
                target_id: take!(target_id, "targetId"),
                data: take!(data, "data"),
            },
            "runmesh-reach" => WireMessage::Reach {
                sender_id: take!(sender_id, "senderId"),
                target_id: take!(target_id, "targetId"),
                data: take!(data, "data"),
            },
            "remote-subscription-change" => WireMessage::RemoteSubscriptionChange {},
            "remote-heads-changed" => WireMessage::RemoteHeadsChanged {},
            other => return Err(format!("unknown message type {other:?}")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cbor(pairs: &[(&str, ciborium::Value)]) -> Vec<u8> {
        let map = ciborium::Value::Map(
            pairs
                .iter()
                .map(|(k, v)| (ciborium::Value::Text((*k).into()), v.clone()))
                .collect(),
        );
        let mut out = Vec::new();
        ciborium::into_writer(&map, &mut out).unwrap();
        out
    }

    fn text(s: &str) -> ciborium::Value {
        ciborium::Value::Text(s.into())
    }

    /// A `sync` message carrying `data`, without the field named `leave_out`.
    fn sync_frame(leave_out: &str, data: ciborium::Value) -> Vec<u8> {
        let fields = [
            ("type", text("sync")),
            (
                "documentId",
                text(&DocumentId::from_bytes([7; 16]).to_string()),
            ),
            ("senderId", text("a")),
            ("targetId", text("b")),
            ("data", data),
        ];
        let kept: Vec<_> = fields
            .into_iter()
            .filter(|(k, _)| *k != leave_out)
            .collect();
        cbor(&kept)
    }

    fn decode(frame: &[u8]) -> Result<WireMessage, String> {
        WireMessage::decode(frame, 1 << 20).map_err(|e| e.to_string())
    }

    #[test]
    fn a_missing_field_is_named_with_the_message_type() {
        let frame = sync_frame("documentId", ciborium::Value::Bytes(vec![1]));
        let err = decode(&frame).unwrap_err();
        assert!(err.contains("`sync` message without `documentId`"), "{err}");
    }

    #[test]
    fn a_document_id_that_is_not_bs58check_is_named() {
        let frame = cbor(&[
            ("type", text("sync")),
            ("documentId", text("d")),
            ("senderId", text("a")),
            ("targetId", text("b")),
            ("data", ciborium::Value::Bytes(vec![1])),
        ]);
        let err = decode(&frame).unwrap_err();
        assert!(
            err.contains("`sync` message with an invalid document id \"d\""),
            "{err}"
        );
    }

    #[test]
    fn ids_and_texts_longer_than_any_peer_writes_are_refused_naming_the_field() {
        let long = "x".repeat(MAX_SESSION_ID_BYTES + 1);
        let frame = cbor(&[
            ("type", text("ephemeral")),
            ("senderId", text("a")),
            ("targetId", text("b")),
            ("count", ciborium::Value::Integer(1.into())),
            ("sessionId", text(&long)),
            ("documentId", text("2UdA8ZzkbzGL9tVjxPzd1YJxE4jX")),
            ("data", ciborium::Value::Bytes(vec![1])),
        ]);
        let err = decode(&frame).unwrap_err();
        assert!(
            err.contains("`sessionId` of 129 bytes is over the limit of 128"),
            "{err}"
        );
        let peer = "p".repeat(MAX_PEER_ID_BYTES + 1);
        let join = cbor(&[("type", text("join")), ("senderId", text(&peer))]);
        let err = decode(&join).unwrap_err();
        assert!(err.contains("`senderId` of 257 bytes"), "{err}");
        let join = cbor(&[("type", text("join")), ("senderId", text("p"))]);
        assert!(decode(&join).is_ok());
    }

    #[test]
    fn unknown_fields_are_ignored_and_unknown_types_refused() {
        let frame = cbor(&[
            ("type", text("leave")),
            ("senderId", text("a")),
            ("somethingNew", ciborium::Value::Array(vec![])),
        ]);
        assert_eq!(
            decode(&frame).unwrap(),
            WireMessage::Leave {
                sender_id: PeerId::from("a")
            }
        );
        let err = decode(&cbor(&[("type", text("nope"))])).unwrap_err();
        assert!(err.contains("unknown message type \"nope\""), "{err}");
        let err = decode(&cbor(&[("senderId", text("a"))])).unwrap_err();
        assert!(err.contains("type"), "{err}");
    }

    #[test]
    fn a_field_of_the_wrong_type_is_refused() {
        let err = decode(&sync_frame("", text("not bytes"))).unwrap_err();
        assert!(err.contains("expected byte buffer"), "{err}");
        assert!(decode(&sync_frame("", ciborium::Value::Bytes(vec![1]))).is_ok());
    }

    #[test]
    fn remote_heads_gossip_with_its_own_fields_is_accepted() {
        let frame = cbor(&[
            ("type", text("remote-heads-changed")),
            ("senderId", text("a")),
            ("targetId", text("b")),
            ("documentId", text("d")),
            ("newHeads", ciborium::Value::Map(vec![])),
        ]);
        assert_eq!(decode(&frame).unwrap(), WireMessage::RemoteHeadsChanged {});
    }
}
