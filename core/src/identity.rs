//! [`Identity`]: who a replica is: its own actor id, plus the region and user it speaks for.

use automerge::ActorId;

use crate::error::RunError;
use crate::id::RunId;

/// The longest region or user name accepted, in bytes.
pub const MAX_LABEL_BYTES: usize = 64;

/// A replica's identity.
///
/// The actor id must be unique to one live replica (a device, a browser profile, a relay
/// process): two replicas writing with one actor id corrupt the document. Region and
/// user are labels that travel inside records and change metadata; many replicas may
/// share them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    actor: ActorId,
    region: String,
    user: String,
}

impl Identity {
    /// An identity with a fresh random actor id.
    pub fn random(region: &str, user: &str) -> Result<Self, RunError> {
        Self::with_actor(ActorId::random(), region, user)
    }

    /// An identity with an actor id the caller keeps (a browser stores its id beside its
    /// copy of the document so it can resume as the same actor).
    pub fn with_actor(actor: ActorId, region: &str, user: &str) -> Result<Self, RunError> {
        Ok(Self {
            actor,
            region: label("region", region)?,
            user: label("user", user)?,
        })
    }

    /// The identity this replica writes one run with: its actor id mixed with the run's
    /// id (SHA-256, first 16 bytes), so a replica that edits a run and a fork of it writes
    /// each with its own actor, and merging the fork back never meets one actor's
    /// sequence numbers twice.
    pub fn for_run(&self, run: RunId) -> Self {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        hash.update(self.actor.to_bytes());
        hash.update(run.as_bytes());
        Self {
            actor: ActorId::from(&hash.finalize()[..16]),
            region: self.region.clone(),
            user: self.user.clone(),
        }
    }

    /// The replica's actor id.
    pub fn actor(&self) -> &ActorId {
        &self.actor
    }

    /// The region this replica writes for.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The user this replica writes for.
    pub fn user(&self) -> &str {
        &self.user
    }
}

fn label(what: &'static str, value: &str) -> Result<String, RunError> {
    if value.is_empty() || value.len() > MAX_LABEL_BYTES || value.chars().any(char::is_control) {
        return Err(RunError::InvalidLabel {
            what,
            value: value.chars().take(80).collect(),
            max: MAX_LABEL_BYTES,
        });
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_identities_never_share_an_actor() {
        let a = Identity::random("us-east-1", "alice").unwrap();
        let b = Identity::random("us-east-1", "alice").unwrap();
        assert_ne!(a.actor(), b.actor());
    }

    #[test]
    fn empty_region_is_rejected_by_name() {
        let err = Identity::random("", "alice").unwrap_err();
        assert!(err.to_string().contains("region"), "{err}");
    }
}
