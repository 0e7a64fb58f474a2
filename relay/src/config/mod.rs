//! Configuration in two stages: [`Args`] as clap parses them (every flag also an
//! environment variable), then [`Config`] with typed, checked fields.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

mod args;

pub use args::Args;

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
    /// What runs in memory only for the mesh may weigh together.
    pub mesh_catch_up_bytes: usize,
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
    /// What all runs in memory may weigh together.
    pub max_loaded_bytes: usize,
    /// What the runs one caller holds open may weigh in memory.
    pub max_loaded_bytes_per_caller: usize,
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
    /// WebSockets and change feeds one caller may hold open.
    pub max_streams_per_caller: usize,
    // Resources (issue 32).
    /// Time a client has to send a request head.
    pub header_read_timeout: Duration,
    /// How long a write may wait for the client to read.
    pub write_stall_timeout: Duration,
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
        if args.max_loaded_bytes_per_caller == Some(0) {
            return Err(bad(
                "max-loaded-bytes-per-caller",
                "0",
                "must be at least 1",
            ));
        }
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
        if args.max_streams_per_caller == 0 {
            return Err(bad("max-streams-per-caller", "0", "must be at least 1"));
        }
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
            ("write-stall-timeout-secs", args.write_stall_timeout_secs),
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
            mesh_catch_up_bytes: args.mesh_catch_up_bytes,
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
            max_loaded_bytes: args.max_loaded_bytes,
            max_loaded_bytes_per_caller: args
                .max_loaded_bytes_per_caller
                .unwrap_or(args.max_loaded_bytes / 4),
            idle_timeout: Duration::from_secs(args.idle_timeout_secs),
            read_rate_limit_per_minute,
            fork_limit_per_minute,
            rate_limit_max_callers: args.rate_limit_max_callers,
            trusted_proxies,
            metrics_token,
            lamport_series,
            max_sse_subscribers: args.max_sse_subscribers,
            max_streams_per_caller: args.max_streams_per_caller,
            max_sse_subscribers_per_run: args.max_sse_subscribers_per_run,
            header_read_timeout: Duration::from_secs(args.header_read_timeout_secs),
            write_stall_timeout: Duration::from_secs(args.write_stall_timeout_secs),
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
        let args = <Args as clap::Parser>::parse_from([
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
