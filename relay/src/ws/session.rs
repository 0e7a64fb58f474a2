//! [`Session`]: one peer connection after the handshake, whichever side dialled.
//!
//! Each frame is decoded once here — the protocol message, and the Automerge sync message
//! inside it, under core's panic guard — checked against the peer's grants and limits,
//! and routed to the run's task as a typed command. Frames out arrive from the tasks
//! already encoded, through a bounded queue (a peer that lets it fill is cut off).

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use runmesh_core::RunId;
use runmesh_core::hub::PeerKind;
use runmesh_core::node::{Admission, RouteError, Routed, SyncFrame, route};
use runmesh_core::sync::{PeerId, WireMessage};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::auth::Grants;
use crate::limits::{Holder, Limits, MemoryShares, Who};
use crate::metrics::{FrameCounter, Metrics};
use crate::runs::{DocCmd, Documents, PeerLink};

/// The limits a connection lives under.
#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    /// Largest frame accepted.
    pub max_frame_bytes: usize,
    /// Runs one client connection may sync.
    pub max_runs_per_connection: usize,
    /// Frames queued for the peer before it counts as too slow.
    pub peer_queue_frames: usize,
    /// Silence after which the connection is closed.
    pub idle_timeout: Duration,
    /// How long one write may wait for the peer to read before the session ends.
    pub write_stall_timeout: Duration,
}

/// What every session needs: the runs, the rate limits, the metrics, who we are.
#[derive(Debug, Clone)]
pub struct SessionEnv {
    /// The runs.
    pub docs: Documents,
    /// Per-caller rate limits.
    pub limits: Arc<Limits>,
    /// The runs each caller holds open, against its share of memory.
    pub holdings: Arc<MemoryShares>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// This relay's peer id.
    pub me: PeerId,
    /// Connection limits.
    pub config: SessionLimits,
    /// Which caller holds each client peer id.
    pub claims: Arc<std::sync::Mutex<runmesh_core::node::PeerClaims<Who>>>,
}

/// Why a session ended.
#[derive(Debug, PartialEq, Eq)]
pub enum SessionEnd {
    /// The peer closed the connection or left.
    Closed,
    /// The peer broke the protocol; an `error` message was sent to it.
    ProtocolError(String),
    /// The relay cut it off (too slow, silent, evicted, or shutting down).
    CutOff,
}

/// How a frame ends a session: why, and the `error` message to send first, if any.
#[derive(Debug)]
pub struct Stop {
    /// Why the session ends.
    pub end: SessionEnd,
    /// The `error` message to send before closing.
    pub reply: Option<Box<WireMessage>>,
}

/// A peer that completed the handshake.
#[derive(Debug)]
pub struct Session {
    env: SessionEnv,
    link: PeerLink,
    /// What it may do, and the runs it syncs.
    admission: Admission,
    /// Whose rate allowance this connection's changes spend.
    who: Who,
    /// Bytes sent and received, for a mesh link.
    traffic: Option<(Counter, Counter)>,
    /// Frames and bytes in and out, by kind of peer.
    frames: (FrameCounter, FrameCounter),
}

impl Session {
    /// A session with `peer`; returns it and the queue its outbound frames arrive on.
    pub fn new(
        env: SessionEnv,
        peer: PeerId,
        grants: Grants,
        close: CancellationToken,
    ) -> (Self, mpsc::Receiver<Vec<u8>>) {
        // The connection's address is set by whoever accepted it (`spend_as`).
        let who = grants
            .user()
            .map_or(Who::Unknown, |user| Who::Subject(user.to_owned()));
        let admission = Admission::new(grants, env.config.max_runs_per_connection);
        let kind = admission.kind();
        let frames = env.metrics.frame_counters(kind == PeerKind::Mesh);
        let budget = env.docs.env().hub.budget.clone();
        let queue = env.config.peer_queue_frames;
        let (link, rx) = PeerLink::new(peer, kind, queue, close, budget);
        let session = Self {
            env,
            link,
            admission,
            who,
            traffic: None,
            frames,
        };
        (session, rx)
    }

    /// Has this connection's changes spend `who`'s allowance (the caller as the upgrade
    /// request named it: the token's subject, else the client's address).
    pub fn spend_as(&mut self, who: Who) {
        self.who = who;
    }

    /// Counts this link's bytes (sent, received) in these counters.
    pub fn count_traffic(&mut self, counters: (Counter, Counter)) {
        self.traffic = Some(counters);
    }

    /// The counter of frames sent.
    pub fn frames_out(&self) -> FrameCounter {
        self.frames.1.clone()
    }

    /// The counter of bytes sent, if this link's traffic is counted.
    pub fn sent_counter(&self) -> Option<Counter> {
        self.traffic.as_ref().map(|(sent, _)| sent.clone())
    }

    /// How long the peer may stay silent.
    pub fn idle_timeout(&self) -> Duration {
        self.env.config.idle_timeout
    }

    /// How long one write may wait for the peer to read.
    pub fn write_stall_timeout(&self) -> Duration {
        self.env.config.write_stall_timeout
    }

    /// This session's connection.
    pub fn link(&self) -> &PeerLink {
        &self.link
    }

