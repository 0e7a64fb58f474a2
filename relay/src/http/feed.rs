//! `GET /api/crdt/runs/{runId}/events`: the run's changes as Server-Sent Events, for the
//! programs that act on a run (the orchestrator that executes it, say).
//!
//! Each event is one stored change — `event: change`, `data:` its history entry and its
//! diff (who, region, when, what) — and its `id` is the heads of everything up to and
//! including it. A consumer that reconnects with `Last-Event-ID` (or `?since=`) set to the
//! last id it saw gets every change after it once, and nothing twice; without one it
//! gets the changes from now on. Only stored changes are sent, as sync does.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use runmesh_core::{ChangeEvent, ChangeHash, RunId};
use tokio::sync::{oneshot, watch};

use crate::docs::{DocCmd, Documents, Read};
use crate::http::caller::Caller;
use crate::http::error::AppError;
use crate::http::heads;
use crate::http::path::RunPath;

/// `GET /api/crdt/runs/{runId}/events`
pub async fn get_events(
    State(docs): State<Documents>,
    RunPath(run): RunPath,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
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
    // Follow first, then read: a change stored in between is not missed.
    let watch = follow(&docs, run).await?;
    let (stored, events) = since_of(&docs, run, since.clone()).await?;
    let feed = Feed {
        docs,
        run,
        seen: events.last().map_or(since.unwrap_or(stored), ids),
        pending: events.into(),
        watch,
    };
    let stream = futures_util::stream::unfold(feed, |mut feed| async move {
        let event = feed.next().await?;
        Some((Ok(event), feed))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// One consumer's place in the run.
struct Feed {
    docs: Documents,
    run: RunId,
    /// The heads of what it has been sent (or will be, with `pending`).
    seen: Vec<ChangeHash>,
    pending: VecDeque<ChangeEvent>,
    watch: watch::Receiver<Vec<ChangeHash>>,
}

impl Feed {
    /// The next event; `None` ends the stream (the run cannot be read any more).
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(change) = self.pending.pop_front() {
                let data = serde_json::to_string(&change).expect("a change event is plain data");
                return Some(
                    Event::default()
                        .id(change.id.join(","))
                        .event("change")
                        .data(data),
                );
            }
            if self.watch.changed().await.is_err() {
                // The run left memory: follow it again (which loads it).
                self.watch = follow(&self.docs, self.run).await.ok()?;
            }
            let (_, events) = since_of(&self.docs, self.run, Some(self.seen.clone()))
                .await
                .ok()?;
            if let Some(last) = events.last() {
                self.seen = ids(last);
            }
            self.pending.extend(events);
        }
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
    docs.send(run.document_id(), DocCmd::Read(Read::Since(since, reply)))
        .await;
    Ok(rx.await.map_err(|_| AppError::Internal)??)
}

fn ids(event: &ChangeEvent) -> Vec<ChangeHash> {
    event.id.iter().filter_map(|h| h.parse().ok()).collect()
}
