//! [`DocSync`]: one document's Automerge sync sessions with each of its peers.
//!
//! Sans-IO: the owner hands it the document and incoming sync messages, decoded once at
//! the edge by [`decode_message`] ([`DocSync::receive`] says whether the document
//! changed), then asks for the messages to send ([`DocSync::flush`]). Receiving many messages before one flush is
//! what makes a busy relay cheap: each peer gets one message per batch, not one per
//! incoming change. The owner makes new changes durable *before* sending the flush, so
//! nothing is forwarded that could be lost.

use std::collections::{BTreeMap, BTreeSet};

use automerge::AutoCommit;
use automerge::sync::{self, SyncDoc};

use crate::id::DocumentId;
use crate::sync::PeerId;
use crate::sync::receive::{Trim, receive};
use crate::sync::wire::WireMessage;

/// A sync message that could not be decoded or applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncError {
    /// Not an Automerge sync message.
    #[error("not an automerge sync message: {0}")]
    Decode(String),
    /// The message declared more than it holds or more than a stated ceiling, and was
    /// refused before Automerge decoded it (see `bounds`).
    #[error("sync message refused before decoding: {0}")]
    Refused(crate::bounds::BoundsError),
    /// Automerge refused the changes it carried.
    #[error("automerge refused the sync message: {0}")]
    Apply(String),
    /// Automerge panicked while applying the changes it carried: the document may hold
    /// part of them, so whoever holds it must drop it and load it again.
    #[error(
        "automerge failed while applying the sync message ({0}); the run as held in memory is dropped (nothing stored)"
    )]
    Panicked(String),
    /// Automerge took the changes in a form it cannot save (`lineage/kept.rs`): as for
    /// [`SyncError::Panicked`], the document must be dropped.
    #[error("{0}")]
    Unkept(String),
}

/// Decodes the Automerge sync message a `sync` or `request` frame carries, turning a
/// panic inside Automerge's parser into an error (see `doc::guard`). Done once, where
/// the frame arrives; everything after works on the decoded message.
pub fn decode_message(data: &[u8]) -> Result<sync::Message, SyncError> {
    crate::bounds::check_sync_message(data).map_err(SyncError::Refused)?;
    crate::intake::guard(data.len(), || sync::Message::decode(data))
        .map_err(|e| SyncError::Decode(e.to_string()))?
        .map_err(|e| SyncError::Decode(e.to_string()))
}

/// What Automerge keeps of `message` until the peer's next one (its heads, needs and
/// "have" summaries with their Bloom filters).
pub fn kept_bytes(message: &sync::Message) -> usize {
    let hash = std::mem::size_of::<automerge::ChangeHash>();
    let haves: usize = message
        .have
        .iter()
        .map(|have| have.last_sync.len() * hash + have.bloom.to_bytes().len())
        .sum();
    (message.heads.len() + message.need.len()) * hash + haves
}

/// The bytes of changes `message` carries (what a size limit weighs).
pub fn change_bytes(message: &sync::Message) -> usize {
    message.changes.iter().map(<[u8]>::len).sum()
}

/// One peer's sync session: Automerge's state plus when to trim it (see [`receive`]).
#[derive(Debug, Default)]
struct Session {
    state: sync::State,
    trim: Trim,
    /// Changes from the peer were applied since the last flush: the next message to it
    /// must carry our heads (see [`DocSync::flush`]).
    applied: bool,
    /// Bytes of the peer's last message that Automerge keeps (its heads, needs and "have"
    /// summaries with their Bloom filters) until the next one.
    kept: usize,
}

/// The sync state of one document with each peer syncing it.
#[derive(Debug)]
pub struct DocSync {
    document_id: DocumentId,
    me: PeerId,
    peers: BTreeMap<PeerId, Session>,
    /// Peers that sent something since the last flush (they are owed a reply).
    owed: BTreeSet<PeerId>,
    /// The document changed since the last flush (every peer may need to hear).
    dirty: bool,
}

