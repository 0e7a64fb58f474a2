//! What runmesh's tests and benchmarks share, so each test target imports it instead of
//! compiling a copy of it.
//!
//! Always here, for core's tests (they need only `runmesh-core`):
//! - [`fixtures`]: the run most tests start from, reproducible identities, step specs;
//! - [`rng`]: a seeded generator, and the proptest case count;
//! - [`chunks`]: change chunks made by hand (forged dependencies and sequence numbers);
//! - [`memory_hub`]: an in-memory stand-in for a relay, for tests of the client side;
//! - [`run_hub`]: core's `RunHub` with a clock, replicas that sync with it, and readers
//!   of its effects.
//!
//! With the `relay` feature, for the relay's tests and benches and the `tests/` crate:
//! - `relay`: a relay in this process (`TestRelay`), a client that syncs a run through
//!   it (`SyncClient`), `eventually`, `post` and `get`;
//! - `child`: the relay binary as a child process (`RelayBinary`, `ChildRelay`);
//! - `pg`: the test PostgreSQL and schemas of a test's own;
//! - `proxy`: a TCP proxy that cuts and restores a link.

pub mod chunks;
pub mod fixtures;
pub mod memory_hub;
pub mod rng;
pub mod run_hub;

#[cfg(feature = "relay")]
pub mod child;
#[cfg(feature = "relay")]
pub mod pg;
#[cfg(feature = "relay")]
pub mod proxy;
#[cfg(feature = "relay")]
pub mod relay;
