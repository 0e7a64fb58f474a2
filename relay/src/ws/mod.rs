//! WebSocket peers: the `/ws` endpoint clients and other relays connect to, and the
//! session logic the mesh's outbound links share.

pub(crate) mod pump;
pub(crate) mod session;
mod socket;

pub use socket::ws_handler;
