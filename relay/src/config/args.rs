//! [`Args`]: the relay's flags as clap parses them, every one also an environment
//! variable. [`super::Config`] checks them.

use std::path::PathBuf;

use clap::Parser;

/// runmesh relay: syncs runs between browsers and regions, stores them, and serves the
/// REST API, metrics and the web app.
#[derive(Debug, Clone, Parser)]
#[command(name = "runmesh-relay", version, about)]
pub struct Args {
    /// Address to listen on for WebSocket (/ws), REST, metrics and the web app.
    #[arg(long, env = "LISTEN", default_value = "127.0.0.1:3030")]
    pub listen: String,

    /// Directory where runs are stored (created if missing).
    #[arg(long, env = "DATA_DIR", default_value = "./runmesh-data")]
    pub data_dir: PathBuf,

    /// This relay's region, written into the changes it makes and its metrics.
    #[arg(long, env = "REGION", default_value = "local")]
    pub region: String,

    /// Relays in other regions to sync with: comma-separated ws:// or wss:// URLs.
    #[arg(
        long,
        env = "CRDT_MESH_PEERS",
        default_value = "",
        value_delimiter = ','
    )]
    pub mesh_peers: Vec<String>,

    /// Write a full snapshot of a run after this many stored change batches.
    #[arg(long, env = "SNAPSHOT_INTERVAL_EVENTS", default_value_t = 100)]
    pub snapshot_interval_events: u32,

    /// How many snapshots to keep per run (older ones and their logs are deleted).
    #[arg(long, env = "SNAPSHOT_RETAIN", default_value_t = 10)]
    pub snapshot_retain: u32,

    /// Serve the built web app from this directory at `/`.
    #[arg(long, env = "WEB_DIST")]
    pub web_dist: Option<PathBuf>,

    /// Largest WebSocket frame accepted, in bytes; larger frames close that socket.
    #[arg(long, env = "MAX_FRAME_BYTES", default_value_t = 16 * 1024 * 1024)]
    pub max_frame_bytes: usize,

    /// Unload a run from memory after this many seconds without peers or requests.
    #[arg(long, env = "IDLE_UNLOAD_SECS", default_value_t = 30)]
    pub idle_unload_secs: u64,

    /// Unload a run only other relays have touched since it was loaded (no client, no
    /// REST call) after this many milliseconds idle: copying a region's runs then holds
    /// a few seconds' worth in memory, not all of them.
    #[arg(long, env = "MESH_IDLE_UNLOAD_MS", default_value_t = 2000)]
    pub mesh_idle_unload_ms: u64,

    /// What the runs in memory only for other relays (a catch-up's, at either end of a
    /// link) may weigh together, as --max-loaded-bytes weighs runs: past it the oldest
    /// idle ones leave memory at once and catch-ups offer fewer runs at a time.
    #[arg(long, env = "MESH_CATCH_UP_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub mesh_catch_up_bytes: usize,

    /// Frames queued for one peer before it counts as too slow and is disconnected.
    #[arg(long, env = "PEER_QUEUE_FRAMES", default_value_t = 1024)]
    pub peer_queue_frames: usize,

    /// Longest wait between attempts to reach a mesh peer, in milliseconds (the wait
    /// doubles from 100 ms up to this, with ±50 % jitter).
    #[arg(long, env = "MESH_BACKOFF_MAX_MS", default_value_t = 400)]
    pub mesh_backoff_max_ms: u64,

    /// Serve https:// and wss:// with this certificate chain (PEM; needs --tls-key).
    #[arg(long, env = "TLS_CERT")]
    pub tls_cert: Option<PathBuf>,

    /// The private key for --tls-cert (PEM).
    #[arg(long, env = "TLS_KEY")]
    pub tls_key: Option<PathBuf>,

    /// Extra CA certificates (PEM) to trust when dialling wss:// mesh peers.
    #[arg(long, env = "MESH_CA")]
    pub mesh_ca: Option<PathBuf>,

    /// Store runs in PostgreSQL instead of --data-dir (postgres://user:password@host/db).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Where to LISTEN for other relays' changes, if not DATABASE_URL (behind PgBouncer in
    /// transaction mode: PostgreSQL itself).
    #[arg(long, env = "DATABASE_LISTEN_URL", hide_env_values = true)]
    pub database_listen_url: Option<String>,

    /// Require JWTs signed with this HS256 secret (at least 16 bytes) on /ws and the REST API.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// Require JWTs verified by this public key (a PEM file: RSA for RS256, EC P-256 for ES256).
    #[arg(long, env = "JWT_PUBLIC_KEY")]
    pub jwt_public_key: Option<PathBuf>,

    /// Also accept JWTs verified by any key in this file (`hs256 <secret>`, `rs256 <pem
    /// file>` or `es256 <pem file>` per line), re-read on SIGHUP: how keys are rotated.
    #[arg(long, env = "JWT_KEYS")]
    pub jwt_keys: Option<PathBuf>,

    /// The token mesh peers present, and this relay presents when it dials them (at least 16 bytes).
    #[arg(long, env = "MESH_TOKEN", hide_env_values = true)]
    pub mesh_token: Option<String>,

    /// Addresses mesh peers may connect from (comma-separated IPs; empty: any).
    #[arg(long, env = "MESH_ALLOW", default_value = "", value_delimiter = ',')]
    pub mesh_allow: Vec<String>,

    /// Changes per minute each user may make on this relay (REST and WebSocket).
    #[arg(long, env = "RATE_LIMIT_PER_MINUTE", default_value_t = 1000)]
    pub rate_limit_per_minute: u32,

    /// Largest a run may grow, in stored bytes; changes past it are refused.
    #[arg(long, env = "MAX_DOCUMENT_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_document_bytes: usize,

    /// What all runs in memory may weigh together (as --max-document-bytes weighs one):
    /// past it, changes that would grow them are refused and runs that would be loaded
    /// wait (503), until idle runs leave memory.
    #[arg(long, env = "MAX_LOADED_BYTES", default_value_t = 1024 * 1024 * 1024)]
    pub max_loaded_bytes: usize,

    /// What the runs one caller (a token's subject, else a client address) holds open
    /// over its connections may weigh in memory; past it, it may not open more runs nor
    /// send changes until it closes some. Default: a quarter of --max-loaded-bytes.
    #[arg(long, env = "MAX_LOADED_BYTES_PER_CALLER")]
    pub max_loaded_bytes_per_caller: Option<usize>,

    /// Runs one connection may sync at once.
    #[arg(long, env = "MAX_RUNS_PER_CONNECTION", default_value_t = 1000)]
    pub max_runs_per_connection: usize,

    /// Close a connection that sends nothing, not even a pong to the relay's pings (every
    /// 30 s), for this many seconds.
    #[arg(long, env = "IDLE_TIMEOUT_SECS", default_value_t = 90)]
    pub idle_timeout_secs: u64,

    // Accounting (issue 32): what a caller may make the relay count, hold and expose.
    /// Reads (authenticated GETs) per minute each caller may make on this relay.
    #[arg(long, env = "READ_RATE_LIMIT_PER_MINUTE", default_value_t = 6000)]
    pub read_rate_limit_per_minute: u32,

    /// Forks per minute each caller may make on this relay (each stores a whole new run).
    #[arg(long, env = "FORK_LIMIT_PER_MINUTE", default_value_t = 10)]
    pub fork_limit_per_minute: u32,

    /// Callers whose allowances each rate limit remembers at once (one entry per token
    /// subject, or per client address in open mode); past it, new callers get 429 until
    /// one has been idle for a minute.
    #[arg(long, env = "RATE_LIMIT_MAX_CALLERS", default_value_t = 100_000)]
    pub rate_limit_max_callers: usize,

    /// Reverse proxies (comma-separated IPs) whose `X-Forwarded-For` names the client
    /// that rate limits count in open mode; from anyone else the header is ignored.
    #[arg(
        long,
        env = "TRUSTED_PROXIES",
        default_value = "",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<String>,

    /// The bearer token Prometheus presents to read /metrics (at least 16 bytes). Without
    /// it, /metrics is open in open mode and needs a token granting read on every run
    /// ("*") when auth is on.
    #[arg(long, env = "METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// Label crdt_lamport_clock with the id of each loaded run (up to 1,000 series);
    /// without it, one series per relay holds the highest clock seen.
    #[arg(long, env = "METRICS_RUN_LABELS")]
    pub metrics_run_labels: bool,

    // The change feed (issue 32, "feed"): caps on open SSE streams.
    /// Change feeds (`GET …/events` streams) open at once on this relay; more are
    /// refused with 503.
    #[arg(long, env = "MAX_SSE_SUBSCRIBERS", default_value_t = 5000)]
    pub max_sse_subscribers: usize,

    /// Change feeds open at once on one run; more are refused with 503.
    #[arg(long, env = "MAX_SSE_SUBSCRIBERS_PER_RUN", default_value_t = 2500)]
    pub max_sse_subscribers_per_run: usize,

    /// WebSocket sessions and change feeds one caller (a token's subject, else a client
    /// address) may hold open at once; more are refused with 503. Mesh peers presenting
    /// the mesh token are not counted.
    #[arg(long, env = "MAX_STREAMS_PER_CALLER", default_value_t = 256)]
    pub max_streams_per_caller: usize,
    // Resources (issue 32): how long a client may take to send a request, how many
    // connections it may hold, how large a body may be, how long shutdown waits.
    /// Close a connection that has not sent a whole request head (line and headers) this
    /// many seconds after it connected or after its previous response (slowloris).
    #[arg(long, env = "HEADER_READ_TIMEOUT_SECS", default_value_t = 10)]
    pub header_read_timeout_secs: u64,

    /// Close a connection whose client reads nothing of what the relay writes for this
    /// many seconds (an answer, a change feed, a WebSocket).
    #[arg(long, env = "WRITE_STALL_TIMEOUT_SECS", default_value_t = 30)]
    pub write_stall_timeout_secs: u64,

    /// Answer 408 to a request whose body has not arrived whole this many seconds after
    /// the handler started reading it.
    #[arg(long, env = "BODY_READ_TIMEOUT_SECS", default_value_t = 30)]
    pub body_read_timeout_secs: u64,

    /// Connections served at once (HTTP and WebSocket, TLS handshakes included). Over
    /// it, 32 more are read for a health probe each (503 to anything else), the oldest
    /// of them closed when a newer one needs its place. Lowered at start-up to what the
    /// open-file limit allows. The default holds 5,000 slow sockets and 2,000 SSE
    /// streams at once with room to spare (~210 MiB, docs/benchmarks.md).
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 8192)]
    pub max_connections: usize,

    /// Largest JSON body of the REST API's small routes (runs, grafts, flags, undo,
    /// fork, merge, register-peer), in bytes; larger ones get 413.
    #[arg(long, env = "MAX_JSON_BODY_BYTES", default_value_t = 64 * 1024)]
    pub max_json_body_bytes: usize,

    /// Largest body of `POST …/sync`, in bytes (base64 of Automerge bytes: the default
    /// carries a 16 MiB document, the default --max-frame-bytes); larger ones get 413.
    #[arg(long, env = "MAX_SYNC_BODY_BYTES", default_value_t = 24 * 1024 * 1024)]
    pub max_sync_body_bytes: usize,

    /// On SIGTERM, wait this many seconds for open requests, streams and sockets to
    /// end before dropping them and exiting.
    #[arg(long, env = "SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    pub shutdown_grace_secs: u64,
    // End of resources (issue 32).
}
