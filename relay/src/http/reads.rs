//! The run reads: `GET /api/crdt/runs` and `GET /api/crdt/runs/{runId}/…`.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::IntoResponse;
use runmesh_core::RunId;
use tokio::sync::oneshot;

use crate::docs::{DocCmd, Documents, Read};
use crate::http::caller::Caller;
use crate::http::error::AppError;
use crate::http::page::Page;
use crate::http::path::RunPath;
use crate::http::state::Region;
use crate::http::writes::StateBody;

async fn read<T>(
    docs: &Documents,
    run: RunId,
    make: impl FnOnce(oneshot::Sender<T>) -> Read,
) -> Result<T, AppError> {
    let (reply, rx) = oneshot::channel();
    docs.send(run.document_id(), DocCmd::Read(make(reply)))
        .await;
    rx.await.map_err(|_| AppError::Internal)
}

/// `GET /api/crdt/runs/{runId}/state`
pub async fn get_state(
    State(docs): State<Documents>,
    State(Region(region)): State<Region>,
    RunPath(run): RunPath,
    caller: Caller,
) -> Result<Json<StateBody>, AppError> {
    caller.read(run)?;
    let state = read(&docs, run, Read::State).await??;
    Ok(Json(StateBody::new(state, &region)))
}

/// `GET /api/crdt/runs/{runId}/changes`: the whole document, as Automerge bytes.
pub async fn get_changes(
    State(docs): State<Documents>,
    RunPath(run): RunPath,
    caller: Caller,
) -> Result<impl IntoResponse, AppError> {
    caller.read(run)?;
    let bytes = read(&docs, run, Read::Changes).await??;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes))
}

/// `GET /api/crdt/runs/{runId}/heads`: the document's heads (hex), empty if unknown.
pub async fn get_heads(
    State(docs): State<Documents>,
    RunPath(run): RunPath,
    caller: Caller,
) -> Result<impl IntoResponse, AppError> {
    caller.read(run)?;
    let heads: Vec<String> = read(&docs, run, Read::Heads)
        .await?
        .iter()
        .map(ToString::to_string)
        .collect();
    Ok(Json(serde_json::json!({ "runId": run, "heads": heads })))
}

/// `GET /api/crdt/runs/{runId}/history`
pub async fn get_history(
    State(docs): State<Documents>,
    RunPath(run): RunPath,
    caller: Caller,
) -> Result<impl IntoResponse, AppError> {
    caller.read(run)?;
    let history = read(&docs, run, Read::History).await??;
    Ok(Json(
        serde_json::json!({ "runId": run, "history": history }),
    ))
}

/// `GET /api/crdt/runs?limit=&after=`: a page of the runs this relay stores that the
/// caller may read, ordered by run id, with how many there are in all and where the next
/// page starts (`next`: the `after` to ask for; `null` on the last page).
pub async fn list_runs(
    State(docs): State<Documents>,
    caller: Caller,
    RawQuery(query): RawQuery,
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
    let runs: Vec<_> = items
        .iter()
        .map(|run| serde_json::json!({ "runId": run, "documentId": run.document_id().to_string() }))
        .collect();
    let next = more
        .then(|| items.last().map(ToString::to_string))
        .flatten();
    Ok(Json(serde_json::json!({
        "runs": runs,
        "total": readable.len(),
        "next": next,
    })))
}
