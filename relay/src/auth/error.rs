//! [`AuthError`]: why a credential was refused.

use std::net::IpAddr;

/// Why a credential was refused (401).
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    /// Auth is on and the request carries nothing.
    #[error("missing token: pass it as ?token=… or Authorization: Bearer …")]
    Missing,
    /// The JWT expired.
    #[error("token expired")]
    Expired,
    /// The JWT's `nbf` is still ahead.
    #[error("token not valid yet (its nbf is in the future)")]
    NotYetValid,
    /// The JWT failed verification or its claims are malformed.
    #[error("invalid token: {0}")]
    Invalid(String),
    /// The mesh token from an address not in the allowlist.
    #[error("mesh token presented from {0}, which is not in --mesh-allow")]
    NotAllowed(IpAddr),
}
