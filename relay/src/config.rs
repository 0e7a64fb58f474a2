//! Configuration in two stages: [`Args`] as clap parses them (every flag also an
//! environment variable), then [`Config`] with typed, checked fields.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

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
    // Resources (issue 32): how long a client may take to send a request, how many
    // connections it may hold, how large a body may be, how long shutdown waits.
    /// Close a connection that has not sent a whole request head (line and headers) this
    /// many seconds after it connected or after its previous response (slowloris).
    #[arg(long, env = "HEADER_READ_TIMEOUT_SECS", default_value_t = 10)]
    pub header_read_timeout_secs: u64,

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

/// Checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Where runs are stored.
    pub data_dir: PathBuf,
    /// This relay's region.
    pub region: String,
    /// Mesh peer URLs.
    pub mesh_peers: Vec<String>,
    /// Snapshot after this many stored batches.
    pub snapshot_interval_events: u32,
    /// Snapshots kept per run.
    pub snapshot_retain: u32,
    /// The built web app, if any.
    pub web_dist: Option<PathBuf>,
    /// Largest frame accepted.
    pub max_frame_bytes: usize,
    /// Idle time before a run is unloaded.
    pub idle_unload: Duration,
    /// Idle time before a run only the mesh touched is unloaded.
    pub mesh_idle_unload: Duration,
    /// Frames queued per peer before it is disconnected.
    pub peer_queue_frames: usize,
    /// Longest wait between mesh reconnect attempts.
    pub mesh_backoff_max: Duration,
    /// PostgreSQL instead of the directory store.
    pub database_url: Option<String>,
    /// Where to LISTEN for other relays' appends, if not `database_url`.
    pub database_listen_url: Option<String>,
    /// TLS certificate chain and key.
    pub tls_cert: Option<PathBuf>,
    /// TLS private key.
    pub tls_key: Option<PathBuf>,
    /// Extra CAs for wss:// mesh peers.
    pub mesh_ca: Option<PathBuf>,
    /// Authentication.
    pub auth: crate::auth::AuthConfig,
    /// Changes per minute per user.
    pub rate_limit_per_minute: std::num::NonZeroU32,
    /// Runs one connection may sync at once.
    pub max_runs_per_connection: usize,
    /// Largest stored size of a run.
    pub max_document_bytes: usize,
    /// Silence after which a connection is closed.
    pub idle_timeout: Duration,
    // Accounting (issue 32).
    /// Reads per minute per caller.
    pub read_rate_limit_per_minute: std::num::NonZeroU32,
    /// Forks per minute per caller.
    pub fork_limit_per_minute: std::num::NonZeroU32,
    /// Callers each rate limit remembers at once.
    pub rate_limit_max_callers: usize,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// The token that reads /metrics.
    pub metrics_token: Option<String>,
    /// How `crdt_lamport_clock` is exported.
    pub lamport_series: crate::metrics::LamportSeries,
    // The change feed (issue 32, "feed").
    /// Change feeds open at once on this relay.
    pub max_sse_subscribers: usize,
    /// Change feeds open at once on one run.
    pub max_sse_subscribers_per_run: usize,
    // Resources (issue 32).
    /// Time a client has to send a request head.
    pub header_read_timeout: Duration,
    /// Time a handler waits for a request body.
    pub body_read_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// Largest body of the small JSON routes.
    pub max_json_body_bytes: usize,
    /// Largest body of `POST …/sync`.
    pub max_sync_body_bytes: usize,
    /// How long shutdown waits for open connections.
    pub shutdown_grace: Duration,
}

/// A flag whose value cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("invalid --{flag} {value:?}: {reason}")]
pub struct ConfigError {
    flag: &'static str,
    value: String,
    reason: String,
}

impl TryFrom<Args> for Config {
    type Error = ConfigError;

