//! [`ClientSync`]: one run kept in sync with one relay, the client side of the protocol.
//!
//! Sans-IO like the rest of the engine: the owner opens a socket, sends what
//! [`ClientSync::open`] returns, passes every frame it receives to
//! [`ClientSync::receive`], sends the frames it gets back, and calls
//! [`ClientSync::local_change`] after each edit. On a new socket it calls `open` again:
//! the sync session starts over and Automerge's protocol sends only what is missing.
//! The browser app and the npm package both drive this type.

use std::sync::OnceLock;

use automerge::{AutoCommit, ChangeHash};

use crate::doc::RunDoc;
use crate::genesis::{GENESIS, GENESIS_ACTOR};
use crate::id::{DocumentId, RunId};
use crate::sync::handshake;
use crate::sync::wire::{PeerMetadata, WireMessage};
use crate::sync::{DocSync, PeerId, decode_message};

/// The largest frame a client accepts from a relay (a whole large run in one message).
pub const MAX_CLIENT_FRAME_BYTES: usize = 256 * 1024 * 1024;

/// What a run may weigh on a client, as a relay's `--max-document-bytes` weighs it
/// (uncompressed, or 256 bytes an op), unless its owner sets another limit
/// ([`ClientSync::limit_run_weight`]): four times a relay's default. A relay that sends
/// changes past it (a hostile one, or one whose limit is higher) is refused before they
/// are applied, so that it cannot make a browser or an orchestrator run out of memory.
pub const MAX_CLIENT_RUN_WEIGHT: usize = 256 * 1024 * 1024;

/// Something the relay said that ends this connection.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ClientError {
    /// The relay sent a frame that is not a protocol message.
    #[error("the relay sent a frame that is not an automerge-repo message: {0}")]
    Malformed(String),
    /// The handshake failed.
    #[error("handshake with the relay failed: {0}")]
    Handshake(#[from] handshake::HandshakeError),
    /// The relay sent an `error` message.
    #[error("the relay refused: {0}")]
    Refused(String),
    /// The relay's sync message could not be applied.
    #[error("the relay's sync message could not be applied: {0}")]
    Sync(#[from] crate::sync::SyncError),
    /// A frame arrived before `open`.
    #[error("a frame arrived before the connection was opened")]
    NotOpen,
    /// The relay sent changes that would take the run past what it may weigh here.
    #[error(
        "the relay sent changes weighing {incoming} bytes (uncompressed, at 256 bytes an op) to a run holding {held} ops here: past this client's limit of {max} bytes, refused, nothing applied"
    )]
    TooLarge {
        /// What the changes weigh.
        incoming: usize,
        /// Ops the run holds here.
        held: u64,
        /// The limit.
        max: usize,
    },
}

/// What one received frame did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Received {
    /// Frames to send to the relay, in order.
    pub frames: Vec<Vec<u8>>,
    /// The run changed (the view is already up to date).
    pub changed: bool,
    /// The handshake completed with this frame.
    pub joined: bool,
    /// The relay (and its mesh) does not have the run.
    pub unavailable: bool,
    /// Ephemeral data from other peers on this run: (sender, CBOR bytes).
    pub ephemeral: Vec<(PeerId, Vec<u8>)>,
}

/// The client side of one run's sync with one relay.
#[derive(Debug)]
pub struct ClientSync {
    run_id: RunId,
    document_id: DocumentId,
    me: PeerId,
    session_id: String,
    /// The relay, once the handshake completed on the current socket.
    relay: Option<PeerId>,
    /// A session is open (`open` was called and no `close` since).
    open: bool,
    sync: DocSync,
    /// The heads the relay last said it has: what it has acknowledged.
    acknowledged: Vec<ChangeHash>,
    ephemeral_count: u64,
    /// What the run may weigh here.
    max_run_weight: usize,
}

