//! `GET /api/crdt/runs/{runId}/events`: the run's changes as Server-Sent Events, for the
//! programs that act on a run (the orchestrator that executes it, say).
//!
//! Each event is one stored change — `event: change`, `data:` its history entry and its
//! diff (who, region, when, what) — and its `id` is the heads of everything up to and
//! including it. A consumer that reconnects with `Last-Event-ID` (or `?since=`) set to the
//! last id it saw gets every change after it once, and nothing twice; without one it
//! gets the changes from now on. Only stored changes are sent, as sync does.
//!
//! The feed follows the run's stored heads, not the ids it sent: whatever history writers
//! make (branches, merges, changes with no dependencies), the next read starts from what
//! the run held, which it always knows. A feed that must end says why first, with
//! `event: end` and `data: {"code", "reason"}` ([`End`]): the relay shuts down, the
//! token expires or its key is removed, or the run cannot be read.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::{FutureExt, Stream};
use runmesh_core::node::Hold;
use runmesh_core::{ChangeEvent, ChangeHash, RunId};
use tokio::sync::{oneshot, watch};
use tokio_util::sync::CancellationToken;

use crate::auth::LeaseEnd;
use crate::http::caller::Caller;
use crate::http::error::AppError;
use crate::http::heads;
use crate::http::path::RunPath;
use crate::http::query::Query;
use crate::http::reads::held;
use crate::http::state::AppState;
use crate::http::subscribers::Subscription;
use crate::limits::{Holder, StreamSlot, Who};
use crate::runs::{DocCmd, Documents, Read};

/// Events read from the run at once. Each costs a diff on the run's task, so a consumer
/// resuming from far back gets the backlog in parts, as it reads them, rather than
/// holding the task (and its memory) for the whole history at once.
const BATCH: usize = 256;

