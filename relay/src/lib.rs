//! runmesh-relay: placeholder until the relay issue lands.

/// The relay's version.
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
