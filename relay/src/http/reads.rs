//! The run reads: `GET /api/crdt/runs` and `GET /api/crdt/runs/{runId}/…`.

use crate::http::bodies::{Heads, HistoryPage, ListedRun, RunsPage};
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use futures_util::stream::{self, StreamExt};
use runmesh_core::hub::OpError;
use runmesh_core::{ChangeHash, RunId, RunState};
use serde::Serialize;
use tokio::sync::oneshot;

use crate::http::caller::Caller;
use crate::http::error::AppError;
use crate::http::heads;
use crate::http::page::Page;
use crate::http::path::RunPath;
use crate::http::query::Query;
use crate::http::state::Region;
use crate::runs::{DocCmd, Documents, Read};

/// A 404 unless the run is in memory or in the store: reading a run that is neither
/// answers without loading one (a loaded run stays in memory while it is used and for
/// `--idle-unload-secs` after).
pub(crate) async fn held(docs: &Documents, run: RunId) -> Result<(), AppError> {
    match docs.holds(run.document_id()).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(OpError::NotFound.into()),
        Err(e) => {
            tracing::error!(%run, error = %e, "could not look a run up in the store");
            Err(AppError::Unavailable(
                "the store did not answer; retry later".into(),
            ))
        }
    }
}

/// Reads from a run the relay holds (else 404).
pub(crate) async fn read<T>(
    docs: &Documents,
    run: RunId,
    make: impl FnOnce(oneshot::Sender<T>) -> Read,
) -> Result<T, AppError> {
    held(docs, run).await?;
    let (reply, rx) = oneshot::channel();
    docs.send(run.document_id(), DocCmd::Read(make(reply)))
        .await;
    rx.await.map_err(|_| AppError::Internal)
}

/// `GET /api/crdt/runs/{runId}/state[?at=<heads>]`: the run now, or as it was at `at`.
pub async fn get_state(
    State(docs): State<Documents>,
    State(Region(region)): State<Region>,
    RunPath(run): RunPath,
    caller: Caller,
    Query(query): Query,
) -> Result<Json<StateBody>, AppError> {
    caller.read(run)?;
    let params = heads::params(query.as_deref(), &["at"])?;
    let state = match params.first() {
        Some((name, value)) => {
            let at = heads::parse(name, value)?;
            read(&docs, run, |reply| Read::StateAt(at, reply)).await??
        }
        None => read(&docs, run, Read::State).await??,
    };
    Ok(Json(StateBody::new(state, &region)))
}

/// `GET /api/crdt/runs/{runId}/diff?from=<heads>[&to=<heads>]`: what changed from `from`
/// to `to` (default: now) — grafts added, nodes pruned and restored, flags changed, and
/// every change between, each with who, region and when.
pub async fn get_diff(
    State(docs): State<Documents>,
    RunPath(run): RunPath,
    caller: Caller,
    Query(query): Query,
) -> Result<impl IntoResponse, AppError> {
    caller.read(run)?;
    let params = heads::params(query.as_deref(), &["from", "to"])?;
    let value = |name: &str| params.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
    let from = heads::parse(
        "from",
        value("from").ok_or_else(|| {
            AppError::BadRequest("from is required: the heads to diff from".into())
        })?,
    )?;
    let to = value("to").map(|v| heads::parse("to", v)).transpose()?;
    let diff = read(&docs, run, |reply| Read::Diff(from, to, reply)).await??;
    Ok(Json(diff))
}

/// `GET /api/crdt/runs/{runId}/changes`: the whole document, as Automerge bytes.
pub async fn get_changes(
    State(docs): State<Documents>,
    RunPath(run): RunPath,
    caller: Caller,
) -> Result<impl IntoResponse, AppError> {
    caller.read(run)?;
    let saved = read(&docs, run, Read::Changes).await??;
    // Shared with the run's task, not copied: each answer in flight is not another run.
    let len = saved.len();
    let parts = saved
        .into_parts()
        .into_iter()
        .map(|part| Ok::<_, std::convert::Infallible>(bytes::Bytes::from_owner(part)));
    let body = axum::body::Body::from_stream(futures_util::stream::iter(parts));
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::CONTENT_LENGTH, len.to_string()),
        ],
        body,
    ))
}