    /// Handles one frame from the peer. `Err` ends the session (after its `error`).
    pub async fn on_frame(&mut self, frame: &[u8]) -> Result<(), Stop> {
        self.link.heard();
        self.frames.0.count(frame.len());
        if let Some((_, received)) = &self.traffic {
            received.inc_by(frame.len() as u64);
        }
        let message = match WireMessage::decode(frame, self.env.config.max_frame_bytes) {
            Ok(m) => m,
            Err(e) => {
                self.env.metrics.malformed_frame();
                tracing::warn!(peer = %self.link.peer(), error = %e, "closing a connection that sent a bad frame");
                return Err(self.protocol_error(e.to_string()));
            }
        };
        let routed = route(message, self.link.peer(), self.admission.kind()).map_err(|e| {
            if matches!(e, RouteError::BadSync(_)) {
                self.env.metrics.sync_failure();
            }
            self.protocol_error(e.to_string())
        })?;
        match routed {
            Routed::Sync(frame) => self.on_sync(frame).await,
            Routed::Ephemeral { doc, presence } => {
                let now = self.env.docs.env().now();
                let admitted = self
                    .admission
                    .ephemeral(doc, presence.data.len() + presence.session_id.len(), now)
                    .map_err(|why| self.protocol_error(why))?;
                if !admitted {
                    return Ok(()); // past the session's presence allowance: dropped
                }
                let from = self.link.clone();
                self.env
                    .docs
                    .send(doc, DocCmd::Ephemeral { from, presence })
                    .await;
                Ok(())
            }
            Routed::End(None) => Err(self.stop(SessionEnd::Closed)),
            Routed::End(Some(message)) => {
                tracing::warn!(peer = %self.link.peer(), %message, "peer reported an error");
                Err(self.stop(SessionEnd::Closed))
            }
            Routed::Unavailable { doc } => {
                let from = self.link.clone();
                self.env.docs.send(doc, DocCmd::Unavailable { from }).await;
                Ok(())
            }
            Routed::Digest(message) => {
                let env = self.env.docs.env();
                let at = self.admission.digest(env.now());
                tokio::time::sleep_until(env.instant(at).into()).await;
                self.env.docs.reconcile(&self.link, message).await;
                Ok(())
            }
            Routed::Reach(message) => {
                // Within the same allowance as digest frames.
                let env = self.env.docs.env();
                let at = self.admission.digest(env.now());
                tokio::time::sleep_until(env.instant(at).into()).await;
                env.reach.heard(self.link.peer(), message.claims);
                Ok(())
            }
            Routed::Nothing => Ok(()),
        }
    }

    /// A sync message: admitted (grants, runs per connection, the caller's memory share
    /// and rate allowance), then sent to the run's task.
    async fn on_sync(&mut self, frame: SyncFrame) -> Result<(), Stop> {
        let SyncFrame {
            doc,
            message,
            request,
        } = frame;
        let client = self.admission.kind() == PeerKind::Client;
        let opens = !self.admission.syncs(doc);
        if client && (opens || !message.changes.is_empty()) {
            let held = self.env.holdings.check(&self.who);
            held.map_err(|why| self.protocol_error(why))?;
        }
        let (limits, metrics, who) = (&self.env.limits, &self.env.metrics, &self.who);
        let admitted = self.admission.sync(doc, &message, |changes| {
            limits.changes.take(who, changes).map_err(|limited| {
                metrics.rate_limited();
                limited.to_string()
            })
        });
        admitted.map_err(|why| self.protocol_error(why))?;
        if client {
            let holder = Holder::socket(&self.link);
            let run = RunId::from(doc);
            if opens {
                self.env.holdings.hold(&self.who, &holder, run);
            }
            let kept = runmesh_core::sync::kept_bytes(&message);
            self.env.holdings.keep(&self.who, &holder, run, kept);
        }
        let from = self.link.clone();
        let cmd = DocCmd::Sync {
            from,
            message,
            request,
        };
        self.env.docs.send(doc, cmd).await;
        Ok(())
    }

    /// An `error` message from us to this peer.
    pub fn error(&self, message: &str) -> WireMessage {
        WireMessage::error(&self.env.me, Some(self.link.peer()), message)
    }

    /// Counts a frame refused as malformed.
    pub fn malformed(&self) {
        self.env.metrics.malformed_frame();
    }

    fn stop(&self, end: SessionEnd) -> Stop {
        Stop { end, reply: None }
    }

    fn protocol_error(&self, message: String) -> Stop {
        Stop {
            reply: Some(Box::new(self.error(&message))),
            end: SessionEnd::ProtocolError(message),
        }
    }

    /// Tells every run this peer synced that it is gone (a run no longer in memory has
    /// forgotten it already: it is not loaded just to hear that).
    pub async fn end(self) {
        if self.admission.kind() == PeerKind::Client {
            self.env
                .holdings
                .end(&self.who, &Holder::socket(&self.link));
        }
        for &doc in self.admission.attached() {
            let cmd = DocCmd::Detach(self.link.link.clone());
            self.env.docs.send_if_loaded(doc, cmd).await;
        }
    }
}
