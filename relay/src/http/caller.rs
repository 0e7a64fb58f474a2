//! [`Caller`]: who is making a request, from its token (or, in open mode, the
//! `X-Runmesh-User` header), what they may do, and whose rate allowance they spend.

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::Method;
use axum::http::request::Parts;
use runmesh_core::{MAX_LABEL_BYTES, RunId};

use crate::auth::{self, Access, Grants, Lease};
use crate::http::error::AppError;
use crate::http::state::AppState;
use crate::limits::{Budget, Who, client_ip};
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
    /// Whose rate allowance the caller spends: the token's subject, else the client's
    /// address (a claimed user name is anyone's to change, so it is not the key).
    pub who: Who,
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
        let peer = parts
            .extensions
            .get::<ConnectInfo<PeerAddr>>()
            .map(|c| c.0.0.ip());
        let credential = auth::credential(&parts.headers, parts.uri.query());
        let verified = state
            .verifier
            .verify(credential, peer)
            .map_err(|e| AppError::Unauthorized(e.to_string()))?;
        let grants = verified.grants;
        let header_user = claimed_user(parts)?;
        let who = match grants.user() {
            Some(sub) => Who::Subject(sub.to_owned()),
            None => Who::address(client_ip(
                peer,
                &parts.headers,
                &state.limits.trusted_proxies,
            )),
        };
        let caller = Self {
            grants,
            header_user,
            who,
            ip: peer,
            credential: credential.map(str::to_owned),
            expires: verified.expires,
        };
        if matches!(parts.method, Method::GET | Method::HEAD) {
            caller.spend(state, &state.limits.reads)?;
        }
        Ok(caller)
    }
}

/// The user named by `X-Runmesh-User`, checked before anything uses it: a name the runs
/// could not record (over core's label limit, control characters, not UTF-8) is a 400.
fn claimed_user(parts: &Parts) -> Result<Option<String>, AppError> {
    let Some(value) = parts.headers.get(USER_HEADER) else {
        return Ok(None);
    };
    let bad = || {
        AppError::BadRequest(format!(
            "{USER_HEADER} must be 1 to {MAX_LABEL_BYTES} bytes of text without control \
             characters (got {} bytes)",
            value.len()
        ))
    };
    if value.len() > MAX_LABEL_BYTES {
        return Err(bad());
    }
    let name = value.to_str().map_err(|_| bad())?.trim();
    if name.chars().any(char::is_control) {
        return Err(bad());
    }
    Ok((!name.is_empty()).then(|| name.to_owned()))
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

    /// Refuses unless the caller may change `run` and has change allowance left.
    pub fn write(&self, state: &AppState, run: RunId) -> Result<(), AppError> {
        self.grants
            .check(run, Access::Write)
            .map_err(AppError::from)?;
        if !self.grants.is_mesh() {
            // A caller past its share of memory (the runs its sockets and feeds hold)
            // may not grow runs over REST either.
            let shares = &state.sessions.holdings;
            shares.check_now(&self.who).map_err(AppError::Unavailable)?;
        }
        self.spend(state, &state.limits.changes)
    }

    /// Takes one from the caller's allowance in `budget` (mesh peers have no limit).
    pub fn spend(&self, state: &AppState, budget: &Budget) -> Result<(), AppError> {
        self.spend_n(state, budget, 1)
    }

    /// Takes `n` from the caller's allowance in `budget` (mesh peers have no limit).
    pub fn spend_n(&self, state: &AppState, budget: &Budget, n: u32) -> Result<(), AppError> {
        if self.grants.is_mesh() {
            return Ok(());
        }
        budget.take(&self.who, n).map_err(|limited| {
            state.metrics.rate_limited();
            AppError::RateLimited(limited)
        })
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
