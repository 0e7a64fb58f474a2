//! Who may do what: JWTs for people (`--jwt-secret` HS256, or `--jwt-public-key` RS256 /
//! ES256), a shared token for mesh peers (`--mesh-token`, optionally only from
//! `--mesh-allow` addresses), or nothing at all in open mode (loud at start-up).
//!
//! A token's `runs` claim maps a run UUID (or `*`) to `read` or `write`; `write` implies
//! `read`. Browsers pass the token as the `token` query parameter (a WebSocket and an
//! `EventSource` cannot set headers), accepted on every route; other clients may send
//! `Authorization: Bearer <token>`. A token with an `nbf` still ahead is refused. A
//! stream or socket opened with a token ends when the token expires or a key reload no
//! longer verifies it ([`Lease`]).

mod error;
mod keys;
mod lease;
mod verifier;

pub use error::AuthError;
pub use keys::{KeyError, LEEWAY_SECS};
pub use lease::{Lease, LeaseEnd};
pub use runmesh_core::node::{Access, Denied, Grants};
pub(crate) use verifier::constant_time_eq;
pub use verifier::{AuthConfig, Verified, Verifier};

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;

/// The credential a request carries: `Authorization: Bearer …` or `?token=…`.
pub fn credential<'a>(headers: &'a HeaderMap, query: Option<&'a str>) -> Option<&'a str> {
    if let Some(bearer) = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some(bearer.trim());
    }
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == "token")
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// Re-reads `--jwt-keys` each time the process gets SIGHUP, until `shutdown`.
pub fn reload_on_hangup(verifier: Verifier, shutdown: tokio_util::sync::CancellationToken) {
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hangups) = signal(SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP; --jwt-keys is read at start-up only");
            return;
        };
        loop {
            tokio::select! {
                Some(()) = hangups.recv() => match verifier.reload() {
                    Ok(keys) => tracing::info!(keys, "SIGHUP: verification keys reloaded"),
                    Err(e) => tracing::error!(error = %e, "SIGHUP: keys not reloaded; the old ones stay"),
                },
                () = shutdown.cancelled() => return,
            }
        }
    });
    #[cfg(not(unix))]
    let _ = (verifier, shutdown);
}
