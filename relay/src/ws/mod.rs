//! WebSocket peers after the upgrade: the server side's handshake (`server.rs`), the
//! [`Session`] that decodes and routes each frame, and the [`pump`](pump::pump) both the
//! server's sockets and the mesh's outbound ones run through.

pub(crate) mod pump;
pub(crate) mod server;
mod session;

pub use session::{Session, SessionEnv, SessionLimits};
