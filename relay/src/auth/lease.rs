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

    /// Whether the lease can end at all (a token; not open mode or the mesh token).
    pub fn can_end(&self) -> bool {
        self.expires.is_some()
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

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};

    use super::*;
    use crate::auth::AuthConfig;

    fn signed(secret: &str, exp: u64) -> String {
        let claims = serde_json::json!({ "sub": "ada", "exp": exp, "runs": { "*": "read" } });
        let key = EncodingKey::from_secret(secret.as_bytes());
        encode(&Header::new(Algorithm::HS256), &claims, &key).unwrap()
    }

    fn now() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    #[tokio::test]
    async fn a_lease_ends_when_a_reload_drops_its_key_and_not_before() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("keys");
        let (old, new) = ("old-secret-of-16-bytes", "new-secret-of-16-bytes");
        std::fs::write(&file, format!("hs256 {old}\n")).unwrap();
        let verifier = Verifier::new(&AuthConfig {
            jwt_keys: Some(file.clone()),
            ..Default::default()
        })
        .unwrap();
        let token = signed(old, now() + 600);
        let verified = verifier.verify(Some(&token), None).unwrap();
        let lease = Lease::new(verifier.clone(), Some(token), None, verified.expires);
        assert!(lease.can_end());
        let ended = tokio::spawn(async move { lease.ended().await });

        std::fs::write(&file, format!("hs256 {old}\nhs256 {new}\n")).unwrap();
        verifier.reload().unwrap();
        tokio::task::yield_now().await;
        assert!(!ended.is_finished(), "the old key still verifies it");
        std::fs::write(&file, format!("hs256 {new}\n")).unwrap();
        verifier.reload().unwrap();
        let end = tokio::time::timeout(Duration::from_secs(10), ended)
            .await
            .expect("the lease ends after the reload")
            .unwrap();
        assert!(
            matches!(end, LeaseEnd::Revoked(AuthError::Invalid(_))),
            "{end:?}"
        );
        assert!(
            end.to_string()
                .starts_with("token no longer accepted after the keys were reloaded")
        );
    }

    #[test]
    fn open_mode_and_the_mesh_token_never_end() {
        let open = Verifier::new(&AuthConfig::default()).unwrap();
        let verified = open.verify(None, None).unwrap();
        assert!(!Lease::new(open, None, None, verified.expires).can_end());
    }
}
