//! [`Lease`]: how long a stream or session opened with a credential may go on. A
//! request is checked once; an SSE stream or a WebSocket lives on, so it holds a lease
//! that ends when its token expires (the moment a new request with it would be refused)
//! or when a reload of the keys no longer verifies it (its key was removed).

use std::net::IpAddr;
use std::time::SystemTime;

use crate::auth::error::AuthError;
use crate::auth::verifier::Verifier;

/// Why a lease ended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeaseEnd {
    /// The token's `exp` (plus the clock leeway) passed.
    #[error("token expired")]
    Expired,
    /// The keys were reloaded and none of them verifies the token any more.
    #[error("token no longer accepted after the keys were reloaded ({0})")]
    Revoked(AuthError),
}

/// A credential checked when a stream or session opened, and until when it holds.
#[derive(Clone, Debug)]
pub struct Lease {
    verifier: Verifier,
    credential: Option<String>,
    from: Option<IpAddr>,
    expires: Option<SystemTime>,
}

impl Lease {
    /// The lease of `credential`, presented from `from`, verified to hold until `expires`.
    pub fn new(
        verifier: Verifier,
        credential: Option<String>,
        from: Option<IpAddr>,
        expires: Option<SystemTime>,
    ) -> Self {
        Self {
            verifier,
            credential,
            from,
            expires,
        }
    }

    /// Resolves when the lease ends, with why; never, for a credential that does not
    /// expire and that every reload still verifies.
    pub async fn ended(&self) -> LeaseEnd {
        // Open mode and the mesh token: nothing to expire, and no reload changes them.
        let Some(expires) = self.expires else {
            return std::future::pending().await;
        };
        let mut reloads = self.verifier.reloads();
        let expiry = async {
            let left = expires
                .duration_since(SystemTime::now())
                .unwrap_or_default();
            tokio::time::sleep(left).await;
        };
        let revoked = async {
            while reloads.changed().await.is_ok() {
                match self.verifier.verify(self.credential.as_deref(), self.from) {
                    Ok(_) => {}
                    Err(AuthError::Expired) => return LeaseEnd::Expired,
                    Err(e) => return LeaseEnd::Revoked(e),
                }
            }
            std::future::pending().await
        };
        tokio::select! {
            () = expiry => LeaseEnd::Expired,
            end = revoked => end,
        }
    }
}
