//! [`KeySet`]: the keys JWTs are verified with — `--jwt-secret`, `--jwt-public-key`, and
//! the lines of `--jwt-keys`, a file re-read on SIGHUP. A token verifies if any key
//! verifies it, so a key is rotated without cutting a session: add the new key and
//! reload, issue tokens with it, and once the old tokens have expired remove the old key
//! and reload (docs/operations.md walks through it).
//!
//! The file holds one key per line, `#` comments and blank lines aside:
//! `hs256 <secret>`, `rs256 <public key PEM file>` or `es256 <public key PEM file>`
//! (a relative path is read from the key file's folder).

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use jsonwebtoken::{Algorithm, DecodingKey, TokenData, Validation, decode};
use serde::de::DeserializeOwned;

use crate::auth::error::AuthError;

/// Why keys cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The HS256 secret is too short to be a secret.
    #[error("{0}: an HS256 secret must be at least 16 bytes")]
    ShortSecret(String),
    /// A public key does not parse.
    #[error("{0}: not an {1} public key in PEM: {2}")]
    PublicKey(String, &'static str, String),
    /// The mesh token is too short to be a secret.
    #[error("--mesh-token must be at least 16 bytes")]
    ShortMeshToken,
    /// The key file cannot be read.
    #[error("--jwt-keys {0}: {1}")]
    File(String, String),
    /// A line of the key file is not a key.
    #[error("--jwt-keys {0}, line {1}: {2}")]
    Line(String, usize, String),
}

/// One verification key.
#[derive(Clone)]
struct Key {
    decoding: DecodingKey,
    validation: Validation,
}

/// Every key a token may be signed with.
pub struct KeySet {
    /// From the flags; fixed for the process's life.
    fixed: Vec<Key>,
    /// The key file, if any, and what it held when last read.
    file: Option<PathBuf>,
    loaded: RwLock<Arc<Vec<Key>>>,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySet")
            .field("fixed", &self.fixed.len())
            .field("file", &self.file)
            .field("loaded", &self.current().len())
            .finish()
    }
}

/// Seconds of clock difference allowed between the token's issuer and the relay, on
/// `exp` and `nbf` alike.
pub const LEEWAY_SECS: u64 = 30;

fn validation(algorithm: Algorithm) -> Validation {
    let mut v = Validation::new(algorithm);
    v.leeway = LEEWAY_SECS;
    v.set_required_spec_claims(&["exp", "sub"]);
    // A token issued for later is refused until then (if it says so).
    v.validate_nbf = true;
    v.validate_aud = false;
    v
}

fn secret(secret: &str, what: &str) -> Result<Key, KeyError> {
    if secret.len() < 16 {
        return Err(KeyError::ShortSecret(what.to_owned()));
    }
    Ok(Key {
        decoding: DecodingKey::from_secret(secret.as_bytes()),
        validation: validation(Algorithm::HS256),
    })
}

fn public(pem: &str, algorithm: Algorithm, what: &str) -> Result<Key, KeyError> {
    let (decoding, name) = match algorithm {
        Algorithm::ES256 => (DecodingKey::from_ec_pem(pem.as_bytes()), "EC (ES256)"),
        _ => (DecodingKey::from_rsa_pem(pem.as_bytes()), "RSA (RS256)"),
    };
    let decoding =
        decoding.map_err(|e| KeyError::PublicKey(what.to_owned(), name, e.to_string()))?;
    Ok(Key {
        decoding,
        validation: validation(algorithm),
    })
}

/// `--jwt-public-key`: an EC key (ES256) or else an RSA key (RS256).
fn either_public(pem: &str) -> Result<Key, KeyError> {
    public(pem, Algorithm::ES256, "--jwt-public-key").or_else(|_| {
        public(pem, Algorithm::RS256, "--jwt-public-key").map_err(|e| match e {
            KeyError::PublicKey(what, _, why) => {
                KeyError::PublicKey(what, "EC (ES256) nor an RSA (RS256)", why)
            }
            other => other,
        })
    })
}

fn read_file(path: &Path) -> Result<Vec<Key>, KeyError> {
    let shown = path.display().to_string();
    let text =
        std::fs::read_to_string(path).map_err(|e| KeyError::File(shown.clone(), e.to_string()))?;
    let folder = path.parent().unwrap_or(Path::new("."));
    let mut keys = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |why: String| KeyError::Line(shown.clone(), index + 1, why);
        let (kind, value) = line.split_once(char::is_whitespace).ok_or_else(|| {
            bad("expected `hs256 <secret>`, `rs256 <file>` or `es256 <file>`".into())
        })?;
        let value = value.trim();
        let key = match kind.to_ascii_lowercase().as_str() {
            "hs256" => secret(value, "the secret"),
            kind @ ("rs256" | "es256") => {
                let pem_path = folder.join(value);
                let pem = std::fs::read_to_string(&pem_path)
                    .map_err(|e| bad(format!("{}: {e}", pem_path.display())))?;
                let algorithm = if kind == "es256" {
                    Algorithm::ES256
                } else {
                    Algorithm::RS256
                };
                public(&pem, algorithm, &pem_path.display().to_string())
            }
            other => return Err(bad(format!("unknown key kind {other:?}"))),
        };
        keys.push(key.map_err(|e| bad(e.to_string()))?);
    }
    Ok(keys)
}

impl KeySet {
    /// The keys the flags name, and those in `file`.
    pub fn new(
        secret_flag: Option<&str>,
        public_pem: Option<&str>,
        file: Option<&Path>,
    ) -> Result<Self, KeyError> {
        let mut fixed = Vec::new();
        if let Some(s) = secret_flag {
            fixed.push(secret(s, "--jwt-secret")?);
        }
        if let Some(pem) = public_pem {
            fixed.push(either_public(pem)?);
        }
        let loaded = match file {
            Some(path) => read_file(path)?,
            None => Vec::new(),
        };
        Ok(Self {
            fixed,
            file: file.map(Path::to_owned),
            loaded: RwLock::new(Arc::new(loaded)),
        })
    }

    fn current(&self) -> Arc<Vec<Key>> {
        self.loaded
            .read()
            .expect("the key lock is never poisoned")
            .clone()
    }

    /// Re-reads the key file. On error the keys stay as they were. Returns how many keys
    /// there are now.
    pub fn reload(&self) -> Result<usize, KeyError> {
        if let Some(path) = &self.file {
            let keys = read_file(path)?;
            *self.loaded.write().expect("the key lock is never poisoned") = Arc::new(keys);
        }
        Ok(self.fixed.len() + self.current().len())
    }

    /// Whether there is no key at all (the relay is open).
    pub fn is_empty(&self) -> bool {
        self.fixed.is_empty() && self.file.is_none()
    }

    /// The claims of `token` if a key verifies it.
    pub fn verify<T: DeserializeOwned>(&self, token: &str) -> Result<TokenData<T>, AuthError> {
        let loaded = self.current();
        let mut last = None;
        for key in self.fixed.iter().chain(loaded.iter()) {
            match decode::<T>(token, &key.decoding, &key.validation) {
                Ok(data) => return Ok(data),
                // Only the key that signed it gets as far as the expiry.
                Err(e) if *e.kind() == jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                    return Err(AuthError::Expired);
                }
                Err(e) if *e.kind() == jsonwebtoken::errors::ErrorKind::ImmatureSignature => {
                    return Err(AuthError::NotYetValid);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(AuthError::Invalid(last.map_or_else(
            || "no key is configured to verify it (--jwt-keys is empty)".into(),
            |e| e.to_string(),
        )))
    }
}
