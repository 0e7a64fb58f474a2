//! [`Feed`]: what other relays sharing a store append, as they append it.

use runmesh_core::DocumentId;
use tokio::sync::mpsc;

/// Another relay appended event `event` to `doc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// The run.
    pub doc: DocumentId,
    /// The event's number in the store.
    pub event: i64,
}

/// One item of a [`Feed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedItem {
    /// Another relay appended an event.
    Appended(Appended),
    /// The feed was cut and is back: appends in between were not reported, so every run
    /// in memory must read what it missed.
    Resumed,
}

/// The stream of [`FeedItem`]s; it ends when the store is dropped.
pub type Feed = mpsc::Receiver<FeedItem>;