impl DocSync {
    /// Sync sessions for `document_id`, speaking as `me`.
    pub fn new(document_id: DocumentId, me: PeerId) -> Self {
        Self {
            document_id,
            me,
            peers: BTreeMap::new(),
            owed: BTreeSet::new(),
            dirty: false,
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
        let session = self.peers.entry(peer.clone()).or_default();
        let message = doc.sync().generate_sync_message(&mut session.state)?;
        Some(self.wrap(peer, message))
    }

    /// Starts a session with `peer` (if it has none) whose opening message waits for the
    /// next [`DocSync::flush`]: what an owner uses when the document holds changes that
    /// may not leave yet.
    pub fn join(&mut self, peer: &PeerId) {
        self.peers.entry(peer.clone()).or_default();
        self.owed.insert(peer.clone());
    }

    /// Starts every session over, telling each peer to forget what it sent us: what an
    /// owner does after losing changes it had received (a reload after a failed store).
    /// The next message to each peer asks it to send again whatever we lack — Automerge's
    /// sync reset: the peer clears its record of changes sent, so it does not hold back
    /// a change we no longer have.
    pub fn restart_all(&mut self) {
        let peers: Vec<PeerId> = self.peers.keys().cloned().collect();
        for peer in peers {
            let mut session = Session::default();
            session.state.needs_reset = true;
            self.peers.insert(peer.clone(), session);
            self.owed.insert(peer);
        }
        self.dirty = false;
    }

    /// The heads `peer` last told us it has, if it has said.
    pub fn their_heads(&self, peer: &PeerId) -> Option<&[automerge::ChangeHash]> {
        self.peers.get(peer)?.state.their_heads.as_deref()
    }

    /// Ends the session with `peer` (it disconnected).
    pub fn remove_peer(&mut self, peer: &PeerId) {
        self.peers.remove(peer);
        self.owed.remove(peer);
    }

    /// Applies a sync message from `from`. Returns whether the document changed; the
    /// replies wait for [`DocSync::flush`].
    pub fn receive(
        &mut self,
        doc: &mut AutoCommit,
        from: &PeerId,
        message: sync::Message,
    ) -> Result<bool, SyncError> {
        let before = doc.get_heads();
        let session = self.peers.entry(from.clone()).or_default();
        // Automerge parses the changes a message carries before applying any of them, so
        // a panic while parsing (see `guard`) leaves the document as it was; a panic while
        // applying them may not ([`SyncError::Panicked`]).
        let len = change_bytes(&message);
        session.kept = kept_bytes(&message);
        crate::intake::guard(len, || {
            receive(doc, &mut session.state, &mut session.trim, message)
        })
        .map_err(|e| SyncError::Panicked(e.to_string()))?
        .map_err(|e| SyncError::Apply(e.to_string()))?;
        let changed = doc.get_heads() != before;
        session.applied |= changed;
        self.owed.insert(from.clone());
        self.dirty |= changed;
        Ok(changed)
    }

    /// What the peers' last messages weigh while Automerge keeps them (their heads, needs
    /// and Bloom filters): part of what the run weighs in memory. One socket that sent
    /// 8 filters of 2 MB for each run it synced took a relay past its memory.
    pub fn kept_bytes(&self) -> usize {
        self.peers.values().map(|s| s.kept).sum()
    }

    /// Notes a local change: every peer will hear of it at the next flush.
    pub fn local_change(&mut self) {
        self.dirty = true;
    }

    /// The messages owed since the last flush: to every peer if the document changed,
    /// else only to the peers that sent something.
    ///
    /// A peer whose changes were applied always hears our heads: that is how it learns
    /// they arrived (a client counts its unacknowledged changes by it). Automerge would
    /// stay silent if, before this flush, the peer had sent a second message saying it
    /// has our heads — which it does once it sent its changes, so a relay that answers
    /// once per batch, after storing, would never acknowledge them.
    pub fn flush(&mut self, doc: &mut AutoCommit) -> Vec<(PeerId, WireMessage)> {
        let targets: Vec<PeerId> = if self.dirty {
            self.peers.keys().cloned().collect()
        } else {
            self.owed.iter().cloned().collect()
        };
        self.dirty = false;
        self.owed.clear();
        targets
            .iter()
            .filter_map(|p| self.generate_for(doc, p))
            .collect()
    }

    fn generate_for(
        &mut self,
        doc: &mut AutoCommit,
        peer: &PeerId,
    ) -> Option<(PeerId, WireMessage)> {
        let session = self.peers.get_mut(peer)?;
        if std::mem::take(&mut session.applied) {
            session.state.last_sent_heads = Vec::new();
        }
        let message = doc.sync().generate_sync_message(&mut session.state)?;
        Some((peer.clone(), self.wrap(peer, message)))
    }

    fn wrap(&self, peer: &PeerId, message: sync::Message) -> WireMessage {
        WireMessage::Sync {
            document_id: self.document_id,
            sender_id: self.me.clone(),
            target_id: peer.clone(),
            data: message.encode(),
        }
    }
}
