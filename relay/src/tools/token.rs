//! `runmesh-relay token`: mints a JWT the relay accepts, signed with the HS256 secret it
//! is configured with (or an RS256/ES256 private key whose public key it has).

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Args;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use runmesh_core::RunId;

/// Mint a JWT: `runmesh-relay token --sub alice --run <uuid>=write --ttl 8h`.
#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    /// The user the token is for (recorded in every change they make).
    #[arg(long)]
    pub sub: String,

    /// A run and the access to it, `RUN=read` or `RUN=write`; `*` names every run. Repeat
    /// for several runs.
    #[arg(long = "run", value_name = "RUN=ACCESS", required = true)]
    pub runs: Vec<String>,

    /// How long the token is valid: seconds, or a number with s, m, h or d.
    #[arg(long, default_value = "8h")]
    pub ttl: String,

    /// The HS256 secret the relay verifies with.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// Sign with this private key instead (PEM: RSA for RS256, EC P-256 for ES256).
    #[arg(long, env = "JWT_PRIVATE_KEY", conflicts_with = "jwt_secret")]
    pub private_key: Option<PathBuf>,
}

/// Why no token was made.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// A `--run` is not `RUN=ACCESS`.
    #[error("--run {0:?}: {1}")]
    Run(String, String),
    /// The lifetime does not parse.
    #[error("--ttl {0:?}: expected seconds, or a number followed by s, m, h or d (8h)")]
    Ttl(String),
    /// Nothing to sign with.
    #[error(
        "no key: give --jwt-secret (or JWT_SECRET) as the relay has it, or --private-key for a relay verifying RS256/ES256 with --jwt-public-key"
    )]
    NoKey,
    /// The key does not work.
    #[error("{0}")]
    Key(String),
}

/// `8h` → 8 hours.
pub fn parse_ttl(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().last()? {
        (i, c) if c.is_ascii_alphabetic() => (&text[..i], c),
        _ => (text, 's'),
    };
    let n: u64 = number.parse().ok()?;
    let seconds = match unit {
        's' => n,
        'm' => n.checked_mul(60)?,
        'h' => n.checked_mul(3_600)?,
        'd' => n.checked_mul(86_400)?,
        _ => return None,
    };
    (seconds > 0).then(|| Duration::from_secs(seconds))
}

/// The token `args` describe.
pub fn mint(args: &TokenArgs) -> Result<String, TokenError> {
    let mut runs = serde_json::Map::new();
    for spec in &args.runs {
        let (run, access) = spec.split_once('=').ok_or_else(|| {
            TokenError::Run(spec.clone(), "expected RUN=read or RUN=write".into())
        })?;
        if !matches!(access, "read" | "write") {
            return Err(TokenError::Run(
                spec.clone(),
                format!("access {access:?} is not read or write"),
            ));
        }
        let run = if run == "*" {
            run.to_owned()
        } else {
            run.parse::<RunId>()
                .map_err(|e| TokenError::Run(spec.clone(), e.to_string()))?
                .to_string()
        };
        runs.insert(run, access.into());
    }
    let ttl = parse_ttl(&args.ttl).ok_or_else(|| TokenError::Ttl(args.ttl.clone()))?;
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .saturating_add(ttl)
        .as_secs();
    let claims = serde_json::json!({ "sub": args.sub, "exp": exp, "runs": runs });
    let (header, key) = match (&args.jwt_secret, &args.private_key) {
        (Some(secret), _) => {
            if secret.len() < 16 {
                return Err(TokenError::Key(
                    "--jwt-secret must be at least 16 bytes".into(),
                ));
            }
            (
                Header::new(Algorithm::HS256),
                EncodingKey::from_secret(secret.as_bytes()),
            )
        }
        (None, Some(path)) => {
            let pem = std::fs::read(path)
                .map_err(|e| TokenError::Key(format!("--private-key {}: {e}", path.display())))?;
            match EncodingKey::from_ec_pem(&pem) {
                Ok(key) => (Header::new(Algorithm::ES256), key),
                Err(_) => (
                    Header::new(Algorithm::RS256),
                    EncodingKey::from_rsa_pem(&pem).map_err(|e| {
                        TokenError::Key(format!(
                            "--private-key {}: neither an EC nor an RSA private key in PEM: {e}",
                            path.display()
                        ))
                    })?,
                ),
            }
        }
        (None, None) => return Err(TokenError::NoKey),
    };
    jsonwebtoken::encode(&header, &claims, &key).map_err(|e| TokenError::Key(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(runs: &[&str], ttl: &str) -> TokenArgs {
        TokenArgs {
            sub: "alice".into(),
            runs: runs.iter().map(|r| (*r).to_owned()).collect(),
            ttl: ttl.into(),
            jwt_secret: Some("a-secret-of-16-bytes".into()),
            private_key: None,
        }
    }

    #[test]
    fn lifetimes_parse_and_bad_ones_are_named() {
        assert_eq!(parse_ttl("8h"), Some(Duration::from_secs(8 * 3600)));
        assert_eq!(parse_ttl("90"), Some(Duration::from_secs(90)));
        assert_eq!(parse_ttl("2d"), Some(Duration::from_secs(2 * 86_400)));
        assert_eq!(parse_ttl("0s"), None);
        assert_eq!(parse_ttl("8x"), None);
        let err = mint(&args(&["*=read"], "soon")).unwrap_err().to_string();
        assert!(err.contains("--ttl \"soon\""), "{err}");
    }

    #[test]
    fn runs_must_be_uuids_or_star_with_read_or_write() {
        let run = RunId::random();
        assert!(mint(&args(&[&format!("{run}=write"), "*=read"], "1h")).is_ok());
        let err = mint(&args(&["nope=write"], "1h")).unwrap_err().to_string();
        assert!(err.contains("--run \"nope=write\""), "{err}");
        let err = mint(&args(&[&format!("{run}=admin")], "1h"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"admin\" is not read or write"), "{err}");
    }
}
