//! Changing a run's past: `POST …/undo`, `POST …/fork` and `POST …/merge`.
//!
//! Undo is one operation on the run. A fork reads the source run (read access) and
//! creates the new run from what it returns (write access on the new run). A merge reads
//! the other run (read access) and takes its changes into this one (write access).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use runmesh_core::hub::RunOp;
use runmesh_core::{ChangeHash, RunId};
use serde::Deserialize;
use tokio::sync::oneshot;

use crate::http::answer::{Wanted, answer};
use crate::http::bodies::{Created, ForkOf, Merged, Undone, hex};
use crate::http::body::{JsonBody, SmallBody};
use crate::http::caller::Caller;
use crate::http::error::AppError;
use crate::http::heads;
use crate::http::path::RunPath;
use crate::http::reads::held;
use crate::http::state::AppState;
use crate::http::writes::{op, run_id};
use crate::runs::{DocCmd, Read};

/// Body of `POST …/undo`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UndoBody {
    /// The change to undo (hex hash, as the history lists it).
    change: String,
}

/// `POST /api/crdt/runs/{runId}/undo {"change": "<hash>"}`: one new change that reverses
/// the change named. 400 for a malformed hash, 404 for a run that is not here, 422 for a
/// change the run lacks or one that cannot be undone, 409 when a later change superseded
/// it.
pub async fn undo(
    State(state): State<AppState>,
    RunPath(run): RunPath,
    caller: Caller,
    wanted: Wanted,
    JsonBody(body): JsonBody<UndoBody>,
) -> Result<Response, AppError> {
    let change = one_hash("change", &body.change)?;
    caller.write(&state, run)?;
    let reply = op(&state, run, RunOp::Undo { change }, caller.user()).await?;
    let body = Undone {
        run_id: run,
        undone: change.to_string(),
        change: reply.change.map(|h| h.to_string()),
        heads: hex(&reply.heads),
    };
    Ok(answer(&state, run, wanted, StatusCode::OK, body).await)
}

/// Body of `POST …/fork`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ForkBody {
    /// Where in the run's past the fork starts (heads, comma separated); now if absent.
    #[serde(default)]
    at: Option<String>,
    /// The new run's id; a random one if absent.
    #[serde(default)]
    run_id: Option<String>,
}

/// `POST /api/crdt/runs/{runId}/fork {"at"?: "<heads>", "runId"?: "<uuid>"}`: a new run
/// sharing this run's history up to `at`; 201 with the new run. Needs read access to the
/// run and write access to the new one; 404 if the run is not here, 409 if the new id is
/// taken, 429 past `--fork-limit-per-minute` forks by the caller.
pub async fn fork(
    State(state): State<AppState>,
    RunPath(run): RunPath,
    caller: Caller,
    wanted: Wanted,
    SmallBody(body): SmallBody,
) -> Result<Response, AppError> {
    // No body at all forks the run as it is now, under a random id.
    let body: ForkBody = if body.iter().all(u8::is_ascii_whitespace) {
        ForkBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| AppError::BadRequest(format!("invalid JSON body: {e}")))?
    };
    let at = body
        .at
        .as_deref()
        .map(|at| heads::parse("at", at))
        .transpose()?;
    let new = match &body.run_id {
        Some(id) => run_id(id)?,
        None => RunId::random(),
    };
    if new == run {
        return Err(AppError::BadRequest(
            "runId: a fork needs a new run id, not the id of the run it forks".into(),
        ));
    }
    caller.read(run)?;
    caller.write(&state, new)?;
    caller.spend(&state, &state.limits.forks)?;
    held(&state.docs, run).await?;
    let (reply, rx) = oneshot::channel();
    let user = caller.user();
    let read = Read::Fork {
        new,
        at,
        user: user.clone(),
        reply,
    };
    state.docs.send(run.document_id(), DocCmd::Read(read)).await;
    let bytes = rx.await.map_err(|_| AppError::Internal)??;
    let reply = op(&state, new, RunOp::Adopt { bytes }, user).await?;
    let body = Created {
        fork_of: Some(ForkOf { run_id: run }),
        ..Created::new(new, &reply.heads)
    };
    Ok(answer(&state, new, wanted, StatusCode::CREATED, body).await)
}

/// Body of `POST …/merge`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    /// The run whose changes to take in.
    from: String,
}

/// `POST /api/crdt/runs/{runId}/merge {"from": "<runId>"}`: takes in every change of
/// `from` (a fork of this run, or the run this one was forked from). Needs write access
/// here and read access to `from`; 422 if the two share no history.
pub async fn merge(
    State(state): State<AppState>,
    RunPath(run): RunPath,
    caller: Caller,
    wanted: Wanted,
    JsonBody(body): JsonBody<MergeBody>,
) -> Result<Response, AppError> {
    let from = run_id(&body.from).map_err(|e| AppError::BadRequest(format!("from: {e}")))?;
    if from == run {
        return Err(AppError::BadRequest(
            "from: a run cannot merge from itself".into(),
        ));
    }
    caller.read(from)?;
    caller.write(&state, run)?;
    held(&state.docs, from).await.map_err(|e| match e {
        AppError::NotFound(_) => AppError::NotFound(format!("from: run {from} not found")),
        other => other,
    })?;
    let (reply, rx) = oneshot::channel();
    state
        .docs
        .send(from.document_id(), DocCmd::Read(Read::Changes(reply)))
        .await;
    let bytes = rx
        .await
        .map_err(|_| AppError::Internal)?
        .map_err(|e| match e {
            runmesh_core::hub::OpError::NotFound => {
                AppError::NotFound(format!("from: run {from} not found"))
            }
            other => AppError::from(other),
        })?;
    let bytes = bytes.to_vec();
    let reply = op(&state, run, RunOp::Merge { from, bytes }, caller.user()).await?;
    let body = Merged {
        run_id: run,
        from,
        merged: reply.changed,
        heads: hex(&reply.heads),
    };
    Ok(answer(&state, run, wanted, StatusCode::OK, body).await)
}

/// `value` as exactly one change hash, or a 400 naming `name`.
fn one_hash(name: &str, value: &str) -> Result<ChangeHash, AppError> {
    match heads::parse(name, value)?.as_slice() {
        [one] => Ok(*one),
        _ => Err(AppError::BadRequest(format!(
            "{name}: name one change (64 hex digits), not several"
        ))),
    }
}
