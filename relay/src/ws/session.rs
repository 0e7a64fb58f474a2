//! [`Session`]: one peer connection after the handshake, whichever side dialled.
//!
//! Frames in are decoded once and routed to document tasks; frames out arrive from the
//! tasks already encoded, through a bounded queue (a peer that lets it fill is cut off
//! by the task). The transport is abstract so the server's sockets and the mesh's
//! outbound sockets share this code.

use std::collections::HashSet;
use std::sync::Arc;

use runmesh_core::sync::{PeerId, WireMessage};
use runmesh_core::{DocumentId, RunId};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::auth::{Access, Grants};
use crate::docs::{DocCmd, DocContext, PeerLink};

/// Why a session ended.
#[derive(Debug, PartialEq, Eq)]
pub enum SessionEnd {
    /// The peer closed the connection or left.
    Closed,
    /// The peer broke the protocol; this error was sent to it.
    ProtocolError(String),
    /// The relay cut it off (too slow, or shutting down).
    CutOff,
}

/// How a frame ends a session: why, and the `error` message to send first, if any.
pub type Stop = (SessionEnd, Option<Box<WireMessage>>);

/// A peer that completed the handshake.
#[derive(Debug)]
pub struct Session {
    ctx: Arc<DocContext>,
    link: PeerLink,
    attached: HashSet<DocumentId>,
    grants: Grants,
    /// Whose rate allowance this connection's changes spend.
    user: String,
}

impl Session {
    /// A session with `peer`; returns it and the queue its outbound frames arrive on.
    pub fn new(
        ctx: Arc<DocContext>,
        peer: PeerId,
        grants: Grants,
        close: CancellationToken,
    ) -> (Self, mpsc::Receiver<Vec<u8>>) {
        let is_mesh = grants.is_mesh();
        let user = grants
            .user()
            .map(str::to_owned)
            .unwrap_or_else(|| peer.to_string());
        let (tx, rx) = mpsc::channel(ctx.config.peer_queue_frames);
        static SESSIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let session = SESSIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let link = PeerLink {
            peer,
            tx,
            close,
            is_mesh,
            session,
        };
        (
            Self {
                ctx,
                link,
                attached: HashSet::new(),
                grants,
                user,
            },
            rx,
        )
    }

    /// How long the peer may stay silent.
    pub fn idle_timeout(&self) -> std::time::Duration {
        self.ctx.config.idle_timeout
    }

    /// This session's link (for offering documents to a mesh peer).
    pub fn link(&self) -> &PeerLink {
        &self.link
    }

    /// Handles one frame from the peer. `Err` ends the session; for protocol errors the
    /// caller sends the returned `error` message first.
    pub async fn on_frame(&mut self, frame: &[u8]) -> Result<(), Stop> {
        if self.link.is_mesh {
            self.ctx.mesh.touch(&self.link.peer);
        }
        let message = match WireMessage::decode(frame, self.ctx.config.max_frame_bytes) {
            Ok(m) => m,
            Err(e) => {
                self.ctx.metrics.malformed_frame();
                tracing::warn!(peer = %self.link.peer, error = %e, "closing a connection that sent a bad frame");
                return Err(self.protocol_error(e.to_string()));
            }
        };
        match message {
            WireMessage::Sync {
                ref document_id, ..
            }
            | WireMessage::Request {
                ref document_id, ..
            } => {
                let doc = self.document(document_id)?;
                let (data, request) = match message {
                    WireMessage::Sync { data, .. } => (data, false),
                    WireMessage::Request { data, .. } => (data, true),
                    _ => unreachable!("matched above"),
                };
                self.admit(doc, &data)?;
                self.attached.insert(doc);
                let cmd = DocCmd::Sync {
                    from: self.link.clone(),
                    data,
                    request,
                };
                self.ctx.registry.send(&self.ctx, doc, cmd).await;
            }
            WireMessage::Ephemeral {
                ref document_id, ..
            } => {
                let doc = self.document(document_id)?;
                self.grants
                    .check(RunId::from(doc), Access::Read)
                    .map_err(|why| self.protocol_error(format!("forbidden: {why}")))?;
                let cmd = DocCmd::Ephemeral {
                    from: self.link.peer.clone(),
                    message,
                };
                self.ctx.registry.send(&self.ctx, doc, cmd).await;
            }
            WireMessage::Leave { .. } => return Err((SessionEnd::Closed, None)),
            WireMessage::Error { message, .. } => {
                tracing::warn!(peer = %self.link.peer, %message, "peer reported an error");
                return Err((SessionEnd::Closed, None));
            }
            WireMessage::Join { .. } | WireMessage::Peer { .. } => {
                return Err(self.protocol_error("handshake message after the handshake".into()));
            }
            // A mesh peer we asked for a document does not have it either.
            WireMessage::DocUnavailable {
                ref document_id, ..
            } if self.link.is_mesh => {
                let doc = self.document(document_id)?;
                let cmd = DocCmd::Unavailable {
                    from: self.link.peer.clone(),
                };
                self.ctx.registry.send(&self.ctx, doc, cmd).await;
            }
            // Not needed by a relay: it answers requests itself, and does not gossip heads.
            WireMessage::DocUnavailable { .. }
            | WireMessage::RemoteSubscriptionChange {}
            | WireMessage::RemoteHeadsChanged {} => {}
        }
        Ok(())
    }

