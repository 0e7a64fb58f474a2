//! [`ClientRun`]: one run on one device, kept in sync with one relay, with every change
//! stored on the device before any frame that could carry it goes out.
//!
//! The shell (the browser app's session, the npm package's `connect()`) owns the
//! replica, a socket and a local store. It passes what happens to [`ClientRun::handle`]
//! (the socket opened or closed, a frame came, a write finished or failed), calls
//! [`ClientRun::local_change`] after each edit of the replica, and performs the effects
//! it gets back, in order: send a frame,
//! start a write when one is due ([`ClientRun::take_store`] gives its bytes when the
//! shell is ready to write, so a browser can paint an edit first), tell the application
//! what changed, end the socket when the relay refused.

use automerge::ChangeHash;

use crate::client::store::{LocalStore, StoreId, StoreRequest};
use crate::doc::RunDoc;
use crate::sync::{ClientSync, PeerId};

/// What happened, for [`ClientRun::handle`].
#[derive(Debug)]
pub enum ClientInput<'a> {
    /// A socket to the relay opened.
    Opened,
    /// The socket closed.
    Closed,
    /// A frame from the relay.
    Frame(&'a [u8]),
    /// A write ([`StoreRequest`]) is durable.
    Stored(StoreId),
    /// A write failed (its changes stay unsent until a later write holds them).
    StoreFailed(StoreId, String),
}

/// What the shell must do, in order.
#[derive(Debug, PartialEq, Eq)]
pub enum ClientEffect {
    /// Send this frame on the socket.
    Send(Vec<u8>),
    /// A write is due: call [`ClientRun::take_store`] when ready to perform it.
    StoreDue,
    /// The run changed: here (`local`) or by the relay.
    Changed {
        /// The change was made on this device.
        local: bool,
    },
    /// The handshake on the current socket completed.
    Joined,
    /// The relay (and its mesh) does not have the run.
    Unavailable,
    /// Ephemeral data (presence) from another peer: its sender, CBOR bytes.
    Ephemeral {
        /// Who sent it.
        peer: PeerId,
        /// The data, CBOR the sending application chose.
        data: Vec<u8>,
    },
    /// The relay refused or sent garbage: close the socket (and dial again later).
    Drop(String),
    /// A write failed: tell the user; the changes wait for the next write.
    StoreFailed(String),
}

/// Where a client run stands, for a status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientStatus {
    /// The handshake on the current socket completed.
    pub joined: bool,
    /// The store holds everything the replica has.
    pub stored: bool,
    /// Changes the relay has not acknowledged.
    pub unacknowledged: usize,
    /// The store and the relay hold everything the replica has, and the replica holds
    /// everything the relay has.
    pub synced: bool,
}

/// One run on one device (see the module's documentation).
#[derive(Debug)]
pub struct ClientRun {
    sync: ClientSync,
    store: LocalStore,
    /// Frames waiting for the store to hold everything.
    held: Vec<Vec<u8>>,
    /// An edit was made since the last frames went out.
    local: bool,
    /// Effects of the input being handled.
    effects: Vec<ClientEffect>,
}

impl ClientRun {
    /// `run` as loaded from the local store (`stored`: false for a run the store does not
    /// hold yet, a new or fetched one, whose first write is due at once), with the heads
    /// the relay last acknowledged, speaking as `me`.
    pub fn new(run: &mut RunDoc, stored: bool, acknowledged: Vec<ChangeHash>, me: PeerId) -> Self {
        let mut sync = ClientSync::new(run.run_id(), me);
        sync.set_acknowledged_heads(acknowledged);
        let heads = if stored { run.heads() } else { Vec::new() };
        let mut this = Self {
            sync,
            store: LocalStore::holding(heads),
            held: Vec::new(),
            local: false,
            effects: Vec::new(),
        };
        this.due(run);
        this
    }

    /// A client with no local store (a script that keeps nothing): frames go out at once
    /// and no write is ever due.
    pub fn without_store(run: &mut RunDoc, me: PeerId) -> Self {
        Self {
            sync: ClientSync::new(run.run_id(), me),
            store: LocalStore::absent(),
            held: Vec::new(),
            local: false,
            effects: Vec::new(),
        }
    }

    /// This client's peer id.
    pub fn peer_id(&self) -> &PeerId {
        self.sync.peer_id()
    }

    /// Refuses changes from the relay that would take the run past `max` bytes
    /// (default [`crate::sync::MAX_CLIENT_RUN_WEIGHT`]).
    pub fn limit_run_weight(&mut self, max: usize) {
        self.sync.limit_run_weight(max);
    }

    /// Handles what happened; returns what to do.
    pub fn handle(&mut self, run: &mut RunDoc, input: ClientInput<'_>) -> Vec<ClientEffect> {
        match input {
            ClientInput::Opened => {
                // The `join` carries no change: it goes out at once.
                let join = self.sync.open();
                self.effects.push(ClientEffect::Send(join));
            }
            ClientInput::Closed => {
                self.sync.close();
                self.held.clear(); // they belonged to the old session
            }
            ClientInput::Frame(frame) => self.frame(run, frame),
            ClientInput::Stored(id) => {
                if self.store.stored(id) {
                    self.due(run);
                    self.release(run);
                }
            }
            ClientInput::StoreFailed(id, why) => {
                if self.store.failed(id, &why) {
                    self.effects.push(ClientEffect::StoreFailed(why));
                }
            }
        }
        std::mem::take(&mut self.effects)
    }

