//! [`JsonBody`]: a JSON request body, read whatever the Content-Type says (the seed's
//! curl commands send JSON without one), with errors that name what was wrong.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use crate::http::error::AppError;

/// A JSON body of type `T`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let bytes = read(req, state).await?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| AppError::BadRequest(format!("invalid JSON body: {e}")))
    }
}

/// A JSON body of type `T` whose strings may hold raw line breaks, read as spaces: the
/// seed's disaster-recovery command puts `$(base64 snapshot.bin)` inside a JSON string,
/// and GNU base64 wraps its output every 76 columns. Only for bodies whose strings are
/// base64 (which skips the spaces); elsewhere a raw line break stays an error.
#[derive(Debug)]
pub struct WrappedJsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for WrappedJsonBody<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let bytes = read(req, state).await?;
        let strict = serde_json::from_slice(&bytes);
        let lenient = |e| {
            if !bytes.iter().any(|b| matches!(b, b'\n' | b'\r')) {
                return Err(e);
            }
            let spaced: Vec<u8> = bytes
                .iter()
                .map(|&b| if matches!(b, b'\n' | b'\r') { b' ' } else { b })
                .collect();
            serde_json::from_slice(&spaced).map_err(|_| e)
        };
        strict
            .or_else(lenient)
            .map(WrappedJsonBody)
            .map_err(|e| AppError::BadRequest(format!("invalid JSON body: {e}")))
    }
}

async fn read<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, AppError> {
    let bytes = Bytes::from_request(req, state)
        .await
        .map_err(|e| AppError::BadRequest(format!("could not read the request body: {e}")))?;
    if bytes.is_empty() {
        return Err(AppError::BadRequest(
            "request body is empty: expected a JSON object".into(),
        ));
    }
    Ok(bytes)
}