    /// Whether this sync message may go to the document: the run is readable, the
    /// connection is within its run limit, and changes it carries are allowed (write
    /// access, rate allowance). A refused message is not applied at all.
    fn admit(&self, doc: DocumentId, data: &[u8]) -> Result<(), Stop> {
        let run = RunId::from(doc);
        if !self.grants.is_mesh() {
            self.grants
                .check(run, Access::Read)
                .map_err(|why| self.protocol_error(format!("forbidden: {why}")))?;
            let max = self.ctx.config.max_runs_per_connection;
            if !self.attached.contains(&doc) && self.attached.len() >= max {
                return Err(self.protocol_error(format!(
                    "this connection already syncs {max} runs, the limit (--max-runs-per-connection)"
                )));
            }
        }
        if self.grants.is_mesh() {
            return Ok(());
        }
        let chunks = automerge::sync::Message::decode(data)
            .map(|m| m.changes.len())
            .unwrap_or(0);
        if chunks == 0 {
            return Ok(()); // no changes (or undecodable: the document task reports it)
        }
        self.grants.check(run, Access::Write).map_err(|why| {
            self.protocol_error(format!("changes refused, nothing applied: {why}"))
        })?;
        self.ctx
            .limits
            .take(&self.user, u32::try_from(chunks).unwrap_or(u32::MAX))
            .map_err(|limited| {
                self.ctx.metrics.rate_limited();
                self.protocol_error(format!("changes refused, nothing applied: {limited}"))
            })
    }

    fn document(&mut self, id: &str) -> Result<DocumentId, Stop> {
        id.parse::<DocumentId>()
            .map_err(|e| self.protocol_error(e.to_string()))
    }

    /// An `error` message from us to this peer.
    pub fn error(&self, message: &str) -> WireMessage {
        WireMessage::Error {
            message: message.to_owned(),
            sender_id: Some(self.ctx.me.clone()),
            target_id: Some(self.link.peer.clone()),
        }
    }

    /// Counts a frame refused as malformed.
    pub fn malformed(&self) {
        self.ctx.metrics.malformed_frame();
    }

    fn protocol_error(&self, message: String) -> Stop {
        let reply = WireMessage::Error {
            message: message.clone(),
            sender_id: Some(self.ctx.me.clone()),
            target_id: Some(self.link.peer.clone()),
        };
        (SessionEnd::ProtocolError(message), Some(Box::new(reply)))
    }

    /// Tells every document this peer synced that it is gone.
    pub async fn end(self) {
        for doc in self.attached {
            let cmd = DocCmd::Detach {
                peer: self.link.peer.clone(),
                session: self.link.session,
            };
            self.ctx.registry.send(&self.ctx, doc, cmd).await;
        }
    }
}