    /// The replica was edited here: a write is due, and the change goes to the relay
    /// once the store holds it.
    pub fn local_change(&mut self, run: &mut RunDoc) -> Vec<ClientEffect> {
        self.local = true;
        self.effects.push(ClientEffect::Changed { local: true });
        self.due(run);
        self.release(run); // at once only without a store
        std::mem::take(&mut self.effects)
    }

    /// Asks for the write that failed last to be tried again (a write is due if anything
    /// is unstored).
    pub fn retry_store(&mut self, run: &mut RunDoc) -> Vec<ClientEffect> {
        self.due(run);
        std::mem::take(&mut self.effects)
    }

    /// The write to perform now, or `None` if one is in flight or the store holds
    /// everything. Answer it with [`ClientInput::Stored`] or [`ClientInput::StoreFailed`].
    pub fn take_store(&mut self, run: &mut RunDoc) -> Option<StoreRequest> {
        let heads = run.heads();
        if self.store.busy() || self.store.holds(&heads) {
            return None;
        }
        let id = self.store.start(heads);
        Some(StoreRequest {
            id,
            bytes: run.save(),
            acknowledged: self.sync.acknowledged_heads().to_vec(),
        })
    }

    /// An ephemeral frame (presence) carrying `json`, any JSON value, as CBOR (what the
    /// web app, the npm and the Python packages send); `None` while not joined. Refused,
    /// naming why, when it is not JSON or over the relay's limit
    /// ([`crate::node::MAX_PRESENCE_BYTES`] as CBOR).
    pub fn ephemeral_json(&mut self, json: &str) -> Result<Option<Vec<u8>>, String> {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| format!("presence is not JSON: {e}"))?;
        let mut cbor = Vec::new();
        ciborium::into_writer(&value, &mut cbor).expect("JSON values encode as CBOR");
        let max = crate::node::MAX_PRESENCE_BYTES;
        if cbor.len() > max {
            return Err(format!(
                "presence of {} bytes (as CBOR) is over the relay's limit of {max} bytes",
                cbor.len()
            ));
        }
        Ok(self.ephemeral(cbor).into_iter().find_map(|e| match e {
            ClientEffect::Send(frame) => Some(frame),
            _ => None,
        }))
    }

    /// An ephemeral frame (presence) carrying `data`; nothing while not joined. It holds
    /// no change, so it does not wait for the store.
    pub fn ephemeral(&mut self, data: Vec<u8>) -> Vec<ClientEffect> {
        self.sync
            .ephemeral(data)
            .map(ClientEffect::Send)
            .into_iter()
            .collect()
    }

    /// Where the run stands.
    pub fn status(&mut self, run: &mut RunDoc) -> ClientStatus {
        let stored = self.store.holds(&run.heads());
        let joined = self.sync.is_joined();
        ClientStatus {
            joined,
            stored,
            unacknowledged: self.sync.unacknowledged(run),
            synced: joined && stored && self.held.is_empty() && self.sync.in_sync(run),
        }
    }

    /// Why the last write failed, while nothing has been stored since.
    pub fn store_failure(&self) -> Option<&str> {
        self.store.failure()
    }

    fn frame(&mut self, run: &mut RunDoc, frame: &[u8]) {
        let received = match self.sync.receive(run, frame) {
            Ok(received) => received,
            Err(e) => {
                self.effects.push(ClientEffect::Drop(e.to_string()));
                return;
            }
        };
        if received.joined {
            self.effects.push(ClientEffect::Joined);
        }
        if received.changed {
            self.effects.push(ClientEffect::Changed { local: false });
            self.due(run);
        }
        self.held.extend(received.frames);
        self.release(run);
        for (peer, data) in received.ephemeral {
            self.effects.push(ClientEffect::Ephemeral { peer, data });
        }
        if received.unavailable {
            self.effects.push(ClientEffect::Unavailable);
        }
    }

    /// A write is due if the store lacks something and none is in flight. (A failed
    /// write is tried again on the next change or [`ClientRun::retry_store`], not at
    /// once: a full disk would otherwise spin.)
    fn due(&mut self, run: &mut RunDoc) {
        let heads = run.heads();
        if !self.store.busy() && !self.store.holds(&heads) {
            self.effects.push(ClientEffect::StoreDue);
        }
    }

    /// Sends what waited for the store, once it holds everything.
    fn release(&mut self, run: &mut RunDoc) {
        if !self.store.holds(&run.heads()) {
            return;
        }
        let mut frames = std::mem::take(&mut self.held);
        if std::mem::take(&mut self.local) {
            frames.extend(self.sync.local_change(run));
        }
        self.effects
            .extend(frames.into_iter().map(ClientEffect::Send));
    }
}
