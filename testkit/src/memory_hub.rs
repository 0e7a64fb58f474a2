//! A small in-memory relay built from the same engine parts a relay uses (handshake,
//! `DocSync`), for tests of the client side.

use std::collections::BTreeMap;

use automerge::AutoCommit;
use runmesh_core::sync::{DocSync, PeerId, PeerMetadata, WireMessage, decode_message, handshake};
use runmesh_core::{DocumentId, GENESIS};

/// A hub that keeps every document it is sent and answers requests for the rest with
/// `doc-unavailable`.
#[derive(Debug)]
pub struct Hub {
    pub me: PeerId,
    pub docs: BTreeMap<DocumentId, (AutoCommit, DocSync)>,
    peers: Vec<PeerId>,
}

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

impl Hub {
    pub fn new() -> Self {
        Self {
            me: PeerId::from("hub"),
            docs: BTreeMap::new(),
            peers: Vec::new(),
        }
    }

    /// Handles a frame from `from` (None: its first frame); returns frames per peer.
    pub fn receive(&mut self, from: Option<&PeerId>, frame: &[u8]) -> Vec<(PeerId, Vec<u8>)> {
        let message = WireMessage::decode(frame, usize::MAX).unwrap();
        let Some(from) = from else {
            let (joined, reply) =
                handshake::accept(message, &self.me, &PeerMetadata::default()).unwrap();
            self.peers.push(joined.peer.clone());
            return vec![(joined.peer, reply.encode())];
        };
        match message {
            WireMessage::Request { document_id, .. } if !self.docs.contains_key(&document_id) => {
                vec![(
                    from.clone(),
                    WireMessage::DocUnavailable {
                        document_id,
                        sender_id: self.me.clone(),
                        target_id: from.clone(),
                    }
                    .encode(),
                )]
            }
            WireMessage::Request {
                document_id, data, ..
            }
            | WireMessage::Sync {
                document_id, data, ..
            } => {
                let me = self.me.clone();
                let (doc, sync) = self.docs.entry(document_id).or_insert_with(|| {
                    (
                        AutoCommit::load(GENESIS).unwrap(),
                        DocSync::new(document_id, me),
                    )
                });
                sync.receive(doc, from, decode_message(&data).unwrap())
                    .unwrap();
                sync.flush(doc)
                    .into_iter()
                    .map(|(p, m)| (p, m.encode()))
                    .collect()
            }
            WireMessage::Ephemeral { .. } => self
                .peers
                .iter()
                .filter(|p| *p != from)
                .map(|p| (p.clone(), frame.to_vec()))
                .collect(),
            other => panic!("unexpected {other:?}"),
        }
    }
}