/// `GET /api/crdt/runs/{runId}/heads`: the document's heads (hex), empty if unknown.
pub async fn get_heads(
    State(docs): State<Documents>,
    RunPath(run): RunPath,
    caller: Caller,
) -> Result<impl IntoResponse, AppError> {
    caller.read(run)?;
    let heads: Vec<String> = match read(&docs, run, Read::Heads).await {
        Ok(heads) => heads.iter().map(ToString::to_string).collect(),
        Err(AppError::NotFound(_)) => Vec::new(),
        Err(e) => return Err(e),
    };
    Ok(Json(Heads { run_id: run, heads }))
}

/// `GET /api/crdt/runs/{runId}/history?limit=&after=`: a page of the run's changes in the
/// order every replica agrees on, paged as the run listing is: `after` is the `hash` of
/// the last entry of the page before, `next` the one to pass for the next page (`null` on
/// the last), `total` how many changes there are. A 10,000-change history is 2 MB of JSON;
/// a page of 100 is 20 KB.
pub async fn get_history(
    State(docs): State<Documents>,
    RunPath(run): RunPath,
    caller: Caller,
    Query(query): Query,
) -> Result<impl IntoResponse, AppError> {
    caller.read(run)?;
    let page = Page::<ChangeHash>::parse(query.as_deref())?;
    let history = read(&docs, run, Read::History).await??;
    let after = page.after.map(|h| h.to_string()).unwrap_or_default();
    let (entries, more) = page
        .of_ordered(&history, |entry, _| entry.hash == after)
        .ok_or_else(|| {
            AppError::Unprocessable(format!(
                "after: change {after} is not in this run's history"
            ))
        })?;
    let next = more
        .then(|| entries.last().map(|e| e.hash.clone()))
        .flatten();
    let page = HistoryPage {
        run_id: run,
        history: entries,
        total: history.len(),
        next,
    };
    Ok(Json(page).into_response())
}

/// Titles read at once for a listing: each is a run loaded, if it is not in memory.
const TITLES_AT_ONCE: usize = 8;

/// `GET /api/crdt/runs?limit=&after=`: a page of the runs this relay stores that the
/// caller may read, ordered by run id, each with its title (`null` for a stored document
/// that is not a run, or one that cannot be read), with how many there are in all and
/// where the next page starts (`next`: the `after` to ask for; `null` on the last page).
/// A title is read from the titles the runs' tasks noted; a run no task has read since
/// the relay started is loaded once for it (and leaves again when idle).
pub async fn list_runs(
    State(docs): State<Documents>,
    caller: Caller,
    Query(query): Query,
) -> Result<impl IntoResponse, AppError> {
    let page = Page::parse(query.as_deref())?;
    let stored = docs.stored().await.map_err(|e| {
        tracing::error!(error = %e, "listing runs failed");
        AppError::Internal
    })?;
    let mut readable: Vec<RunId> = stored
        .into_iter()
        .map(RunId::from)
        .filter(|run| caller.grants.access(*run).is_some())
        .collect();
    readable.sort_unstable();
    let (items, more) = page.of(&readable);
    let runs: Vec<_> = stream::iter(items.iter().copied())
        .map(|run| {
            let docs = &docs;
            async move {
                let title = match docs.titles().get(&run.document_id()) {
                    Some(title) => Some(title),
                    None => read(docs, run, Read::Title).await.ok().and_then(Result::ok),
                };
                ListedRun {
                    run_id: run,
                    document_id: run.document_id().to_string(),
                    title,
                }
            }
        })
        .buffered(TITLES_AT_ONCE)
        .collect()
        .await;
    let next = more
        .then(|| items.last().map(ToString::to_string))
        .flatten();
    Ok(Json(RunsPage {
        runs,
        total: readable.len(),
        next,
    }))
}

/// The state as the spec shapes it, plus the relay's region.
#[derive(Serialize)]
pub struct StateBody {
    #[serde(flatten)]
    state: RunState,
    region: String,
}

impl StateBody {
    /// `state` as this relay in `region` answers it.
    pub fn new(state: RunState, region: &str) -> Self {
        Self {
            state,
            region: region.to_owned(),
        }
    }
}
