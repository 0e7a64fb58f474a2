//! How far each run's changes have got across the mesh: which regions' stores hold them.
//!
//! Every relay says what its region's store holds of a run when that changes: a
//! [`Claim`], the run's stored heads as one relay read them, numbered by that relay.
//! Relays pass claims on over the mesh links that exist, so on a line A–B–C, A learns what
//! C stored through B; each claim is passed on once, when it is news. A change is stored
//! in a region when it is an ancestor of (or one of) the heads a claim from that region
//! names. Deciding that needs the run's change graph, which the caller has
//! ([`ReachTable::regions`] takes it as a function).
//!
//! A claim stays true for as long as the store it speaks of lives: a store's changes are
//! never taken back. A store that is wiped starts again under a new [`StoreEpoch`], and
//! claims from an older epoch of a region are forgotten as soon as a claim of a newer one
//! arrives. A relay keeps claims only in memory: one that restarts knows nothing of other
//! regions until their claims reach it again, so it never reports a region it no longer
//! knows holds a change.
//!
//! - `claim.rs`: [`Claim`], [`StoreEpoch`].
//! - `table.rs`: [`ReachTable`]: the claims a relay knows, what to pass on to each link,
//!   and the regions that hold a set of changes.
//! - `wire.rs`: [`ReachMessage`]: claims on a mesh link, bounded and checked as decoded.

mod claim;
mod table;
mod wire;

pub use claim::{Claim, StoreEpoch};
pub use table::{MAX_REPORTERS, ReachTable};
pub use wire::{MAX_CLAIM_HEADS, MAX_CLAIMS, MAX_REGION_BYTES, ReachError, ReachMessage};
