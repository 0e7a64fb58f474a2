//! [`RunPath`]: the `{run_id}` path segment, parsed before the body is read so a bad id
//! is the error reported. A run may be named by its UUID or by its automerge-repo
//! document id (the same 16 bytes in bs58check).

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use runmesh_core::{DocumentId, InvalidRunId, RunId};

use crate::http::error::AppError;

/// A run id taken from the path.
#[derive(Debug, Clone, Copy)]
pub struct RunPath(pub RunId);

impl<S: Send + Sync> FromRequestParts<S> for RunPath {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let Path(params) = Path::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|e| AppError::BadRequest(e.to_string()))?;
        let text = params
            .iter()
            .find(|(k, _)| k == "run_id")
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| AppError::BadRequest("no run id in the path".into()))?;
        if let Ok(doc) = text.parse::<DocumentId>() {
            return Ok(RunPath(RunId::from(doc)));
        }
        text.parse()
            .map(RunPath)
            .map_err(|e: InvalidRunId| AppError::BadRequest(e.to_string()))
    }
}
