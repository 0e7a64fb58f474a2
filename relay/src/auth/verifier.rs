//! [`Verifier`]: turns a request's credential into [`Grants`], or says why it cannot.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;

use crate::auth::error::AuthError;
use crate::auth::grants::{Access, Grants};
use crate::auth::keys::{KeyError, KeySet};

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
    #[serde(default)]
    runs: HashMap<String, String>,
}

/// Checks credentials.
#[derive(Clone)]
pub struct Verifier {
    keys: Arc<KeySet>,
    mesh_token: Option<String>,
    mesh_allow: Vec<IpAddr>,
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
        })
    }

    /// Re-reads `--jwt-keys` (SIGHUP). The keys stay as they were if it fails.
    pub fn reload(&self) -> Result<usize, KeyError> {
        self.keys.reload()
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
        if let (Some(token), Some(mesh)) = (credential, &self.mesh_token)
            && constant_time_eq(token.as_bytes(), mesh.as_bytes())
        {
            if let Some(ip) = from
                && !self.mesh_allow.is_empty()
                && !self.mesh_allow.contains(&ip.to_canonical())
            {
                return Err(AuthError::NotAllowed(ip));
            }
            return Ok(Grants::Mesh);
        }
        if self.keys.is_empty() {
            return Ok(Grants::Open);
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
        Ok(Grants::User {
            user: data.claims.sub,
            runs,
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
