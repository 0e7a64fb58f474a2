//! [`DigestIndex`]: per stored run, the [`Fingerprint`] of its heads, kept sorted by a
//! hash of the run's id so that both sides of a link cut ranges at the same points.

use std::collections::BTreeMap;

use automerge::ChangeHash;
use sha2::{Digest, Sha256};

use crate::id::DocumentId;

/// A run's heads, hashed: two replicas with the same heads have the same fingerprint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 16]);

impl Fingerprint {
    /// The fingerprint of these heads (in any order).
    pub fn of_heads(heads: &[ChangeHash]) -> Self {
        let mut sorted = heads.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let mut hasher = Sha256::new();
        for head in &sorted {
            hasher.update(head.0);
        }
        Self(first_16(&hasher.finalize()))
    }
}

/// How many runs a range holds and the wrapping sum of their item hashes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sum {
    /// Runs in the range.
    pub count: u32,
    /// Sum of their item hashes, modulo 2^128.
    pub hash: u128,
}

impl Sum {
    fn add(&mut self, hash: u128) {
        self.count += 1;
        self.hash = self.hash.wrapping_add(hash);
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    fingerprint: Fingerprint,
    /// SHA-256 of the run id and the fingerprint: what range sums add up.
    hash: u128,
}

/// Where a run sits in the tree: the first 128 bits of SHA-256 of its id (uniform even
/// where run ids are not), with the id beside it so two ids never share a slot.
type Key = (u128, DocumentId);

/// The fingerprints of every stored run.
#[derive(Debug, Clone, Default)]
pub struct DigestIndex {
    entries: BTreeMap<Key, Entry>,
}

/// Nibbles in a full key: the deepest a prefix can be.
pub(crate) const KEY_NIBBLES: usize = 32;

fn first_16(bytes: &[u8]) -> [u8; 16] {
    bytes[..16].try_into().expect("SHA-256 is 32 bytes")
}

fn key_of(id: &DocumentId) -> Key {
    let hash = Sha256::digest(id.as_bytes());
    (u128::from_be_bytes(first_16(&hash)), *id)
}

fn item_hash(id: &DocumentId, fingerprint: &Fingerprint) -> u128 {
    let mut hasher = Sha256::new();
    hasher.update(id.as_bytes());
    hasher.update(fingerprint.0);
    u128::from_be_bytes(first_16(&hasher.finalize()))
}

/// The first and last key hash under `prefix` (nibbles, most significant first).
fn bounds(prefix: &[u8]) -> (Key, Key) {
    debug_assert!(prefix.len() <= KEY_NIBBLES && prefix.iter().all(|n| *n < 16));
    let bits = 4 * prefix.len() as u32;
    let value = prefix
        .iter()
        .fold(0u128, |acc, n| (acc << 4) | u128::from(*n));
    let (lo, hi) = match bits {
        0 => (0, u128::MAX),
        128 => (value, value),
        _ => {
            let lo = value << (128 - bits);
            (lo, lo | (u128::MAX >> bits))
        }
    };
    let (first, last) = ([0; 16], [0xff; 16]);
    (
        (lo, DocumentId::from_bytes(first)),
        (hi, DocumentId::from_bytes(last)),
    )
}

impl DigestIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `run`'s fingerprint; returns whether it changed.
    pub fn set(&mut self, run: DocumentId, fingerprint: Fingerprint) -> bool {
        let entry = Entry {
            fingerprint,
            hash: item_hash(&run, &fingerprint),
        };
        let before = self.entries.insert(key_of(&run), entry);
        before.is_none_or(|e| e.fingerprint != fingerprint)
    }

    /// Forgets `run`.
    pub fn remove(&mut self, run: &DocumentId) {
        self.entries.remove(&key_of(run));
    }

    /// `run`'s fingerprint, if it is indexed.
    pub fn get(&self, run: &DocumentId) -> Option<Fingerprint> {
        self.entries.get(&key_of(run)).map(|e| e.fingerprint)
    }

    /// Runs indexed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no run is indexed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn under(&self, prefix: &[u8]) -> impl Iterator<Item = (&Key, &Entry)> {
        let (lo, hi) = bounds(prefix);
        self.entries.range(lo..=hi)
    }

    /// The sums of the 16 ranges one nibble below `prefix` (shorter than a full key).
    pub fn children(&self, prefix: &[u8]) -> [Sum; 16] {
        assert!(prefix.len() < KEY_NIBBLES, "a full key has no children");
        let shift = 124 - 4 * prefix.len() as u32;
        let mut sums = [Sum::default(); 16];
        for ((key, _), entry) in self.under(prefix) {
            sums[((key >> shift) & 0xf) as usize].add(entry.hash);
        }
        sums
    }

    /// The runs under `prefix` with their fingerprints.
    pub fn items(&self, prefix: &[u8]) -> Vec<(DocumentId, Fingerprint)> {
        self.under(prefix)
            .map(|((_, id), entry)| (*id, entry.fingerprint))
            .collect()
    }

    /// Whether `run` lies under `prefix`.
    #[cfg(test)]
    pub(crate) fn is_under(run: &DocumentId, prefix: &[u8]) -> bool {
        let (lo, hi) = bounds(prefix);
        let key = key_of(run);
        lo.0 <= key.0 && key.0 <= hi.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(n: u8) -> DocumentId {
        DocumentId::from_bytes([n; 16])
    }

    #[test]
    fn fingerprints_ignore_the_order_of_heads() {
        let (a, b) = (ChangeHash([1; 32]), ChangeHash([2; 32]));
        assert_eq!(
            Fingerprint::of_heads(&[a, b]),
            Fingerprint::of_heads(&[b, a])
        );
        assert_ne!(Fingerprint::of_heads(&[a]), Fingerprint::of_heads(&[a, b]));
    }

    #[test]
    fn the_children_of_a_range_add_up_to_it_and_split_its_runs() {
        let mut index = DigestIndex::new();
        for n in 0..200 {
            index.set(run(n), Fingerprint([n; 16]));
        }
        let top = index.children(&[]);
        assert_eq!(top.iter().map(|s| s.count).sum::<u32>(), 200);
        for (nibble, sum) in top.iter().enumerate() {
            let below = index.children(&[nibble as u8]);
            let total = below.iter().fold(Sum::default(), |mut acc, s| {
                acc.count += s.count;
                acc.hash = acc.hash.wrapping_add(s.hash);
                acc
            });
            assert_eq!(total, *sum, "nibble {nibble}");
            let items = index.items(&[nibble as u8]);
            assert_eq!(items.len() as u32, sum.count);
            assert!(
                items
                    .iter()
                    .all(|(id, _)| DigestIndex::is_under(id, &[nibble as u8]))
            );
        }
    }

    #[test]
    fn a_changed_fingerprint_changes_the_sums_and_setting_it_again_does_not() {
        let mut index = DigestIndex::new();
        assert!(index.set(run(1), Fingerprint([1; 16])));
        let before = index.children(&[]);
        assert!(!index.set(run(1), Fingerprint([1; 16])));
        assert_eq!(index.children(&[]), before);
        assert!(index.set(run(1), Fingerprint([2; 16])));
        assert_ne!(index.children(&[]), before);
        index.remove(&run(1));
        assert!(index.is_empty());
        assert_eq!(index.children(&[]), [Sum::default(); 16]);
    }
}
