//! Which runs two relays hold differently, found without loading any run.
//!
//! Each relay keeps a [`DigestIndex`]: per stored run, a [`Fingerprint`] of its stored
//! heads. On a new mesh link the two relays compare the index by range-based set
//! reconciliation over a fixed 16-way tree of id hashes (`reconcile.rs`): a range
//! whose count and sum of item hashes agree is skipped whole; one that differs is split
//! into its 16 children, until a side holds few enough runs in it to send them as a
//! list. Two relays in step exchange one message of 16 sums; a handful of changed runs
//! among N cost about `16 · log16(N)` sums each. Each side then offers the runs whose
//! fingerprint the other lacks or holds differently; the sync protocol does the rest.
//!
//! Why this scheme and not Negentropy's split points or a Merkle tree kept on disk: the
//! tree is implicit (ranges are prefixes of a hash of the run id, so both sides cut at
//! the same points without agreeing on anything), a range's sum is computed from a
//! sorted map on demand (no tree to keep consistent), and a run's entry changes in
//! O(log N) as its changes are stored. Sums are wrapping 128-bit additions of item
//! hashes (SHA-256 of run id and fingerprint), with the count beside them.
//!
//! Sans-IO like the [hub](crate::hub): no clock, no I/O; the relay carries the messages.

mod index;
mod reconcile;
mod wire;

pub use index::{DigestIndex, Fingerprint};
pub use reconcile::{Reconciled, respond, start};
pub use wire::{Body, DigestError, DigestMessage, MAX_RANGES, Range};
