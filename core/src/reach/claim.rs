//! [`Claim`]: what one relay said its region's store holds of one run.

use automerge::ChangeHash;

use crate::id::DocumentId;
use crate::sync::PeerId;

/// A store's life: set when the store is made, new when it is made again (a wiped data
/// directory, a new database). Later epochs order after earlier ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StoreEpoch {
    /// When the store was made, in milliseconds since the Unix epoch.
    pub created_ms: u64,
    /// A random number, so that two stores made in the same millisecond differ.
    pub nonce: u64,
}

/// What the relay `reporter` read its region's store to hold of `run`: these heads and
/// everything before them. `seq` grows with each claim the reporter makes; a claim with a
/// smaller `seq` than one already known from that reporter and run is old news.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The region whose store holds the changes.
    pub region: String,
    /// The life of that store.
    pub epoch: StoreEpoch,
    /// The relay that read the store.
    pub reporter: PeerId,
    /// The reporter's number for this claim.
    pub seq: u64,
    /// The run.
    pub run: DocumentId,
    /// The run's heads as stored.
    pub heads: Vec<ChangeHash>,
}
