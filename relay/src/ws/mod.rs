//! WebSocket peers: the `/ws` endpoint clients (and other relays) connect to.

pub(crate) mod session;
mod socket;

pub use socket::ws_handler;
