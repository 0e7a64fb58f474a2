//! [`Caller`]: who is making a request, from its token (or, in open mode, the
//! `X-Runmesh-User` header), and what they may do.

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use runmesh_core::RunId;

use crate::auth::{self, Access, Grants, Lease};
use crate::http::error::AppError;
use crate::http::state::AppState;
use crate::tls::PeerAddr;

/// The header naming the user a REST change is made for in open mode (with auth, the
/// token's `sub`).
pub const USER_HEADER: &str = "x-runmesh-user";

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// What the credential grants.
    pub grants: Grants,
    header_user: Option<String>,
    /// The client's address, when known.
    ip: Option<std::net::IpAddr>,
    /// The credential presented, and when it stops being accepted: a stream or socket
    /// opened with it ends then ([`Caller::lease`]).
    credential: Option<String>,
    expires: Option<std::time::SystemTime>,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<PeerAddr>>()
            .map(|c| c.0.0.ip());
        let credential = auth::credential(&parts.headers, parts.uri.query());
        let verified = state
            .verifier
            .verify(credential, ip)
            .map_err(|e| AppError::Unauthorized(e.to_string()))?;
        let header_user = parts
            .headers
            .get(USER_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned);
        Ok(Self {
            grants: verified.grants,
            header_user,
            ip,
            credential: credential.map(str::to_owned),
            expires: verified.expires,
        })
    }
}

impl Caller {
    /// How long a stream or socket this caller opens may go on.
    pub fn lease(&self, state: &AppState) -> Lease {
        Lease::new(
            state.verifier.clone(),
            self.credential.clone(),
            self.ip,
            self.expires,
        )
    }

    /// The user changes are made for: the token's `sub`, else the header (open mode).
    pub fn user(&self) -> String {
        self.grants
            .user()
            .map(str::to_owned)
            .or_else(|| self.header_user.clone())
            .unwrap_or_else(|| "anonymous".to_owned())
    }

    /// Refuses unless the caller may read `run`.
    pub fn read(&self, run: RunId) -> Result<(), AppError> {
        self.grants.check(run, Access::Read).map_err(AppError::from)
    }

    /// Refuses unless the caller may change `run` and has rate allowance left (mesh
    /// peers have no limit).
    pub fn write(&self, state: &AppState, run: RunId) -> Result<(), AppError> {
        self.grants
            .check(run, Access::Write)
            .map_err(AppError::from)?;
        if !self.grants.is_mesh() {
            // Without a token anyone may claim any user name: in open mode the allowance
            // is per name per client address.
            let key = match (self.grants.user(), self.ip) {
                (Some(user), _) => user.to_owned(),
                (None, Some(ip)) => format!("{}@{ip}", self.user()),
                (None, None) => self.user(),
            };
            state.limits.take(&key, 1).map_err(|limited| {
                state.metrics.rate_limited();
                AppError::RateLimited(limited)
            })?;
        }
        Ok(())
    }

    /// Refuses unless the caller may act on every run.
    pub fn admin(&self, need: Access) -> Result<(), AppError> {
        if self.grants.is_admin(need) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "this needs a token granting {} on every run (\"*\") or the mesh token",
                if need == Access::Write {
                    "write"
                } else {
                    "read"
                }
            )))
        }
    }
}
