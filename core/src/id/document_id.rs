//! [`DocumentId`]: automerge-repo's name for a document, 16 bytes in bs58check.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// An automerge-repo document id: 16 bytes, written in bs58check (base58 with a
/// four-byte double-SHA-256 checksum), optionally prefixed `automerge:` in URLs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DocumentId([u8; 16]);

/// Text that is not a bs58check-encoded 16-byte document id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid document id \"{input}\": {reason}")]
pub struct InvalidDocumentId {
    /// The rejected text (cut to 64 characters).
    pub input: String,
    /// What was wrong with it.
    pub reason: String,
}

impl DocumentId {
    /// The document id made of these 16 bytes.
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
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

/// The longest bs58 text of 20 bytes.
const TEXT_MAX: usize = 28;

impl DocumentId {
    /// Writes the id's text into `buf`, returning it (no allocation: ids are encoded for
    /// every message sent).
    fn encode<'a>(&self, buf: &'a mut [u8; TEXT_MAX]) -> &'a str {
        let mut bytes = [0; 20];
        bytes[..16].copy_from_slice(&self.0);
        bytes[16..].copy_from_slice(&checksum(&self.0));
        let len = bs58::encode(bytes)
            .onto(&mut buf[..])
            .expect("20 bytes fit in 28 characters of bs58");
        std::str::from_utf8(&buf[..len]).expect("bs58 is ASCII")
    }
}

impl fmt::Display for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.encode(&mut [0; TEXT_MAX]))
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
        // 16 bytes and a 4-byte checksum; one byte of room tells a longer id apart.
        let mut buf = [0u8; 21];
        let len = match bs58::decode(text).onto(&mut buf[..]) {
            Ok(len) => len,
            Err(bs58::decode::Error::BufferTooSmall) => {
                return Err(invalid("more than 16 bytes, expected 16".into()));
            }
            Err(e) => return Err(invalid(format!("not bs58check: {e}"))),
        };
        if len < 4 {
            return Err(invalid(format!(
                "not bs58check: {len} bytes, too short for the checksum"
            )));
        }
        let (bytes, sum) = buf[..len].split_at(len - 4);
        if sum != checksum(bytes) {
            return Err(invalid("not bs58check: the checksum does not match".into()));
        }
        let bytes: [u8; 16] = bytes
            .try_into()
            .map_err(|_| invalid(format!("{} bytes, expected 16", bytes.len())))?;
        Ok(Self(bytes))
    }
}

impl serde::Serialize for DocumentId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.encode(&mut [0; TEXT_MAX]))
    }
}

/// bs58check's checksum: the first four bytes of SHA-256 applied twice. Written here over
/// the SHA-256 Automerge already ships, rather than bs58's `check` feature, which would
/// bring a second copy of SHA-256 into the wasm.
fn checksum(bytes: &[u8]) -> [u8; 4] {
    let twice = Sha256::digest(Sha256::digest(bytes));
    [twice[0], twice[1], twice[2], twice[3]]
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
        let mut short = vec![1u8; 8];
        short.extend(checksum(&short));
        let err = bs58::encode(short)
            .into_string()
            .parse::<DocumentId>()
            .unwrap_err();
        assert!(err.to_string().contains("8 bytes, expected 16"), "{err}");
        let err = "1".parse::<DocumentId>().unwrap_err();
        assert!(
            err.to_string().contains("too short for the checksum"),
            "{err}"
        );
    }

    /// The same text as the `bs58check` npm package (automerge-repo's) gives for these
    /// bytes: `bs58check.encode(Uint8Array.from({length: 16}, (_, i) => (i * 17 + 3) & 255))`.
    #[test]
    fn matches_automerge_repo() {
        let bytes: [u8; 16] = std::array::from_fn(|i| (i as u8).wrapping_mul(17).wrapping_add(3));
        let id = DocumentId::from_bytes(bytes);
        assert_eq!(id.to_string(), "3VHcy1141NH64j1ERamv6DwQYoN");
        assert_eq!("3VHcy1141NH64j1ERamv6DwQYoN".parse::<DocumentId>(), Ok(id));
    }
}
