//! [`Verifier`]: turns a request's credential into [`Grants`], or says why it cannot.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use tokio::sync::watch;

use crate::auth::error::AuthError;
use crate::auth::keys::{KeyError, KeySet, LEEWAY_SECS};
use crate::auth::{Access, Grants};

/// How the relay authenticates, from its flags.
#[derive(Clone, Debug, Default)]
pub struct AuthConfig {
    /// HS256 secret.
    pub jwt_secret: Option<String>,
    /// PEM text of an RSA or EC public key (RS256 / ES256).
    pub jwt_public_key: Option<String>,
    /// A key set file, re-read on SIGHUP.
    pub jwt_keys: Option<PathBuf>,
    /// The token mesh peers present.
    pub mesh_token: Option<String>,
    /// Addresses mesh peers may connect from (empty: any).
    pub mesh_allow: Vec<IpAddr>,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    /// Seconds since the epoch (a number; the keys' validation requires it).
    exp: f64,
    #[serde(default)]
    runs: HashMap<String, String>,
}

/// What a credential grants, and until when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// What it allows.
    pub grants: Grants,
    /// When a new request with it would be refused as expired (`exp` plus the clock
    /// leeway); `None` for credentials that do not expire (open mode, the mesh token).
    pub expires: Option<SystemTime>,
}

/// Checks credentials.
#[derive(Clone)]
pub struct Verifier {
    keys: Arc<KeySet>,
    mesh_token: Option<String>,
    mesh_allow: Vec<IpAddr>,
    /// Counts the reloads that changed the keys, for open sessions to check their
    /// credential again.
    reloads: Arc<watch::Sender<u64>>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("keys", &self.keys)
            .field("mesh_token", &self.mesh_token.is_some())
            .field("mesh_allow", &self.mesh_allow)
            .finish()
    }
}

impl Verifier {
    /// Builds the verifier; an unusable key is an error naming the problem.
    pub fn new(config: &AuthConfig) -> Result<Self, KeyError> {
        let keys = KeySet::new(
            config.jwt_secret.as_deref(),
            config.jwt_public_key.as_deref(),
            config.jwt_keys.as_deref(),
        )?;
        if config.mesh_token.as_ref().is_some_and(|t| t.len() < 16) {
            return Err(KeyError::ShortMeshToken);
        }
        Ok(Self {
            keys: Arc::new(keys),
            mesh_token: config.mesh_token.clone(),
            mesh_allow: config.mesh_allow.clone(),
            reloads: Arc::new(watch::Sender::new(0)),
        })
    }

    /// Re-reads `--jwt-keys` (SIGHUP). The keys stay as they were if it fails; if it
    /// succeeds, open sessions check their credential again.
    pub fn reload(&self) -> Result<usize, KeyError> {
        let keys = self.keys.reload()?;
        self.reloads.send_modify(|n| *n += 1);
        Ok(keys)
    }

    /// Told after each reload of the keys.
    pub fn reloads(&self) -> watch::Receiver<u64> {
        self.reloads.subscribe()
    }

    /// Whether the relay runs open (no JWT configured).
    pub fn is_open(&self) -> bool {
        self.keys.is_empty()
    }

    /// The mesh token this relay presents when it dials other relays.
    pub fn mesh_token(&self) -> Option<&str> {
        self.mesh_token.as_deref()
    }

    /// What `credential`, presented from `from`, grants.
    pub fn grants(
        &self,
        credential: Option<&str>,
        from: Option<IpAddr>,
    ) -> Result<Grants, AuthError> {
        self.verify(credential, from).map(|v| v.grants)
    }

