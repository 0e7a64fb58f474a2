//! [`PeerId`]: the ephemeral id a peer announces in the handshake.

use std::fmt;

/// A peer's id: any string the peer chose (automerge-repo uses random base64).
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct PeerId(String);

impl PeerId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A random peer id with a readable prefix, e.g. `relay-us-east-1-3f9a…`.
    pub fn random(prefix: &str) -> Self {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).expect("the platform random source is available");
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Self(format!("{prefix}-{hex}"))
    }
}

impl From<&str> for PeerId {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

impl From<String> for PeerId {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
