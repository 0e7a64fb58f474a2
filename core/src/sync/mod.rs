//! The sans-IO sync engine: automerge-repo's wire protocol (v1), the handshake, and each
//! document's sync sessions. The relay and clients drive it; it performs no I/O.

mod client;
mod doc_sync;
pub mod handshake;
mod peer_id;
mod receive;
mod whole_doc;
mod wire;
mod wire_decode;

pub use client::{
    ClientError, ClientSync, MAX_CLIENT_FRAME_BYTES, MAX_CLIENT_RUN_WEIGHT, Received,
};
pub use doc_sync::{DocSync, SyncError, change_bytes, decode_message, kept_bytes};
pub use peer_id::PeerId;
pub use wire::{PROTOCOL_V1, PeerMetadata, WireError, WireMessage};