    fn try_from(args: Args) -> Result<Self, ConfigError> {
        let bad = |flag, value: &str, reason: &str| ConfigError {
            flag,
            value: value.to_owned(),
            reason: reason.to_owned(),
        };
        let listen = args.listen.parse().map_err(|_| {
            bad(
                "listen",
                &args.listen,
                "expected host:port, e.g. 127.0.0.1:3030",
            )
        })?;
        if args.region.is_empty() || args.region.len() > 64 {
            return Err(bad("region", &args.region, "must be 1 to 64 bytes"));
        }
        let mesh_peers: Vec<String> = args
            .mesh_peers
            .iter()
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect();
        for peer in &mesh_peers {
            if !(peer.starts_with("ws://") || peer.starts_with("wss://")) {
                return Err(bad(
                    "mesh-peers",
                    peer,
                    "each peer must be a ws:// or wss:// URL",
                ));
            }
        }
        if args.snapshot_interval_events == 0 {
            return Err(bad("snapshot-interval-events", "0", "must be at least 1"));
        }
        if args.snapshot_retain == 0 {
            return Err(bad("snapshot-retain", "0", "must be at least 1"));
        }
        if args.max_frame_bytes < 1024 {
            return Err(bad(
                "max-frame-bytes",
                &args.max_frame_bytes.to_string(),
                "must be at least 1024",
            ));
        }
        if args.peer_queue_frames == 0 {
            return Err(bad("peer-queue-frames", "0", "must be at least 1"));
        }
        let jwt_public_key = match &args.jwt_public_key {
            Some(path) => Some(std::fs::read_to_string(path).map_err(|e| {
                bad(
                    "jwt-public-key",
                    &path.display().to_string(),
                    &e.to_string(),
                )
            })?),
            None => None,
        };
        let mut mesh_allow = Vec::new();
        for ip in args
            .mesh_allow
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
        {
            mesh_allow.push(
                ip.parse::<std::net::IpAddr>()
                    .map_err(|_| bad("mesh-allow", ip, "expected IP addresses, comma-separated"))?
                    .to_canonical(),
            );
        }
        let auth = crate::auth::AuthConfig {
            jwt_secret: args.jwt_secret.clone(),
            jwt_public_key,
            jwt_keys: args.jwt_keys.clone(),
            mesh_token: args.mesh_token.clone(),
            mesh_allow,
        };
        crate::auth::Verifier::new(&auth)
            .map_err(|e| bad("jwt-secret/jwt-public-key/mesh-token", "…", &e.to_string()))?;
        if args.tls_cert.is_some() != args.tls_key.is_some() {
            return Err(bad("tls-cert/tls-key", "…", "give both or neither"));
        }
        let rate_limit_per_minute = std::num::NonZeroU32::new(args.rate_limit_per_minute)
            .ok_or_else(|| bad("rate-limit-per-minute", "0", "must be at least 1"))?;
        if args.max_runs_per_connection == 0 {
            return Err(bad("max-runs-per-connection", "0", "must be at least 1"));
        }
        if args.idle_timeout_secs < 31 {
            return Err(bad(
                "idle-timeout-secs",
                &args.idle_timeout_secs.to_string(),
                "must be more than the 30 s ping interval",
            ));
        }
        // Accounting (issue 32).
        let per_minute = |flag, value: u32| {
            std::num::NonZeroU32::new(value).ok_or_else(|| bad(flag, "0", "must be at least 1"))
        };
        let read_rate_limit_per_minute = per_minute(
            "read-rate-limit-per-minute",
            args.read_rate_limit_per_minute,
        )?;
        let fork_limit_per_minute =
            per_minute("fork-limit-per-minute", args.fork_limit_per_minute)?;
        if args.rate_limit_max_callers == 0 {
            return Err(bad("rate-limit-max-callers", "0", "must be at least 1"));
        }
        let mut trusted_proxies = Vec::new();
        for ip in args
            .trusted_proxies
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
        {
            trusted_proxies.push(
                ip.parse::<std::net::IpAddr>()
                    .map_err(|_| {
                        bad(
                            "trusted-proxies",
                            ip,
                            "expected IP addresses, comma-separated",
                        )
                    })?
                    .to_canonical(),
            );
        }
        let metrics_token = args.metrics_token.filter(|t| !t.is_empty());
        if let Some(token) = &metrics_token
            && token.len() < 16
        {
            return Err(bad("metrics-token", "…", "must be at least 16 bytes"));
        }
        let lamport_series = if args.metrics_run_labels {
            crate::metrics::LamportSeries::PerRun
        } else {
            crate::metrics::LamportSeries::Highest
        };
        // The change feed (issue 32, "feed").
        if args.max_sse_subscribers == 0 {
            return Err(bad("max-sse-subscribers", "0", "must be at least 1"));
        }
        if args.max_sse_subscribers_per_run == 0 {
            return Err(bad(
                "max-sse-subscribers-per-run",
                "0",
                "must be at least 1",
            ));
        }
        // Resources (issue 32).
        for (flag, secs) in [
            ("header-read-timeout-secs", args.header_read_timeout_secs),
            ("body-read-timeout-secs", args.body_read_timeout_secs),
        ] {
            if secs == 0 {
                return Err(bad(flag, "0", "must be at least 1"));
            }
        }
        if args.max_connections == 0 {
            return Err(bad("max-connections", "0", "must be at least 1"));
        }
        if args.max_json_body_bytes < 1024 {
            return Err(bad(
                "max-json-body-bytes",
                &args.max_json_body_bytes.to_string(),
                "must be at least 1024",
            ));
        }
        if args.max_sync_body_bytes < args.max_json_body_bytes {
            return Err(bad(
                "max-sync-body-bytes",
                &args.max_sync_body_bytes.to_string(),
                "must be at least --max-json-body-bytes",
            ));
        }
        Ok(Self {
            listen,
            data_dir: args.data_dir,
            region: args.region,
            mesh_peers,
            snapshot_interval_events: args.snapshot_interval_events,
            snapshot_retain: args.snapshot_retain,
            web_dist: args.web_dist,
            max_frame_bytes: args.max_frame_bytes,
            idle_unload: Duration::from_secs(args.idle_unload_secs),
            mesh_idle_unload: Duration::from_millis(args.mesh_idle_unload_ms),
            peer_queue_frames: args.peer_queue_frames,
            mesh_backoff_max: Duration::from_millis(args.mesh_backoff_max_ms.max(100)),
            database_url: args.database_url.filter(|u| !u.trim().is_empty()),
            database_listen_url: args.database_listen_url.filter(|u| !u.trim().is_empty()),
            tls_cert: args.tls_cert,
            tls_key: args.tls_key,
            mesh_ca: args.mesh_ca,
            auth,
            rate_limit_per_minute,
            max_runs_per_connection: args.max_runs_per_connection,
            max_document_bytes: args.max_document_bytes,
            idle_timeout: Duration::from_secs(args.idle_timeout_secs),
            read_rate_limit_per_minute,
            fork_limit_per_minute,
            rate_limit_max_callers: args.rate_limit_max_callers,
            trusted_proxies,
            metrics_token,
            lamport_series,
            max_sse_subscribers: args.max_sse_subscribers,
            max_sse_subscribers_per_run: args.max_sse_subscribers_per_run,
            header_read_timeout: Duration::from_secs(args.header_read_timeout_secs),
            body_read_timeout: Duration::from_secs(args.body_read_timeout_secs),
            max_connections: args.max_connections,
            max_json_body_bytes: args.max_json_body_bytes,
            max_sync_body_bytes: args.max_sync_body_bytes,
            shutdown_grace: Duration::from_secs(args.shutdown_grace_secs),
        })
    }
}

impl Config {
    /// Defaults for tests and embedding: loopback, port 0, the given data directory, and
    /// rate limits high enough not to throttle load tests (tests of a limit set theirs).
    pub fn for_tests(data_dir: PathBuf, region: &str) -> Self {
        let args = Args::parse_from([
            "runmesh-relay",
            "--listen",
            "127.0.0.1:0",
            "--region",
            region,
            "--rate-limit-per-minute",
            "100000000",
            "--read-rate-limit-per-minute",
            "100000000",
            "--fork-limit-per-minute",
            "100000000",
        ]);
        let mut config = Config::try_from(args).expect("defaults are valid");
        config.data_dir = data_dir;
        config
    }
}

#[cfg(test)]
mod tests;
