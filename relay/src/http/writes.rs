//! The run changes: the spec's `POST /api/crdt/runs`, `POST …/sync` and `/app/runs/…`
//! paths. Each is one operation on the run's task, answered once it is durable.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use runmesh_core::hub::{OpReply, RunOp};
use runmesh_core::{FlagValue, MAX_LABEL_BYTES, RunId, StepSpec};
use serde::Deserialize;
use tokio::sync::oneshot;

use crate::auth::Access;
use crate::http::answer::{Wanted, answer};
use crate::http::bodies::{Created, Grafted, Synced, Touched, hex};
use crate::http::body::{JsonBody, WrappedJsonBody};
use crate::http::caller::Caller;
use crate::http::error::AppError;
use crate::http::path::RunPath;
use crate::http::state::AppState;
use crate::runs::DocCmd;

/// `text` as a run id, or a 400 saying why not.
pub(crate) fn run_id(text: &str) -> Result<RunId, AppError> {
    text.parse()
        .map_err(|e: runmesh_core::InvalidRunId| AppError::BadRequest(e.to_string()))
}

/// Runs `op` on `run`'s task for `user` and waits for its answer (durable).
pub(crate) async fn op(
    state: &AppState,
    run: RunId,
    op: RunOp,
    user: String,
) -> Result<OpReply, AppError> {
    let (reply, rx) = oneshot::channel();
    let cmd = DocCmd::Op { op, user, reply };
    state.docs.send(run.document_id(), cmd).await;
    rx.await
        .map_err(|_| AppError::Internal)?
        .map_err(AppError::from)
}

/// Runs `change` on `run` for a caller who may write it.
async fn change(
    state: &AppState,
    run: RunId,
    change: RunOp,
    caller: &Caller,
) -> Result<OpReply, AppError> {
    caller.write(state, run)?;
    op(state, run, change, caller.user()).await
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
    WrappedJsonBody(body): WrappedJsonBody<SyncBody>,
) -> Result<impl IntoResponse, AppError> {
    caller
        .grants
        .check(run, Access::Write)
        .map_err(AppError::from)?;
    // Line breaks (as `base64` wraps its output) arrive as spaces; base64 has none.
    let text: String = body.changes.split_ascii_whitespace().collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&text)
        .map_err(|e| AppError::BadRequest(format!("changes is not valid base64: {e}")))?;
    if bytes.is_empty() {
        return Err(AppError::BadRequest("changes is empty".into()));
    }
    let source_region = body
        .source_region
        .unwrap_or_else(|| state.region.to_string());
    if source_region.is_empty()
        || source_region.len() > MAX_LABEL_BYTES
        || source_region.chars().any(char::is_control)
    {
        return Err(AppError::BadRequest(format!(
            "sourceRegion must be 1 to {MAX_LABEL_BYTES} bytes without control characters \
             (got {} bytes)",
            source_region.len()
        )));
    }
    caller.write(&state, run)?;
    // Each change of the body counts (a document's too), as each change of a socket's
    // sync message does: bodies of 30,000 changes, or a 640-byte document of 64,000, were
    // one unit each and cost the relay minutes.
    let more = runmesh_core::bounds::change_count(&bytes).saturating_sub(1);
    if more > 0 {
        let more = u32::try_from(more).unwrap_or(u32::MAX);
        caller.spend_n(&state, &state.limits.changes, more)?;
    }
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
    Ok(Json(Synced {
        run_id: run,
        applied: reply.changed,
        source_region: &source_region,
        lamport_timestamp: reply.lamport,
        sender_lamport_timestamp: body.lamport_timestamp,
        region: &state.region,
    })
    .into_response())
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
    wanted: Wanted,
    JsonBody(body): JsonBody<CreateBody>,
) -> Result<Response, AppError> {
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
    let body = Created::new(run, &reply.heads);
    Ok(answer(&state, run, wanted, StatusCode::CREATED, body).await)
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
    wanted: Wanted,
    JsonBody(body): JsonBody<GraftBody>,
) -> Result<Response, AppError> {
    let graft = RunOp::Graft {
        after: body.after,
        agent_name: body.agent_name,
    };
    let reply = change(&state, run, graft, &caller).await?;
    let body = Grafted {
        graft_id: reply.graft,
        run_id: run,
        heads: hex(&reply.heads),
    };
    Ok(answer(&state, run, wanted, StatusCode::CREATED, body).await)
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
    wanted: Wanted,
    JsonBody(body): JsonBody<NodeBody>,
) -> Result<Response, AppError> {
    let node = body.node_id;
    let reply = change(&state, run, RunOp::Prune { node: node.clone() }, &caller).await?;
    let body = touched(run, Some(&node), None, &reply);
    Ok(answer(&state, run, wanted, StatusCode::OK, body).await)
}

/// `POST /app/runs/{runId}/restore`
pub async fn restore(
    State(state): State<AppState>,
    RunPath(run): RunPath,
    caller: Caller,
    wanted: Wanted,
    JsonBody(body): JsonBody<NodeBody>,
) -> Result<Response, AppError> {
    let node = body.node_id;
    let reply = change(&state, run, RunOp::Restore { node: node.clone() }, &caller).await?;
    let body = touched(run, Some(&node), None, &reply);
    Ok(answer(&state, run, wanted, StatusCode::OK, body).await)
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
    wanted: Wanted,
    JsonBody(body): JsonBody<FlagBody>,
) -> Result<Response, AppError> {
    let value = FlagValue::from_json(&key, &body.value)?;
    let set = RunOp::SetFlag {
        key: key.clone(),
        value,
    };
    let reply = change(&state, run, set, &caller).await?;
    let body = touched(run, None, Some(&key), &reply);
    Ok(answer(&state, run, wanted, StatusCode::OK, body).await)
}

/// `DELETE /app/runs/{runId}/flags/{key}`
pub async fn clear_flag(
    State(state): State<AppState>,
    RunPath(run): RunPath,
    Path((_, key)): Path<(String, String)>,
    caller: Caller,
    wanted: Wanted,
) -> Result<Response, AppError> {
    let clear = RunOp::ClearFlag { key: key.clone() };
    let reply = change(&state, run, clear, &caller).await?;
    let body = touched(run, None, Some(&key), &reply);
    Ok(answer(&state, run, wanted, StatusCode::OK, body).await)
}

/// What a change to one node or flag answers: `{runId, <what>: id, changed, heads}`
/// (`changed` is false when it was already so: a prune of a pruned node).
fn touched<'a>(
    run: RunId,
    node_id: Option<&'a str>,
    key: Option<&'a str>,
    reply: &OpReply,
) -> Touched<'a> {
    Touched {
        run_id: run,
        node_id,
        key,
        changed: reply.changed,
        heads: hex(&reply.heads),
    }
}
