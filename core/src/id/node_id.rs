//! [`NodeId`]: the id of a step or a graft, the things a pipeline is made of.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// The longest node id accepted, in bytes.
pub const MAX_NODE_ID_BYTES: usize = 128;

/// The id of a node in a run's pipeline: a base step or a graft.
///
/// Non-empty, at most [`MAX_NODE_ID_BYTES`] bytes, no control characters.
///
/// Shared text: a graft's id sits in the index several times (its entry, its anchor's
/// children, the pipeline), and cloning it is a reference count, not a copy.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(Arc<str>);

/// Text that cannot be a node id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidNodeId {
    /// The id was empty.
    #[error("node id is empty")]
    Empty,
    /// The id was longer than the limit.
    #[error("node id is {len} bytes long, the limit is {max}")]
    TooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// The id held a control character.
    #[error("node id {id:?} contains a control character")]
    ControlCharacter {
        /// The rejected id.
        id: String,
    },
}

impl NodeId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A node id from text already known to be valid (read back from our own records).
    pub(crate) fn new_unchecked(id: String) -> Self {
        Self(id.into())
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn check(s: &str) -> Result<(), InvalidNodeId> {
    if s.is_empty() {
        return Err(InvalidNodeId::Empty);
    }
    if s.len() > MAX_NODE_ID_BYTES {
        return Err(InvalidNodeId::TooLong {
            len: s.len(),
            max: MAX_NODE_ID_BYTES,
        });
    }
    // Control characters are U+0000–U+001F and U+007F–U+009F. In UTF-8 the last range is
    // the two bytes C2 80 … C2 9F, so one pass over the bytes finds them all.
    let bytes = s.as_bytes();
    let control = bytes.iter().enumerate().any(|(i, &b)| {
        b < 0x20 || b == 0x7f || (b == 0xc2 && matches!(bytes.get(i + 1), Some(0x80..=0x9f)))
    });
    if control {
        return Err(InvalidNodeId::ControlCharacter { id: s.to_owned() });
    }
    Ok(())
}

impl FromStr for NodeId {
    type Err = InvalidNodeId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        check(s)?;
        Ok(Self(s.into()))
    }
}

impl std::borrow::Borrow<str> for NodeId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for NodeId {
    type Error = InvalidNodeId;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        check(&s)?;
        Ok(Self(s.into()))
    }
}

impl TryFrom<&str> for NodeId {
    type Error = InvalidNodeId;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl serde::Serialize for NodeId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for NodeId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_ids() {
        assert_eq!("step1".parse::<NodeId>().unwrap().as_str(), "step1");
    }

    #[test]
    fn rejects_empty_long_and_control_ids() {
        assert_eq!("".parse::<NodeId>(), Err(InvalidNodeId::Empty));
        let long = "x".repeat(MAX_NODE_ID_BYTES + 1);
        assert_eq!(
            long.parse::<NodeId>(),
            Err(InvalidNodeId::TooLong { len: 129, max: 128 })
        );
        assert!(matches!(
            "a\nb".parse::<NodeId>(),
            Err(InvalidNodeId::ControlCharacter { .. })
        ));
    }

    #[test]
    fn finds_control_characters_as_char_is_control_does() {
        let samples = [
            "plain",
            "a\u{7f}",
            "a\u{80}b",
            "\u{9f}",
            "\u{a0}",
            "é",
            "\u{c2}\u{a9}",
            "Ā\u{85}",
            "\u{2028}",
            "日本\u{1f}",
        ];
        for s in samples {
            let expected = s.chars().any(char::is_control);
            assert_eq!(
                matches!(
                    s.parse::<NodeId>(),
                    Err(InvalidNodeId::ControlCharacter { .. })
                ),
                expected,
                "{s:?}"
            );
        }
    }
}