impl ClientSync {
    /// Sync for `run_id`, speaking as `me`.
    pub fn new(run_id: RunId, me: PeerId) -> Self {
        let document_id = run_id.document_id();
        Self {
            run_id,
            sync: DocSync::new(document_id, me.clone()),
            document_id,
            session_id: PeerId::random("session").as_str().to_owned(),
            me,
            relay: None,
            open: false,
            acknowledged: Vec::new(),
            ephemeral_count: 0,
            max_run_weight: MAX_CLIENT_RUN_WEIGHT,
        }
    }

    /// Refuses changes from the relay that would take the run past `max` bytes, weighed
    /// as [`MAX_CLIENT_RUN_WEIGHT`] says.
    pub fn limit_run_weight(&mut self, max: usize) {
        self.max_run_weight = max;
    }

    /// The run this client syncs.
    pub fn run_id(&self) -> RunId {
        self.run_id
    }

    /// This client's peer id.
    pub fn peer_id(&self) -> &PeerId {
        &self.me
    }

    /// The relay's peer id, once joined.
    pub fn relay(&self) -> Option<&PeerId> {
        self.relay.as_ref()
    }

    /// Whether the handshake on the current socket completed.
    pub fn is_joined(&self) -> bool {
        self.relay.is_some()
    }

    /// Starts a session on a new socket: the `join` frame to send first.
    pub fn open(&mut self) -> Vec<u8> {
        self.close();
        self.open = true;
        handshake::join(&self.me, PeerMetadata::default()).encode()
    }

    /// The socket closed: forget the session (the document is untouched).
    pub fn close(&mut self) {
        if let Some(relay) = self.relay.take() {
            self.sync.remove_peer(&relay);
        }
        self.open = false;
    }

    /// Refuses `message` if its changes would take the run past what it may weigh: the
    /// run's ops here at 256 bytes each, plus what the changes weigh as the relay weighs
    /// them, before Automerge applies them.
    fn check_weight(
        &self,
        run: &mut RunDoc,
        message: &automerge::sync::Message,
    ) -> Result<(), ClientError> {
        if message.changes.is_empty() {
            return Ok(());
        }
        let incoming = message.changes.iter().fold(0usize, |sum, c| {
            sum.saturating_add(crate::bounds::weight(c))
        });
        let held = automerge::ReadDoc::stats(run.automerge_mut()).num_ops;
        let held_weight = usize::try_from(held)
            .unwrap_or(usize::MAX)
            .saturating_mul(crate::bounds::OP_WEIGHT as usize);
        if held_weight.saturating_add(incoming) <= self.max_run_weight {
            return Ok(());
        }
        Err(ClientError::TooLarge {
            incoming,
            held,
            max: self.max_run_weight,
        })
    }

    /// Handles one frame from the relay.
    pub fn receive(&mut self, run: &mut RunDoc, frame: &[u8]) -> Result<Received, ClientError> {
        if !self.open {
            return Err(ClientError::NotOpen);
        }
        let message = WireMessage::decode(frame, MAX_CLIENT_FRAME_BYTES)
            .map_err(|e| ClientError::Malformed(e.to_string()))?;
        let mut received = Received::default();
        let Some(relay) = self.relay.clone() else {
            let joined = handshake::confirm(message)?;
            self.relay = Some(joined.peer.clone());
            received.joined = true;
            received.frames.extend(self.opening(run, &joined.peer));
            return Ok(received);
        };
        match message {
            WireMessage::Sync {
                document_id, data, ..
            }
            | WireMessage::Request {
                document_id, data, ..
            } if document_id == self.document_id => {
                let message = decode_message(&data)?;
                self.check_weight(run, &message)?;
                let changed = self.sync.receive(run.automerge_mut(), &relay, message)?;
                if changed {
                    run.refresh();
                }
                received.changed = changed;
                if let Some(heads) = self.sync.their_heads(&relay) {
                    self.acknowledged = heads.to_vec();
                }
                received.frames = self.flush(run);
            }
            WireMessage::DocUnavailable { document_id, .. } if document_id == self.document_id => {
                received.unavailable = true;
            }
            WireMessage::Ephemeral {
                document_id,
                sender_id,
                data,
                ..
            } if document_id == self.document_id && sender_id != self.me => {
                received.ephemeral.push((sender_id, data));
            }
            WireMessage::Error { message, .. } => return Err(ClientError::Refused(message)),
            // Other documents, heads gossip, `leave`: nothing to do.
            _ => {}
        }
        Ok(received)
    }

