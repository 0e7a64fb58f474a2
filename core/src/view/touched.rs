//! [`Touched`]: what the view's index changed since a [`RunState`](crate::RunState) was last
//! brought up to date from it, so that state can be patched where a change landed rather
//! than built again from every graft (at 100,000 grafts a whole state took the app more
//! than 100 ms on each change).
//!
//! The log is bounded: past [`MAX_TOUCHED`] entries, or on anything it does not follow
//! (steps changed, a graft rewritten, the whole document read again), it only says
//! "everything", and the next update reads the state whole. A replica that never asks for
//! updates (a relay) holds at most that many ids.

use crate::id::NodeId;

/// Entries kept before the log gives up and says "everything": a batch of more changes
/// than this is cheaper to read whole than to patch one by one (each patch scans the
/// pipeline).
pub(crate) const MAX_TOUCHED: usize = 64;

/// What changed in the index since the log was last taken. A new log (a whole read of
/// the document) says everything changed.
#[derive(Clone, Debug)]
pub(crate) struct Touched {
    /// Anything may have changed: read the state whole.
    pub all: bool,
    /// Grafts the index did not hold before, in the order it took them.
    pub grafts: Vec<NodeId>,
    /// Nodes whose prune mark was put or removed.
    pub prunes: Vec<NodeId>,
    /// The title was read again.
    pub title: bool,
}

impl Default for Touched {
    fn default() -> Self {
        Self {
            all: true,
            grafts: Vec::new(),
            prunes: Vec::new(),
            title: true,
        }
    }
}

impl Touched {
    /// Nothing changed since now: a state was just brought up to date.
    pub fn clear(&mut self) {
        *self = Self {
            all: false,
            grafts: Vec::new(),
            prunes: Vec::new(),
            title: false,
        };
    }

    /// Everything may have changed: steps (every graft's place may move with them), a
    /// graft rewritten or undone, or too much to list.
    pub fn all(&mut self) {
        *self = Self::default();
    }

    pub fn new_graft(&mut self, id: &NodeId) {
        if self.room() {
            self.grafts.push(id.clone());
        }
    }

    pub fn prune(&mut self, id: &NodeId) {
        if self.room() {
            self.prunes.push(id.clone());
        }
    }

    /// Whether another entry fits; gives up (everything changed) when it does not.
    fn room(&mut self) -> bool {
        if !self.all && self.grafts.len() + self.prunes.len() >= MAX_TOUCHED {
            self.all();
        }
        !self.all
    }
}
