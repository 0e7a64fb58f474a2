//! [`DigestMessage`]: what two relays send each other while reconciling, checked as it
//! is decoded (a range names a valid prefix and carries 16 sums or whole items).

use serde::{Deserialize, Serialize};

use crate::digest::index::{Fingerprint, KEY_NIBBLES, Sum};
use crate::id::DocumentId;

/// One round of reconciliation: ranges of the id-hash tree, each with what the sender
/// holds there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestMessage {
    /// The ranges, in no particular order.
    pub ranges: Vec<Range>,
}

/// A range of the tree: the id hashes that start with `prefix`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawRange", into = "RawRange")]
pub struct Range {
    /// Nibbles (0–15), most significant first; empty for the whole tree.
    pub prefix: Vec<u8>,
    /// What the sender holds in it.
    pub body: Body,
}

/// What a sender holds in a range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// The sums of its 16 children.
    Sums(Box<[Sum; 16]>),
    /// Every run in it, with its fingerprint.
    Items {
        /// The runs.
        items: Vec<(DocumentId, Fingerprint)>,
        /// Whether the sender wants the receiver's items for the range back.
        reply: bool,
    },
}

/// A digest message that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// A prefix longer than a key, or with a nibble over 15.
    #[error("digest range prefix {prefix:?} is not up to {KEY_NIBBLES} nibbles of 0-15")]
    Prefix {
        /// The prefix sent.
        prefix: Vec<u8>,
    },
    /// Sums that are not 16 of 20 bytes, or sums for a full key.
    #[error(
        "digest range sums are {len} bytes for a {depth}-nibble prefix; expected 320 bytes below {KEY_NIBBLES} nibbles"
    )]
    Sums {
        /// Bytes sent.
        len: usize,
        /// The prefix's length.
        depth: usize,
    },
    /// Items that are not whole 32-byte entries.
    #[error("digest range items are {len} bytes, not a multiple of 32")]
    Items {
        /// Bytes sent.
        len: usize,
    },
    /// Not CBOR of a digest message.
    #[error("not a digest message: {0}")]
    Malformed(String),
    /// Both or neither of sums and items.
    #[error("a digest range must carry either sums or items")]
    Body,
    /// More ranges than one reply of a relay holds.
    #[error("a digest message of {count} ranges is over the limit of {MAX_RANGES}")]
    TooManyRanges {
        /// Ranges sent.
        count: usize,
    },
    /// Two ranges that cover the same runs: a relay sends each range of the tree once.
    #[error(
        "digest ranges {outer:?} and {inner:?} overlap: each part of the tree may be sent once"
    )]
    Overlap {
        /// The shorter prefix.
        outer: Vec<u8>,
        /// A prefix it covers (or the same one again).
        inner: Vec<u8>,
    },
}

/// The most ranges one digest message may carry. A relay packs its replies in messages
/// of about 256 KiB, and the smallest range takes about 10 bytes; a message naming
/// more ranges, or one range twice, is not a relay's (eleventh attack, E32: one 23-byte
/// range repeated 250,000 times made a reply listing every run for each copy).
pub const MAX_RANGES: usize = 32 * 1024;

const SUM_BYTES: usize = 20;
const ITEM_BYTES: usize = 32;

/// A range as it travels: fixed-size entries packed in byte strings.
#[derive(Serialize, Deserialize)]
struct RawRange {
    #[serde(with = "serde_bytes")]
    prefix: Vec<u8>,
    #[serde(default, with = "serde_bytes", skip_serializing_if = "Option::is_none")]
    sums: Option<Vec<u8>>,
    #[serde(default, with = "serde_bytes", skip_serializing_if = "Option::is_none")]
    items: Option<Vec<u8>>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    reply: bool,
}