    /// The frames that carry a local change to the relay (none while not joined: the
    /// change goes out when the next session opens).
    pub fn local_change(&mut self, run: &mut RunDoc) -> Vec<Vec<u8>> {
        if self.relay.is_none() {
            return Vec::new();
        }
        self.sync.local_change();
        self.flush(run)
    }

    /// An ephemeral frame (presence and the like) carrying `data`, CBOR the application
    /// chose; `None` while not joined.
    pub fn ephemeral(&mut self, data: Vec<u8>) -> Option<Vec<u8>> {
        let relay = self.relay.clone()?;
        self.ephemeral_count += 1;
        Some(
            WireMessage::Ephemeral {
                sender_id: self.me.clone(),
                target_id: relay,
                count: self.ephemeral_count,
                session_id: self.session_id.clone(),
                document_id: self.document_id,
                data,
            }
            .encode(),
        )
    }

    /// How many of the run's changes the relay has not acknowledged yet (changes made
    /// here, or received from elsewhere, that it lacks by what it last said).
    pub fn unacknowledged(&self, run: &mut RunDoc) -> usize {
        let genesis_actor = automerge::ActorId::from(&GENESIS_ACTOR[..]);
        run.automerge_mut()
            .get_changes(&self.acknowledged)
            .iter()
            .filter(|c| *c.actor_id() != genesis_actor)
            .count()
    }

    /// Whether this replica and the relay hold the same changes, by what the relay last
    /// said: it has all of ours, and we have all of its.
    pub fn in_sync(&self, run: &mut RunDoc) -> bool {
        let Some(relay) = &self.relay else {
            return false;
        };
        let Some(theirs) = self.sync.their_heads(relay) else {
            return false;
        };
        let doc = run.automerge_mut();
        theirs.iter().all(|h| doc.get_change_by_hash(h).is_some()) && self.unacknowledged(run) == 0
    }

    /// The heads the relay last acknowledged (persist them to count unacknowledged
    /// changes across restarts).
    pub fn acknowledged_heads(&self) -> &[ChangeHash] {
        &self.acknowledged
    }

    /// Restores heads saved from [`ClientSync::acknowledged_heads`].
    pub fn set_acknowledged_heads(&mut self, heads: Vec<ChangeHash>) {
        self.acknowledged = heads;
    }

    /// The first sync message of a session: a `request` when this replica holds nothing
    /// but the genesis (the relay answers `doc-unavailable` rather than create an empty
    /// run), a `sync` otherwise (the relay takes the run from us if it lacks it).
    fn opening(&mut self, run: &mut RunDoc, relay: &PeerId) -> Option<Vec<u8>> {
        let doc = run.automerge_mut();
        let bare = doc.get_heads() == genesis_heads();
        let message = self.sync.add_peer(doc, relay)?;
        Some(
            if bare {
                message.into_request()
            } else {
                message
            }
            .encode(),
        )
    }

    fn flush(&mut self, run: &mut RunDoc) -> Vec<Vec<u8>> {
        self.sync
            .flush(run.automerge_mut())
            .into_iter()
            .map(|(_, message)| message.encode())
            .collect()
    }
}

fn genesis_heads() -> &'static [ChangeHash] {
    static HEADS: OnceLock<Vec<ChangeHash>> = OnceLock::new();
    HEADS.get_or_init(|| {
        AutoCommit::load(GENESIS)
            .expect("the genesis constant is a valid change")
            .get_heads()
    })
}
