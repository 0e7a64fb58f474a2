//! The run endpoints: the spec's `/api/crdt/runs/…` and `/app/runs/…` paths.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use base64::Engine;
use runmesh_core::{FlagValue, RunId, RunState, StepSpec};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use crate::auth::Access;
use crate::docs::{DocCmd, OpReply, Read, RunOp};
use crate::http::body::JsonBody;
use crate::http::caller::Caller;
use crate::http::error::AppError;
use crate::http::path::RunPath;
use crate::state::AppState;

/// The header naming the user a REST change is made for in open mode (with auth, the
/// token's `sub`).
pub const USER_HEADER: &str = "x-runmesh-user";

fn run_id(text: &str) -> Result<RunId, AppError> {
    text.parse()
        .map_err(|e: runmesh_core::InvalidRunId| AppError::BadRequest(e.to_string()))
}

/// The state as the spec shapes it, plus the relay's region.
#[derive(Serialize)]
pub struct StateBody {
    #[serde(flatten)]
    state: RunState,
    region: String,
}

async fn op(state: &AppState, run: RunId, op: RunOp, user: String) -> Result<OpReply, AppError> {
    let (reply, rx) = oneshot::channel();
    state.send(run, DocCmd::Op { op, user, reply }).await;
    rx.await
        .map_err(|_| AppError::Internal)?
        .map_err(AppError::from)
}

/// Runs an operation and answers with the run's state afterwards.
async fn state_after(
    state: &AppState,
    run: RunId,
    change: RunOp,
    caller: &Caller,
) -> Result<Json<StateBody>, AppError> {
    caller.write(state, run)?;
    let reply = op(state, run, change, caller.user()).await?;
    Ok(Json(StateBody {
        state: reply.state,
        region: state.ctx.config.region.clone(),
    }))
}

async fn read<T>(
    state: &AppState,
    run: RunId,
    make: impl FnOnce(oneshot::Sender<T>) -> Read,
) -> Result<T, AppError> {
    let (reply, rx) = oneshot::channel();
    state.send(run, DocCmd::Read(make(reply))).await;
    rx.await.map_err(|_| AppError::Internal)
}

/// `GET /api/crdt/runs/{runId}/state`
pub async fn get_state(
    State(state): State<AppState>,
    RunPath(run): RunPath,
    caller: Caller,
) -> Result<Json<StateBody>, AppError> {
    caller.read(run)?;
    let s = read(&state, run, Read::State).await??;
    Ok(Json(StateBody {
        state: s,
        region: state.ctx.config.region.clone(),
    }))
}

/// `GET /api/crdt/runs/{runId}/changes`: the whole document, as Automerge bytes.
pub async fn get_changes(
    State(state): State<AppState>,
    RunPath(run): RunPath,
    caller: Caller,
) -> Result<impl IntoResponse, AppError> {
    caller.read(run)?;
    let bytes = read(&state, run, Read::Changes).await??;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes))
}

/// `GET /api/crdt/runs/{runId}/heads`: the document's heads (hex), empty if unknown.
pub async fn get_heads(
    State(state): State<AppState>,
    RunPath(run): RunPath,
    caller: Caller,
) -> Result<impl IntoResponse, AppError> {
    caller.read(run)?;
    let heads = read(&state, run, Read::Heads).await?;
    Ok(Json(serde_json::json!({ "runId": run, "heads": heads })))
}

/// `GET /api/crdt/runs/{runId}/history`
pub async fn get_history(
    State(state): State<AppState>,
    RunPath(run): RunPath,
    caller: Caller,
) -> Result<impl IntoResponse, AppError> {
    caller.read(run)?;
    let history = read(&state, run, Read::History).await??;
    Ok(Json(
        serde_json::json!({ "runId": run, "history": history }),
    ))
}

/// Body of `POST …/sync`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncBody {
    changes: String,
    #[serde(default)]
    source_region: Option<String>,
    #[serde(default)]
    lamport_timestamp: Option<u64>,
}

/// `POST /api/crdt/runs/{runId}/sync`: merges base64 Automerge bytes.
pub async fn post_sync(
    State(state): State<AppState>,
    RunPath(run): RunPath,
    caller: Caller,
    JsonBody(body): JsonBody<SyncBody>,
) -> Result<impl IntoResponse, AppError> {
    caller
        .grants
        .check(run, Access::Write)
        .map_err(AppError::Forbidden)?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(body.changes.trim())
        .map_err(|e| AppError::BadRequest(format!("changes is not valid base64: {e}")))?;
    if bytes.is_empty() {
        return Err(AppError::BadRequest("changes is empty".into()));
    }
    let source_region = body
        .source_region
        .unwrap_or_else(|| state.ctx.config.region.clone());
    caller.write(&state, run)?;
    let reply = op(
        &state,
        run,
        RunOp::ApplyBytes {
            bytes,
            source_region: source_region.clone(),
        },
        caller.user(),
    )
    .await?;
    Ok(Json(serde_json::json!({
        "runId": run,
        "applied": reply.changed,
        "sourceRegion": source_region,
        "lamportTimestamp": reply.state.lamport,
        "senderLamportTimestamp": body.lamport_timestamp,
        "region": state.ctx.config.region,
    })))
}

