//! The client side of a run, sans-IO: [`ClientRun`] holds a replica of one run, its sync
//! with one relay, and the rule every client must keep, *stored before it is sent*. The
//! browser app and the npm package perform its effects (a socket, IndexedDB or a
//! directory); the rules live here once and are tested natively.

mod machine;
mod store;

pub use machine::{ClientEffect, ClientInput, ClientRun, ClientStatus};
pub use store::{StoreId, StoreRequest};
