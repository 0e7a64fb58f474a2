//! Tokens minted in tests, and a relay that requires them.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};

use runmesh_testkit::relay::TestRelay;

/// The relay's HS256 secret.
pub const SECRET: &str = "jwt-test-secret-0123456789abcdef";

/// Seconds since the epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A token with these claims, signed with [`SECRET`].
pub fn mint(claims: serde_json::Value) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

/// A token for `sub` with access to every run, expiring at `exp`.
pub fn every_run(sub: &str, exp: u64) -> String {
    mint(serde_json::json!({ "sub": sub, "exp": exp, "runs": { "*": "write" } }))
}

/// A relay that requires tokens signed with [`SECRET`].
pub async fn secured() -> (TestRelay, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let relay = TestRelay::start_in(tmp.path(), "auth", |c| {
        c.auth.jwt_secret = Some(SECRET.into());
    })
    .await;
    (relay, tmp)
}
