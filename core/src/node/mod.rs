//! The relay node, sans-IO: every rule the relay decides by, which the relay performs over
//! sockets, stores and timers and the simulation runs over its simulated world. The node
//! is sharded by run so that the relay uses every core: each loaded run is a [`RunShard`]
//! (around the run's [hub](crate::hub)) on a task of its own, and the relay-wide parts
//! below are shared between them, each behind one small lock in the relay.
//!
//! - [`Grants`] (`grants.rs`): what a connection or request may do, as JWT verification
//!   (or the mesh token, or open mode) yields it.
//! - [`route`] (`route.rs`): a frame from a peer that completed the handshake, as one
//!   thing to do.
//! - [`Admission`] (`admission.rs`): what one session may do with a run: read it, write
//!   it, how many runs at once, its rate allowance.
//! - [`PeerClaims`] (`claims.rs`): which caller holds each client peer id.
//! - [`CatchUp`] (`catch_up.rs`): the runs a reconciliation found to offer a mesh peer,
//!   offered a few at a time.
//! - [`RunDigests`] (`digests.rs`): the fingerprints of the stored runs, compared with
//!   mesh peers' to find the runs to offer them.
//! - [`MeshPeers`] (`mesh_peers.rs`): the live links to other relays, one per relay,
//!   and the tie-break between two relays that dialled each other.
//! - [`Dialer`] (`dialer.rs`): one configured peer URL's dialling: when, and what each
//!   outcome means (backoff, stand-by after a lost tie-break).
//! - [`Holdings`] (`holdings.rs`): the runs each caller holds open, against its share
//!   of the relay's memory.
//! - [`Residency`] (`residency.rs`): when a loaded run leaves memory.
//! - [`Shedding`] (`shedding.rs`): when a full memory asks the runs in it to leave.
//! - [`MeshResidents`] (`mesh_residents.rs`): the runs in memory only for other relays,
//!   and the bound on what they weigh (a catch-up's memory).
//! - [`Reconciliation`] (`reconciliation.rs`): the digest index and every link's
//!   catch-up, and the rules that join them (a digest answered, a run changed elsewhere,
//!   a store feed that lapsed, a catch-up without room).
//! - [`RelayMesh`] (`relay_mesh.rs`): the mesh links and the reconciliation over them,
//!   joined (who starts reconciling, a replaced or lost link's catch-up).
//! - [`RunShard`] (`run_shard/`): one loaded run's part of the node (its hub, the
//!   connections it sends to, who waits for it, its clock for leaving memory).
//! - [`has_room`], [`overflow`] (`outbox.rs`): what a peer's outbound queue may hold,
//!   and what becomes of a frame it cannot take.

mod admission;
mod catch_up;
mod claims;
mod dialer;
mod digests;
mod grants;
mod holdings;
mod mesh_peers;
mod mesh_residents;
mod outbox;
mod reconciliation;
mod relay_mesh;
mod residency;
mod route;
mod run_shard;
mod shedding;

pub use admission::{Admission, DIGESTS_PER_SEC, PRESENCE_BYTES_PER_SEC};
pub use catch_up::{CatchUp, CatchUpProgress, IN_FLIGHT, SETTLE_MS};
pub use claims::PeerClaims;
pub use dialer::{Dial, Dialer};
pub use digests::RunDigests;
pub use grants::{Access, Denied, Grants};
pub use holdings::{Hold, Holdings};
pub use mesh_peers::{LinkUp, MeshPeer, MeshPeers, NewLink, replaces};
pub use mesh_residents::MeshResidents;
pub use outbox::{
    CLIENT_QUEUE_BYTES, MESH_QUEUE_BYTES, Overflow, PRESENCE_QUEUE_BYTES, fits, fits_presence,
    has_room, overflow, queue_cap,
};
pub use reconciliation::{Due, Progress, ROOM_POLL_MS, Reconciliation};
pub use relay_mesh::{Joined, RelayMesh};
pub use residency::{IdlePeriods, Residency};
pub use route::{MAX_PRESENCE_BYTES, RouteError, Routed, SyncFrame, route};
pub use run_shard::{Command, Conn, Effect, RunShard};
pub use shedding::{SHED_EVERY_MS, Shedding};