/// `GET /api/crdt/runs/{runId}/events`
pub async fn get_events(
    State(state): State<AppState>,
    RunPath(run): RunPath,
    caller: Caller,
    headers: HeaderMap,
    Query(query): Query,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AppError> {
    caller.read(run)?;
    let params = heads::params(query.as_deref(), &["since"])?;
    let since = match headers.get("last-event-id") {
        Some(value) => {
            let value = value
                .to_str()
                .map_err(|_| AppError::BadRequest("Last-Event-ID is not text".into()))?;
            Some(heads::parse("Last-Event-ID", value)?)
        }
        None => params
            .first()
            .map(|(name, value)| heads::parse(name, value))
            .transpose()?,
    };
    // A run the relay does not hold is a 404 before anything loads it.
    held(&state.docs, run).await?;
    let stream = if caller.grants.is_mesh() {
        None
    } else {
        Some(
            state
                .streams
                .open(&caller.who)
                .map_err(AppError::Unavailable)?,
        )
    };
    // Counted before the run is loaded: a refused stream costs nothing.
    let subscription = state
        .subscribers
        .join(run)
        .map_err(|full| AppError::Unavailable(full.to_string()))?;
    // A feed holds its run in memory, as a socket syncing it does: it counts against
    // the caller's share.
    let holdings = &state.sessions.holdings;
    holdings.check(&caller.who).map_err(AppError::Unavailable)?;
    let past_share = CancellationToken::new();
    let holder = Holder::feed(past_share.clone());
    let hold = Hold::new(holdings, &caller.who, holder, run);
    let docs = state.docs.clone();
    // Follow first, then read: a change stored in between is not missed.
    let watch = follow(&docs, run).await?;
    let (stored, events) = since_of(&docs, run, since).await?;
    let lease = caller.lease(&state);
    let mut feed = Feed {
        docs,
        run,
        seen: Vec::new(),
        more: false,
        pending: VecDeque::new(),
        watch,
        shutdown: state.shutdown.clone(),
        lease_end: Box::pin(async move { lease.ended().await }),
        ended: false,
        _subscription: subscription,
        _stream: stream,
        _hold: hold,
        past_share,
    };
    feed.queue(stored, events);
    let stream = futures_util::stream::unfold(feed, |mut feed| async move {
        let event = feed.next().await?;
        Some((Ok(event), feed))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// Why a feed ended, as its `end` event tells it.
#[derive(Debug, thiserror::Error)]
enum End {
    #[error("the relay is shutting down; reconnect with Last-Event-ID to resume")]
    Shutdown,
    #[error("{0}")]
    Lease(LeaseEnd),
    #[error("the run cannot be followed: {0}")]
    Unreadable(AppError),
    #[error(
        "the runs you hold open weigh more than your share of this relay's memory (--max-loaded-bytes-per-caller): close some, then resume with Last-Event-ID"
    )]
    PastShare,
}

impl End {
    fn code(&self) -> &'static str {
        match self {
            End::Shutdown => "shutdown",
            End::Lease(LeaseEnd::Expired) => "token_expired",
            End::Lease(LeaseEnd::Revoked(_)) => "token_revoked",
            End::Unreadable(_) => "unreadable",
            End::PastShare => "memory_share",
        }
    }

    fn event(&self) -> Event {
        let data = crate::http::bodies::FeedEnd {
            code: self.code(),
            reason: self.to_string(),
        };
        let data = serde_json::to_string(&data).expect("the end serializes");
        Event::default().event("end").data(data)
    }
}

/// One consumer's place in the run.
struct Feed {
    docs: Documents,
    run: RunId,
    /// The heads the events in `pending` (and those sent) lead to.
    seen: Vec<ChangeHash>,
    /// Whether more stored changes follow `seen` (the last read was a full batch).
    more: bool,
    pending: VecDeque<ChangeEvent>,
    /// The caller's hold on the run, against its share of memory.
    _hold: Hold<Who, Holder>,
    /// Cancelled when the caller holds more than its share: the feed ends.
    past_share: CancellationToken,
    watch: watch::Receiver<Vec<ChangeHash>>,
    shutdown: CancellationToken,
    /// Resolves when the caller's token stops being accepted. Made once, so that a key
    /// reload between two waits is not missed.
    lease_end: Pin<Box<dyn Future<Output = LeaseEnd> + Send>>,
    /// The `end` event was sent: the stream is over.
    ended: bool,
    _subscription: Subscription,
    /// The caller's place among its streams (`--max-streams-per-caller`).
    _stream: Option<StreamSlot>,
}

impl Feed {
    /// The next event; `None` after the `end` event.
    async fn next(&mut self) -> Option<Event> {
        if self.ended {
            return None;
        }
        loop {
            // A consumer far behind still hears of an end before the rest of the backlog.
            let over = if self.shutdown.is_cancelled() {
                Some(End::Shutdown)
            } else if self.past_share.is_cancelled() {
                Some(End::PastShare)
            } else {
                (&mut self.lease_end).now_or_never().map(End::Lease)
            };
            if let Some(end) = over {
                return Some(self.end(&end));
            }
            if let Some(change) = self.pending.pop_front() {
                let data = serde_json::to_string(&change).expect("a change event is plain data");
                return Some(
                    Event::default()
                        .id(change.id.join(","))
                        .event("change")
                        .data(data),
                );
            }
            if let Err(end) = self.wait().await {
                return Some(self.end(&end));
            }
        }
    }

    fn end(&mut self, end: &End) -> Event {
        tracing::debug!(run = %self.run, reason = %end, "ending a change feed");
        self.ended = true;
        end.event()
    }

    /// Queues the events of a read that led to the `stored` heads.
    fn queue(&mut self, stored: Vec<ChangeHash>, events: Vec<ChangeEvent>) {
        self.more = events.len() >= BATCH;
        self.seen = match events.last() {
            // A part of the backlog: go on from its last event.
            Some(last) if self.more => last.id.iter().filter_map(|h| h.parse().ok()).collect(),
            // Everything up to the stored heads.
            _ => stored,
        };
        self.pending.extend(events);
    }

    /// Waits for the run's stored heads to move (unless more of a backlog is waiting),
    /// then queues the changes that moved them.
    async fn wait(&mut self) -> Result<(), End> {
        if !self.more {
            self.changed().await?;
        }
        let (stored, events) = since_of(&self.docs, self.run, Some(self.seen.clone()))
            .await
            .map_err(End::Unreadable)?;
        self.queue(stored, events);
        Ok(())
    }

    async fn changed(&mut self) -> Result<(), End> {
        tokio::select! {
            () = self.shutdown.cancelled() => return Err(End::Shutdown),
            () = self.past_share.cancelled() => return Err(End::PastShare),
            end = &mut self.lease_end => return Err(End::Lease(end)),
            changed = self.watch.changed() => if changed.is_err() {
                // The run left memory: follow it again (which loads it).
                self.watch = follow(&self.docs, self.run).await.map_err(End::Unreadable)?;
            },
        }
        Ok(())
    }
}

async fn follow(
    docs: &Documents,
    run: RunId,
) -> Result<watch::Receiver<Vec<ChangeHash>>, AppError> {
    let (reply, rx) = oneshot::channel();
    docs.send(run.document_id(), DocCmd::Read(Read::Watch(reply)))
        .await;
    rx.await.map_err(|_| AppError::Internal)
}

async fn since_of(
    docs: &Documents,
    run: RunId,
    since: Option<Vec<ChangeHash>>,
) -> Result<(Vec<ChangeHash>, Vec<ChangeEvent>), AppError> {
    let (reply, rx) = oneshot::channel();
    docs.send(
        run.document_id(),
        DocCmd::Read(Read::Since(since, BATCH, reply)),
    )
    .await;
    Ok(rx.await.map_err(|_| AppError::Internal)??)
}
