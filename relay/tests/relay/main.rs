//! The relay's integration tests against real relays on 127.0.0.1, as one test binary:
//! one link and one copy on disk instead of one per file (each is ~80 MB with line tables,
//! and CI machines have little disk to spare). Run one area with
//! `cargo test -p runmesh-relay --test relay auth::`.

use runmesh_testkit::child::RelayBinary;

/// The relay binary cargo built for these tests, for the kit's child-process relay.
const RELAY: RelayBinary = RelayBinary(env!("CARGO_BIN_EXE_runmesh-relay"));

mod accounting;
mod answers;
mod auth;
mod auth_mesh;
mod body_limits;
mod connection_cap;
mod deploy_files;
mod durability;
mod feed;
mod feed_survives;
mod hostile_bytes;
mod import;
mod jwt;
mod limits;
mod lineage;
mod memory_share;
mod observability;
mod operations;
mod peer_claims;
mod pg_digests;
mod pg_migration;
mod pg_tls;
mod raw;
mod rest;
mod rest_past;
mod router;
mod run_weight;
mod shared_db;
mod shutdown;
mod slow_consumer;
mod slowloris;
mod sse;
mod store;
mod streams;
mod sync;
mod tls;
mod token_expiry;
mod token_query;
mod unknown_runs;
mod unread_queue;
mod web_app;