impl From<Range> for RawRange {
    fn from(range: Range) -> Self {
        let (sums, items, reply) = match range.body {
            Body::Sums(sums) => {
                let mut out = Vec::with_capacity(16 * SUM_BYTES);
                for sum in *sums {
                    out.extend_from_slice(&sum.count.to_le_bytes());
                    out.extend_from_slice(&sum.hash.to_le_bytes());
                }
                (Some(out), None, false)
            }
            Body::Items { items, reply } => {
                let mut out = Vec::with_capacity(items.len() * ITEM_BYTES);
                for (id, fingerprint) in items {
                    out.extend_from_slice(id.as_bytes());
                    out.extend_from_slice(&fingerprint.0);
                }
                (None, Some(out), reply)
            }
        };
        Self {
            prefix: range.prefix,
            sums,
            items,
            reply,
        }
    }
}

impl TryFrom<RawRange> for Range {
    type Error = DigestError;

    fn try_from(raw: RawRange) -> Result<Self, DigestError> {
        let prefix = raw.prefix;
        if prefix.len() > KEY_NIBBLES || prefix.iter().any(|n| *n > 15) {
            return Err(DigestError::Prefix { prefix });
        }
        let body = match (raw.sums, raw.items) {
            (Some(bytes), None) => {
                if bytes.len() != 16 * SUM_BYTES || prefix.len() >= KEY_NIBBLES {
                    return Err(DigestError::Sums {
                        len: bytes.len(),
                        depth: prefix.len(),
                    });
                }
                let mut sums = [Sum::default(); 16];
                for (sum, raw) in sums.iter_mut().zip(bytes.chunks_exact(SUM_BYTES)) {
                    sum.count = u32::from_le_bytes(raw[..4].try_into().expect("4 bytes"));
                    sum.hash = u128::from_le_bytes(raw[4..].try_into().expect("16 bytes"));
                }
                Body::Sums(Box::new(sums))
            }
            (None, Some(bytes)) => {
                if bytes.len() % ITEM_BYTES != 0 {
                    return Err(DigestError::Items { len: bytes.len() });
                }
                let items = bytes
                    .chunks_exact(ITEM_BYTES)
                    .map(|raw| {
                        let id = raw[..16].try_into().expect("16 bytes");
                        let fingerprint = raw[16..].try_into().expect("16 bytes");
                        (DocumentId::from_bytes(id), Fingerprint(fingerprint))
                    })
                    .collect();
                Body::Items {
                    items,
                    reply: raw.reply,
                }
            }
            _ => return Err(DigestError::Body),
        };
        Ok(Self { prefix, body })
    }
}

impl DigestMessage {
    /// The message in CBOR, for [`crate::sync::WireMessage::Digest`].
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        ciborium::ser::into_writer(self, &mut out).expect("writing CBOR to a Vec cannot fail");
        out
    }

    /// The message from its CBOR, or what is wrong with it: it must be readable, name
    /// at most [`MAX_RANGES`] ranges, and no part of the tree twice.
    pub fn decode(bytes: &[u8]) -> Result<Self, DigestError> {
        let message: Self =
            ciborium::de::from_reader(bytes).map_err(|e| DigestError::Malformed(e.to_string()))?;
        message.check()?;
        Ok(message)
    }

    /// Whether the ranges are few enough and disjoint.
    fn check(&self) -> Result<(), DigestError> {
        if self.ranges.len() > MAX_RANGES {
            return Err(DigestError::TooManyRanges {
                count: self.ranges.len(),
            });
        }
        let mut prefixes: Vec<&[u8]> = self.ranges.iter().map(|r| &r.prefix[..]).collect();
        prefixes.sort_unstable();
        // Sorted, a prefix that covers another is followed by one it covers.
        for pair in prefixes.windows(2) {
            if pair[1].starts_with(pair[0]) {
                return Err(DigestError::Overlap {
                    outer: pair[0].to_vec(),
                    inner: pair[1].to_vec(),
                });
            }
        }
        Ok(())
    }
}

impl Range {
    /// Roughly how many bytes the range takes on the wire.
    pub(crate) fn wire_len(&self) -> usize {
        8 + self.prefix.len()
            + match &self.body {
                Body::Sums(_) => 16 * SUM_BYTES,
                Body::Items { items, .. } => items.len() * ITEM_BYTES,
            }
    }
}
