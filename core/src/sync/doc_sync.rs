//! [`DocSync`]: one document's Automerge sync sessions with each of its peers.
//!
//! Sans-IO: the owner hands it the document and incoming sync messages, and gets back
//! whether the document changed and the messages to send. The owner makes new changes
//! durable *before* sending anything, so nothing is forwarded that could be lost.

use std::collections::BTreeMap;

use automerge::AutoCommit;
use automerge::sync::{self, SyncDoc};

use crate::sync::PeerId;
use crate::sync::wire::WireMessage;

/// A sync message that could not be decoded or applied.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Not an Automerge sync message.
    #[error("not an automerge sync message: {0}")]
    Decode(String),
    /// Automerge refused the changes it carried.
    #[error("automerge refused the sync message: {0}")]
    Apply(String),
}

/// What receiving a message did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The document gained changes (persist them before sending `send`).
    pub changed: bool,
    /// Messages for peers, in order.
    pub send: Vec<(PeerId, WireMessage)>,
}

/// The sync state of one document with each peer syncing it.
#[derive(Debug)]
pub struct DocSync {
    document_id: String,
    me: PeerId,
    peers: BTreeMap<PeerId, sync::State>,
}

impl DocSync {
    /// Sync sessions for `document_id`, speaking as `me`.
    pub fn new(document_id: String, me: PeerId) -> Self {
        Self {
            document_id,
            me,
            peers: BTreeMap::new(),
        }
    }

    /// The peers syncing this document.
    pub fn peers(&self) -> impl Iterator<Item = &PeerId> {
        self.peers.keys()
    }

    /// Whether `peer` is syncing this document.
    pub fn has_peer(&self, peer: &PeerId) -> bool {
        self.peers.contains_key(peer)
    }

    /// Starts a fresh session with `peer` and returns the opening message, if there is
    /// anything to say (used to offer a document to a mesh peer).
    pub fn add_peer(&mut self, doc: &mut AutoCommit, peer: &PeerId) -> Option<WireMessage> {
        let state = self
            .peers
            .entry(peer.clone())
            .or_insert_with(sync::State::new);
        let message = doc.sync().generate_sync_message(state)?;
        Some(self.wrap(peer, message))
    }

    /// Ends the session with `peer` (it disconnected).
    pub fn remove_peer(&mut self, peer: &PeerId) {
        self.peers.remove(peer);
    }

    /// Applies a sync message from `from`; the reply to it and any news for the other
    /// peers come back in [`Outcome::send`].
    pub fn receive(
        &mut self,
        doc: &mut AutoCommit,
        from: &PeerId,
        data: &[u8],
    ) -> Result<Outcome, SyncError> {
        let message = sync::Message::decode(data).map_err(|e| SyncError::Decode(e.to_string()))?;
        let before = doc.get_heads();
        let state = self
            .peers
            .entry(from.clone())
            .or_insert_with(sync::State::new);
        doc.sync()
            .receive_sync_message(state, message)
            .map_err(|e| SyncError::Apply(e.to_string()))?;
        let changed = doc.get_heads() != before;
        let send = if changed {
            self.generate_all(doc)
        } else {
            self.generate_for(doc, from).into_iter().collect()
        };
        Ok(Outcome { changed, send })
    }

    /// After a local change: the messages that carry it to every peer.
    pub fn local_change(&mut self, doc: &mut AutoCommit) -> Vec<(PeerId, WireMessage)> {
        self.generate_all(doc)
    }

    fn generate_all(&mut self, doc: &mut AutoCommit) -> Vec<(PeerId, WireMessage)> {
        let peers: Vec<PeerId> = self.peers.keys().cloned().collect();
        peers
            .iter()
            .filter_map(|p| self.generate_for(doc, p))
            .collect()
    }

    fn generate_for(
        &mut self,
        doc: &mut AutoCommit,
        peer: &PeerId,
    ) -> Option<(PeerId, WireMessage)> {
        let state = self.peers.get_mut(peer)?;
        let message = doc.sync().generate_sync_message(state)?;
        Some((peer.clone(), self.wrap(peer, message)))
    }

    fn wrap(&self, peer: &PeerId, message: sync::Message) -> WireMessage {
        WireMessage::Sync {
            document_id: self.document_id.clone(),
            sender_id: self.me.clone(),
            target_id: peer.clone(),
            data: message.encode(),
        }
    }
}