    /// What `credential`, presented from `from`, grants, and until when.
    pub fn verify(
        &self,
        credential: Option<&str>,
        from: Option<IpAddr>,
    ) -> Result<Verified, AuthError> {
        let lasting = |grants| Verified {
            grants,
            expires: None,
        };
        if let (Some(token), Some(mesh)) = (credential, &self.mesh_token)
            && constant_time_eq(token.as_bytes(), mesh.as_bytes())
        {
            if let Some(ip) = from
                && !self.mesh_allow.is_empty()
                && !self.mesh_allow.contains(&ip.to_canonical())
            {
                return Err(AuthError::NotAllowed(ip));
            }
            return Ok(lasting(Grants::Mesh));
        }
        if self.keys.is_empty() {
            return Ok(lasting(Grants::Open));
        }
        let token = credential.ok_or(AuthError::Missing)?;
        let data = self.keys.verify::<Claims>(token)?;
        let mut runs = HashMap::new();
        for (run, access) in data.claims.runs {
            let access = match access.as_str() {
                "read" => Access::Read,
                "write" => Access::Write,
                other => {
                    return Err(AuthError::Invalid(format!(
                        "runs[{run:?}] is {other:?}; expected \"read\" or \"write\""
                    )));
                }
            };
            let key = if run == "*" {
                run
            } else {
                run.parse::<runmesh_core::RunId>()
                    .map_err(|e| AuthError::Invalid(format!("runs claim: {e}")))?
                    .to_string()
            };
            runs.insert(key, access);
        }
        // Refused from the second after exp plus the leeway, as the keys' validation
        // counts it. An `exp` too far ahead for the clock is no end at all (it once
        // wrapped, and ended sockets and feeds at once: tenth attack, E31).
        let refused_from =
            (data.claims.exp.max(0.0).floor() as u64).saturating_add(LEEWAY_SECS + 1);
        Ok(Verified {
            grants: Grants::User {
                user: data.claims.sub,
                runs,
            },
            expires: UNIX_EPOCH.checked_add(Duration::from_secs(refused_from)),
        })
    }
}

