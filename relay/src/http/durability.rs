//! `GET /api/crdt/runs/{runId}/durability[?heads=<heads>]`: which regions' stores hold a
//! run's changes, as this relay knows from what the mesh's relays told it
//! (`runmesh_core::reach`).

use axum::Json;
use axum::extract::State;
use runmesh_core::RunId;
use serde::Serialize;

use crate::http::caller::Caller;
use crate::http::error::AppError;
use crate::http::heads;
use crate::http::path::RunPath;
use crate::http::query::Query;
use crate::http::reads::read;
use crate::runs::{Documents, Read};

/// The answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DurabilityBody {
    pub run_id: RunId,
    /// The changes asked about (hex): `heads`, or the heads stored here.
    pub heads: Vec<String>,
    /// The regions whose stores hold every one of them, sorted.
    pub regions: Vec<String>,
}

/// Answers which regions hold the changes `heads` names (default: what this relay
/// stored). A change no region is known to hold, or that this relay has not seen, is held
/// by none.
pub async fn get_durability(
    State(docs): State<Documents>,
    RunPath(run): RunPath,
    caller: Caller,
    Query(query): Query,
) -> Result<Json<DurabilityBody>, AppError> {
    caller.read(run)?;
    let params = heads::params(query.as_deref(), &["heads"])?;
    let wanted = params
        .first()
        .map(|(name, value)| heads::parse(name, value))
        .transpose()?;
    let durability = read(&docs, run, |reply| Read::Durability(wanted, reply)).await??;
    Ok(Json(DurabilityBody {
        run_id: run,
        heads: durability.heads.iter().map(ToString::to_string).collect(),
        regions: durability.regions,
    }))
}
