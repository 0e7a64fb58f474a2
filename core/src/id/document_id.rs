//! [`DocumentId`]: automerge-repo's name for a document, 16 bytes in bs58check.

use std::fmt;
use std::str::FromStr;

/// An automerge-repo document id: 16 bytes, written in bs58check (base58 with a
/// four-byte double-SHA-256 checksum), optionally prefixed `automerge:` in URLs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DocumentId([u8; 16]);

/// Text that is not a bs58check-encoded 16-byte document id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid document id {input:?}: {reason}")]
pub struct InvalidDocumentId {
    /// The rejected text (cut to 64 characters).
    pub input: String,
    /// What was wrong with it.
    pub reason: String,
}

impl DocumentId {
    /// The document id made of these 16 bytes.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The id's 16 bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// The `automerge:<id>` URL of this document.
    pub fn url(&self) -> String {
        format!("automerge:{self}")
    }
}

impl fmt::Display for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&bs58::encode(self.0).with_check().into_string())
    }
}

impl FromStr for DocumentId {
    type Err = InvalidDocumentId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = |reason: String| InvalidDocumentId {
            input: s.chars().take(64).collect(),
            reason,
        };
        let text = s.strip_prefix("automerge:").unwrap_or(s);
        let bytes = bs58::decode(text)
            .with_check(None)
            .into_vec()
            .map_err(|e| invalid(format!("not bs58check: {e}")))?;
        let bytes: [u8; 16] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| invalid(format!("{} bytes, expected 16", b.len())))?;
        Ok(Self(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RunId;

    #[test]
    fn run_id_and_document_id_are_the_same_bytes() {
        let run: RunId = "123e4567-e89b-12d3-a456-426614174000".parse().unwrap();
        let doc = run.document_id();
        let parsed: DocumentId = doc.url().parse().unwrap();
        assert_eq!(parsed, doc);
        assert_eq!(RunId::from(parsed), run);
    }

    #[test]
    fn a_changed_character_fails_the_checksum() {
        let doc = RunId::random().document_id().to_string();
        let mut chars: Vec<char> = doc.chars().collect();
        chars[3] = if chars[3] == 'A' { 'B' } else { 'A' };
        let tampered: String = chars.into_iter().collect();
        let err = tampered.parse::<DocumentId>().unwrap_err();
        assert!(err.to_string().contains("bs58check"), "{err}");
    }

    #[test]
    fn wrong_length_is_named() {
        let short = bs58::encode([1u8; 8]).with_check().into_string();
        let err = short.parse::<DocumentId>().unwrap_err();
        assert!(err.to_string().contains("8 bytes, expected 16"), "{err}");
    }
}
