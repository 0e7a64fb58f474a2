//! [`AppError`]: every HTTP error, as JSON `{error, message}` that says what was wrong
//! without leaking internals.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use runmesh_core::RunError;
use runmesh_core::hub::OpError;

/// An HTTP error response.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request was malformed (bad id, bad JSON, bad base64, invalid value).
    #[error("{0}")]
    BadRequest(String),
    /// The run (or route) does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with what exists.
    #[error("{0}")]
    Conflict(String),
    /// Well-formed but refused (unknown anchor or node).
    #[error("{0}")]
    Unprocessable(String),
    /// The run would grow past its size limit.
    #[error("{0}")]
    TooLarge(String),
    /// No credential, or one that does not verify.
    #[error("{0}")]
    Unauthorized(String),
    /// The credential does not grant this.
    #[error("{0}")]
    Forbidden(String),
    /// The client did not send its request body in time.
    #[error("{0}")]
    Timeout(String),
    /// The caller's allowance is spent (changes, reads or forks).
    #[error("{0}")]
    RateLimited(crate::limits::Limited),
    /// The change could not be made durable; retry later.
    #[error("{0}")]
    Unavailable(String),
    /// Something failed inside the relay; details are in its log.
    #[error("internal error; see the relay's log")]
    Internal,
}

impl AppError {
    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::Unprocessable(_) => (StatusCode::UNPROCESSABLE_ENTITY, "unprocessable"),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Self::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            Self::Timeout(_) => (StatusCode::REQUEST_TIMEOUT, "timeout"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            Self::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = self.parts();
        let body = crate::http::bodies::Failure {
            error: code,
            message: self.to_string(),
        };
        let mut response = (status, Json(body)).into_response();
        if let Self::RateLimited(limited) = &self {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, limited.retry_secs().into());
        }
        response
    }
}

impl From<crate::auth::Denied> for AppError {
    fn from(denied: crate::auth::Denied) -> Self {
        Self::Forbidden(denied.to_string())
    }
}

impl From<OpError> for AppError {
    fn from(e: OpError) -> Self {
        match e {
            OpError::NotFound => Self::NotFound("run not found".into()),
            OpError::TooLarge { .. } => Self::TooLarge(e.to_string()),
            OpError::MemoryFull(why) => Self::Unavailable(why),
            // Not loaded for want of memory (`--max-loaded-bytes`): a later try may fit.
            OpError::Unreadable(why) if why.contains("--max-loaded-bytes") => {
                Self::Unavailable(why)
            }
            OpError::Exists | OpError::NotARun => Self::Conflict(e.to_string()),
            OpError::Run(e) => e.into(),
            OpError::Storage(why) => {
                tracing::error!(%why, "storage failure answered with 503");
                Self::Unavailable(
                    "the change could not be stored; nothing was applied durably, retry later"
                        .into(),
                )
            }
            OpError::Unreadable(why) => {
                tracing::error!(%why, "unreadable stored document");
                Self::Internal
            }
        }
    }
}

impl From<RunError> for AppError {
    fn from(e: RunError) -> Self {
        match e {
            RunError::UnknownAnchor { .. }
            | RunError::UnknownNode { .. }
            | RunError::UnknownHeads { .. }
            | RunError::CannotUndo { .. }
            | RunError::RetractedAnchor { .. }
            | RunError::Unrelated { .. } => Self::Unprocessable(e.to_string()),
            RunError::Superseded { .. } => Self::Conflict(e.to_string()),
            RunError::Automerge(_) => {
                tracing::error!(error = %e, "automerge refused an operation runmesh had checked");
                Self::Internal
            }
            other => Self::BadRequest(other.to_string()),
        }
    }
}
