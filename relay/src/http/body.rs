//! Request bodies: [`JsonBody`], [`WrappedJsonBody`] and [`SmallBody`], read whatever the
//! Content-Type says (the seed's curl commands send JSON without one), under a size limit
//! per kind of route and a deadline for the whole body ([`BodyLimits`]), with errors that
//! name what was wrong and the limit.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, Request};
use axum::http::header::CONTENT_LENGTH;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::http::error::AppError;

/// How large a request body may be, and how long reading it may take.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    /// Largest body of the small JSON routes.
    pub json_bytes: usize,
    /// Largest body of `POST …/sync`, which carries whole documents.
    pub sync_bytes: usize,
    /// Time for the whole body, from the first read: a client trickling a byte at a time
    /// does not hold the handler (and its connection) for longer.
    pub read_timeout: Duration,
}

/// Which limit a body is read under.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Json,
    Sync,
}

impl BodyLimits {
    fn of(&self, kind: Kind) -> (usize, &'static str) {
        match kind {
            Kind::Json => (self.json_bytes, "--max-json-body-bytes"),
            Kind::Sync => (self.sync_bytes, "--max-sync-body-bytes"),
        }
    }
}

/// A JSON body of type `T`, under the JSON routes' limit.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    BodyLimits: FromRef<S>,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let bytes = non_empty(read(req, BodyLimits::from_ref(state), Kind::Json).await?)?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| AppError::BadRequest(format!("invalid JSON body: {e}")))
    }
}

/// The raw bytes of a body that may be empty (`POST …/fork`), under the JSON routes' limit.
#[derive(Debug)]
pub struct SmallBody(pub Bytes);

impl<S> FromRequest<S> for SmallBody
where
    S: Send + Sync,
    BodyLimits: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        read(req, BodyLimits::from_ref(state), Kind::Json)
            .await
            .map(SmallBody)
    }
}

/// A JSON body of type `T` whose strings may hold raw line breaks, read as spaces: the
/// seed's disaster-recovery command puts `$(base64 snapshot.bin)` inside a JSON string,
/// and GNU base64 wraps its output every 76 columns. Only for bodies whose strings are
/// base64 (which skips the spaces); elsewhere a raw line break stays an error. Read under
/// the `/sync` limit: it carries whole documents.
#[derive(Debug)]
pub struct WrappedJsonBody<T>(pub T);

impl<S, T> FromRequest<S> for WrappedJsonBody<T>
where
    S: Send + Sync,
    BodyLimits: FromRef<S>,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let bytes = non_empty(read(req, BodyLimits::from_ref(state), Kind::Sync).await?)?;
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

/// The whole body, refused as soon as it is known to be over the limit: from its declared
/// length before reading anything, else once the bytes read pass it.
async fn read(req: Request, limits: BodyLimits, kind: Kind) -> Result<Bytes, AppError> {
    let (limit, flag) = limits.of(kind);
    let too_large = || {
        AppError::TooLarge(format!(
            "request body is larger than {limit} bytes, the limit of this route ({flag})"
        ))
    };
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(too_large());
    }
    let mut chunks = req.into_body().into_data_stream();
    // Not sized from the declared length: a client could declare the limit and send
    // nothing, and the relay would hold that much per connection.
    let mut body = Vec::new();
    let whole = async {
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk.map_err(|e| {
                AppError::BadRequest(format!("could not read the request body: {e}"))
            })?;
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(())
    };
    let outcome = tokio::time::timeout(limits.read_timeout, whole).await;
    match outcome {
        Ok(read) => read.map(|()| Bytes::from(body)),
        Err(_) => Err(AppError::Timeout(format!(
            "the request body did not arrive whole within {} s (--body-read-timeout-secs)",
            limits.read_timeout.as_secs_f64()
        ))),
    }
}

fn non_empty(bytes: Bytes) -> Result<Bytes, AppError> {
    if bytes.is_empty() {
        return Err(AppError::BadRequest(
            "request body is empty: expected a JSON object".into(),
        ));
    }
    Ok(bytes)
}
