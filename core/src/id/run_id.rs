//! [`RunId`]: the UUID that names a run everywhere (REST paths, storage keys, documents).

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

use crate::id::DocumentId;

/// A run's identity: a UUID, written in its hyphenated form.
///
/// The same 16 bytes, bs58check-encoded, are the run's automerge-repo document id, so
/// `automerge:<document id>` and `/api/crdt/runs/<uuid>` name the same document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RunId(Uuid);

/// A string that is not a UUID was given where a run id was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid run id {input:?}: expected a UUID such as 123e4567-e89b-12d3-a456-426614174000")]
pub struct InvalidRunId {
    /// The rejected text (cut to 64 characters).
    pub input: String,
}

impl RunId {
    /// A version-4 run id made from 16 random bytes the caller supplies.
    pub fn from_random_bytes(bytes: [u8; 16]) -> Self {
        Self(uuid::Builder::from_random_bytes(bytes).into_uuid())
    }

    /// A fresh random run id (uses the platform's random source).
    pub fn random() -> Self {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).expect("the platform random source is available");
        Self::from_random_bytes(bytes)
    }

    /// The run id's 16 bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }

    /// The run id from 16 raw bytes (any UUID version is accepted).
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(Uuid::from_bytes(bytes))
    }

    /// The automerge-repo document id that names this run's document.
    pub fn document_id(&self) -> DocumentId {
        DocumentId::from_bytes(*self.as_bytes())
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl FromStr for RunId {
    type Err = InvalidRunId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::try_parse(s).map(Self).map_err(|_| InvalidRunId {
            input: s.chars().take(64).collect(),
        })
    }
}

impl From<DocumentId> for RunId {
    fn from(id: DocumentId) -> Self {
        Self::from_bytes(*id.as_bytes())
    }
}

impl serde::Serialize for RunId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for RunId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_the_hyphenated_form() {
        let text = "123e4567-e89b-12d3-a456-426614174000";
        let id: RunId = text.parse().unwrap();
        assert_eq!(id.to_string(), text);
    }

    #[test]
    fn rejects_text_that_is_not_a_uuid_and_names_it() {
        let err = "not-a-uuid".parse::<RunId>().unwrap_err();
        assert!(err.to_string().contains("\"not-a-uuid\""), "{err}");
    }

    #[test]
    fn random_ids_are_version_4_and_distinct() {
        let a = RunId::random();
        let b = RunId::random();
        assert_ne!(a, b);
        assert_eq!(a.0.get_version_num(), 4);
    }
}