/// Whether two secrets are equal, in time that does not depend on where they differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};

    const SECRET: &str = "a-test-secret-of-some-length";

    fn token(claims: serde_json::Value) -> String {
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap()
    }

    fn now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    fn verifier() -> Verifier {
        Verifier::new(&AuthConfig {
            jwt_secret: Some(SECRET.into()),
            mesh_token: Some("mesh-token-of-some-length".into()),
            mesh_allow: vec!["10.0.0.7".parse().unwrap()],
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn tokens_are_verified_and_their_runs_read() {
        let v = verifier();
        let run = runmesh_core::RunId::random();
        let ok = token(
            serde_json::json!({"sub": "ada", "exp": now() + 60, "runs": {run.to_string(): "write", "*": "read"}}),
        );
        let Grants::User { user, runs } = v.grants(Some(&ok), None).unwrap() else {
            panic!()
        };
        assert_eq!(user, "ada");
        assert_eq!(runs.len(), 2);
        assert_eq!(v.grants(None, None), Err(AuthError::Missing));
        let old = token(serde_json::json!({"sub": "ada", "exp": now() - 3600, "runs": {}}));
        assert_eq!(v.grants(Some(&old), None), Err(AuthError::Expired));
        let bad =
            token(serde_json::json!({"sub": "ada", "exp": now() + 60, "runs": {"*": "admin"}}));
        assert!(
            matches!(v.grants(Some(&bad), None), Err(AuthError::Invalid(m)) if m.contains("\"admin\""))
        );
        let forged = format!("{}x", &ok[..ok.len() - 1]);
        assert!(matches!(
            v.grants(Some(&forged), None),
            Err(AuthError::Invalid(_))
        ));
    }

    #[test]
    fn nbf_is_honoured_and_exp_says_when_the_token_stops_working() {
        let v = verifier();
        let claims = |extra: serde_json::Value| {
            let mut c = serde_json::json!({"sub": "ada", "exp": now() + 600, "runs": {}});
            c.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            token(c)
        };
        let later = claims(serde_json::json!({"nbf": now() + 300}));
        assert_eq!(v.grants(Some(&later), None), Err(AuthError::NotYetValid));
        let skewed = claims(serde_json::json!({"nbf": now() + 5}));
        assert!(v.grants(Some(&skewed), None).is_ok(), "within the leeway");
        let past = claims(serde_json::json!({"nbf": now() - 5}));
        assert!(v.grants(Some(&past), None).is_ok());
        let exp = now() + 60;
        let ok = claims(serde_json::json!({ "exp": exp }));
        let ends = UNIX_EPOCH + Duration::from_secs(exp + LEEWAY_SECS + 1);
        assert_eq!(v.verify(Some(&ok), None).unwrap().expires, Some(ends));
        let mesh = v.verify(Some("mesh-token-of-some-length"), None).unwrap();
        assert_eq!(mesh.expires, None, "the mesh token does not expire");
    }

    #[test]
    fn the_mesh_token_counts_only_from_allowed_addresses() {
        let v = verifier();
        let mesh = Some("mesh-token-of-some-length");
        assert_eq!(
            v.grants(mesh, Some("10.0.0.7".parse().unwrap())),
            Ok(Grants::Mesh)
        );
        assert_eq!(
            v.grants(mesh, Some("10.0.0.8".parse().unwrap())),
            Err(AuthError::NotAllowed("10.0.0.8".parse().unwrap()))
        );
    }

    #[test]
    fn open_mode_and_bad_keys() {
        let open = Verifier::new(&AuthConfig::default()).unwrap();
        assert!(open.is_open());
        assert_eq!(open.grants(None, None), Ok(Grants::Open));
        let short = Verifier::new(&AuthConfig {
            jwt_secret: Some("short".into()),
            ..Default::default()
        });
        assert_eq!(
            short.unwrap_err().to_string(),
            "--jwt-secret: an HS256 secret must be at least 16 bytes"
        );
        let junk = Verifier::new(&AuthConfig {
            jwt_public_key: Some("not a pem".into()),
            ..Default::default()
        });
        assert!(
            junk.unwrap_err()
                .to_string()
                .contains("EC (ES256) nor an RSA")
        );
    }

    fn signed(secret: &str) -> String {
        encode(
            &Header::new(Algorithm::HS256),
            &serde_json::json!({ "sub": "ada", "exp": now() + 600, "runs": { "*": "read" } }),
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    }

    #[test]
    fn a_key_file_is_reread_and_any_of_its_keys_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("keys");
        let (old, new) = ("old-secret-of-16-bytes", "new-secret-of-16-bytes");
        std::fs::write(&file, format!("# rotation\nhs256 {old}\n")).unwrap();
        let verifier = Verifier::new(&AuthConfig {
            jwt_keys: Some(file.clone()),
            ..Default::default()
        })
        .unwrap();
        assert!(!verifier.is_open());
        assert!(verifier.grants(Some(&signed(old)), None).is_ok());
        assert!(verifier.grants(Some(&signed(new)), None).is_err());
        std::fs::write(&file, format!("hs256 {old}\nhs256 {new}\n")).unwrap();
        assert_eq!(verifier.reload(), Ok(2));
        assert!(
            verifier.grants(Some(&signed(old)), None).is_ok(),
            "both, during the switch"
        );
        assert!(verifier.grants(Some(&signed(new)), None).is_ok());
        std::fs::write(&file, "hs256 short\n").unwrap();
        let refused = verifier.reload().unwrap_err().to_string();
        assert!(
            refused.contains("line 1") && refused.contains("16 bytes"),
            "{refused}"
        );
        assert!(
            verifier.grants(Some(&signed(old)), None).is_ok(),
            "a bad file keeps the keys"
        );
        std::fs::write(&file, format!("hs256 {new}\n")).unwrap();
        assert_eq!(verifier.reload(), Ok(1));
        assert!(
            verifier.grants(Some(&signed(old)), None).is_err(),
            "the old key is gone"
        );
    }
}