/// Body of `POST /api/crdt/runs`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateBody {
    #[serde(default)]
    run_id: Option<String>,
    #[serde(default)]
    title: String,
    #[serde(default)]
    steps: Vec<StepInput>,
}

/// A step given as its id alone or as `{id, name?, agent?}`.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum StepInput {
    /// `"step1"`
    Id(String),
    /// `{"id": "step1", "name": "Build"}`
    Full(StepSpec),
}

/// `POST /api/crdt/runs`: creates a run (a random id unless one is given).
pub async fn create_run(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateBody>,
) -> Result<impl IntoResponse, AppError> {
    let run = match &body.run_id {
        Some(id) => run_id(id)?,
        None => RunId::random(),
    };
    let steps = body
        .steps
        .into_iter()
        .map(|s| match s {
            StepInput::Id(id) => StepSpec::new(&id).map_err(AppError::from),
            StepInput::Full(spec) => Ok(spec),
        })
        .collect::<Result<Vec<_>, _>>()?;
    caller.write(&state, run)?;
    let reply = op(
        &state,
        run,
        RunOp::Create {
            title: body.title,
            steps,
        },
        caller.user(),
    )
    .await?;
    let body = serde_json::json!({
        "runId": run,
        "documentId": run.document_id().to_string(),
        "url": run.document_id().url(),
        "state": StateBody { state: reply.state, region: state.ctx.config.region.clone() },
    });
    Ok((StatusCode::CREATED, Json(body)))
}

/// Body of `POST /app/runs/{runId}/graft`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraftBody {
    after: String,
    agent_name: String,
}

/// `POST /app/runs/{runId}/graft`: grafts an agent (creating the run if it is new here).
pub async fn graft(
    State(state): State<AppState>,
    RunPath(run): RunPath,
    caller: Caller,
    JsonBody(body): JsonBody<GraftBody>,
) -> Result<impl IntoResponse, AppError> {
    caller.write(&state, run)?;
    let reply = op(
        &state,
        run,
        RunOp::Graft {
            after: body.after,
            agent_name: body.agent_name,
        },
        caller.user(),
    )
    .await?;
    let body = serde_json::json!({
        "graftId": reply.graft,
        "runId": run,
        "state": StateBody { state: reply.state, region: state.ctx.config.region.clone() },
    });
    Ok((StatusCode::CREATED, Json(body)))
}

/// Body of prune and restore.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeBody {
    node_id: String,
}

/// `POST /app/runs/{runId}/prune`
pub async fn prune(
    State(state): State<AppState>,
    RunPath(run): RunPath,
    caller: Caller,
    JsonBody(body): JsonBody<NodeBody>,
) -> Result<Json<StateBody>, AppError> {
    state_after(&state, run, RunOp::Prune { node: body.node_id }, &caller).await
}

/// `POST /app/runs/{runId}/restore`
pub async fn restore(
    State(state): State<AppState>,
    RunPath(run): RunPath,
    caller: Caller,
    JsonBody(body): JsonBody<NodeBody>,
) -> Result<Json<StateBody>, AppError> {
    state_after(&state, run, RunOp::Restore { node: body.node_id }, &caller).await
}

/// Body of `PUT …/flags/{key}`.
#[derive(Deserialize)]
pub struct FlagBody {
    value: serde_json::Value,
}

/// `PUT /app/runs/{runId}/flags/{key}`
pub async fn set_flag(
    State(state): State<AppState>,
    RunPath(run): RunPath,
    Path((_, key)): Path<(String, String)>,
    caller: Caller,
    JsonBody(body): JsonBody<FlagBody>,
) -> Result<Json<StateBody>, AppError> {
    let value = FlagValue::from_json(&key, &body.value)?;
    state_after(&state, run, RunOp::SetFlag { key, value }, &caller).await
}

/// `DELETE /app/runs/{runId}/flags/{key}`
pub async fn clear_flag(
    State(state): State<AppState>,
    RunPath(run): RunPath,
    Path((_, key)): Path<(String, String)>,
    caller: Caller,
) -> Result<Json<StateBody>, AppError> {
    state_after(&state, run, RunOp::ClearFlag { key }, &caller).await
}

/// `GET /api/crdt/runs`: the runs this relay stores.
pub async fn list_runs(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<impl IntoResponse, AppError> {
    let store = state.ctx.store.clone();
    let mut docs = tokio::task::spawn_blocking(move || store.list())
        .await
        .map_err(|_| AppError::Internal)?
        .map_err(|e| {
            tracing::error!(error = %e, "listing runs failed");
            AppError::Internal
        })?;
    docs.sort();
    let runs: Vec<_> = docs
        .into_iter()
        .filter(|d| caller.grants.access(RunId::from(*d)).is_some())
        .map(|d| serde_json::json!({ "runId": RunId::from(d), "documentId": d.to_string() }))
        .collect();
    Ok(Json(serde_json::json!({ "runs": runs })))
}
