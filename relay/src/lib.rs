//! # runmesh-relay
//!
//! The relay forwards sync between browsers and between relays in other regions, stores
//! runs durably, and serves the REST API, metrics and the web app. It is a thin shell:
//! the rules of each run — what is stored before anything leaves, when a client waits for
//! the mesh, which peers hear what — are decided by core's sans-IO
//! [hub](runmesh_core::hub); the relay performs what the hub asks (sockets, disk, timers).
//!
//! From the top down (each module uses only those below it):
//! - `http/`: the REST API, `/health/*`, `/metrics`, the `/ws` upgrade, the web app.
//! - `mesh/`: links to relays in other regions (`CRDT_MESH_PEERS`), both directions.
//! - `ws/`: a joined WebSocket peer: frames decoded once, checked, routed to runs.
//! - `docs/`: one task per run in memory, each driving that run's hub.
//! - [`store`], [`auth`], [`limits`], [`metrics`], [`config`], [`tls`], [`client`]:
//!   storage behind one trait, credentials, rate limits, the spec's metrics, flags, TLS,
//!   and the dialling side of the protocol.
//! - `serve`: accepting connections under a cap, a deadline on request heads, and a
//!   shutdown that ends within its grace period.
//! - [`tools`]: the binary's other commands (`token`, `health`, `export`, `import`).
//!
//! [`state`] builds the handles for a [`Config`]; [`app`] builds the router (tests drive
//! it with `oneshot`); [`run`] serves it until `shutdown` fires.

pub mod auth;
pub mod client;
pub mod config;
mod http;
pub mod limits;
mod mesh;
pub mod metrics;
mod runs;
mod serve;
pub mod store;
pub mod tls;
pub mod tools;
mod ws;

use std::sync::Arc;
use std::time::{Duration, Instant};

use runmesh_core::Identity;
use runmesh_core::hub::{HubConfig, MemoryBudget};
use runmesh_core::node::Holdings;
use runmesh_core::sync::PeerId;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use config::{Args, Config};
pub use http::{AppError, AppState, BodyLimits, Subscribers, USER_HEADER};

use crate::mesh::Mesh;
use crate::mesh::dialer::DialPlan;
use crate::metrics::Metrics;
use crate::runs::{Divergence, Documents, MeshLinks, Reconciler, TaskEnv};
use crate::store::{DirStore, PgStore, Store};
use crate::ws::{SessionEnv, SessionLimits};

/// How long a client's request for an unknown run waits for the mesh.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(3);
/// How long start-up waits for the database's notification feed to listen.
const FEED_WAIT: Duration = Duration::from_secs(10);

/// Builds the relay's handles for `config`, opening its store.
pub async fn state(config: &Config, shutdown: CancellationToken) -> anyhow::Result<AppState> {
    let store = open_store(config).await?;
    let mut feed = store.feed();
    if let Some(feed) = &mut feed
        && !runs::until_listening(feed, FEED_WAIT).await
    {
        tracing::warn!(
            "the database notification feed is not listening yet; the mesh will treat every stored run as unknown once it is"
        );
    }
    let me = PeerId::random(&format!("relay-{}", config.region));
    let metrics = Arc::new(Metrics::new(&config.region, config.lamport_series));
    let (live, mesh_links) = tokio::sync::watch::channel(MeshLinks::default());
    let divergence = Divergence::default();
    let reconciler = Reconciler::new(me.clone());
    index_stored_runs(store.as_ref(), &reconciler).await?;
    let budget = Arc::new(MemoryBudget::new(config.max_loaded_bytes));
    let holdings: Arc<limits::MemoryShares> = Arc::new(Holdings::new(
        budget.clone(),
        config.max_loaded_bytes_per_caller,
    ));
    tokio::spawn(limits::sweep(
        holdings.clone(),
        me.clone(),
        shutdown.clone(),
    ));
    let reach = runs::Reach::new(me.clone(), config.region.clone(), store.epoch());
    let docs = Documents::new(TaskEnv {
        store,
        metrics: metrics.clone(),
        hub: Arc::new(HubConfig {
            me: me.clone(),
            identity: Identity::random(&config.region, "relay")?,
            max_document_bytes: config.max_document_bytes,
            snapshot_interval_events: config.snapshot_interval_events,
            lookup_timeout: LOOKUP_TIMEOUT.as_millis() as u64,
            trust_mesh: config.auth.mesh_token.is_some(),
            budget: Some(budget),
        }),
        mesh: mesh_links,
        divergence: divergence.clone(),
        reconciler,
        reach,
        snapshot_retain: config.snapshot_retain,
        idle: runmesh_core::node::IdlePeriods {
            used: config.idle_unload.as_millis() as u64,
            untouched: config.mesh_idle_unload.as_millis() as u64,
        },
        started: Instant::now(),
        titles: runs::Titles::default(),
        loads: Arc::new(tokio::sync::Semaphore::new(runs::load_permits())),
        mesh_residents: std::sync::Mutex::new(runmesh_core::node::MeshResidents::new(
            config.mesh_catch_up_bytes,
        )),
    });
    let limits = Arc::new(limits::Limits::new(&limits::LimitsConfig {
        changes_per_minute: config.rate_limit_per_minute,
        reads_per_minute: config.read_rate_limit_per_minute,
        forks_per_minute: config.fork_limit_per_minute,
        max_callers: config.rate_limit_max_callers,
        trusted_proxies: config.trusted_proxies.clone(),
    }));
    let sessions = SessionEnv {
        docs: docs.clone(),
        limits: limits.clone(),
        holdings,
        metrics: metrics.clone(),
        me: me.clone(),
        config: SessionLimits {
            max_frame_bytes: config.max_frame_bytes,
            max_runs_per_connection: config.max_runs_per_connection,
            peer_queue_frames: config.peer_queue_frames,
            idle_timeout: config.idle_timeout,
            write_stall_timeout: config.write_stall_timeout,
        },
        claims: Arc::default(),
    };
    let mesh = Mesh::new(
        config.region.clone(),
        live,
        docs.clone(),
        divergence,
        metrics.clone(),
    );
    if let Some(feed) = feed {
        tokio::spawn(runs::fan_out(feed, docs.clone(), shutdown.clone()));
    }
    tokio::spawn(docs.clone().bound_mesh_residents(shutdown.clone()));
    Ok(AppState {
        docs,
        mesh: Arc::new(mesh),
        sessions,
        verifier: auth::Verifier::new(&config.auth)?,
        limits,
        metrics,
        metrics_token: config.metrics_token.as_deref().map(Arc::from),
        region: config.region.as_str().into(),
        me,
        shutdown,
        streams: limits::Streams::new(config.max_streams_per_caller),
        subscribers: Subscribers::new(
            config.max_sse_subscribers,
            config.max_sse_subscribers_per_run,
        ),
        body: BodyLimits {
            json_bytes: config.max_json_body_bytes,
            sync_bytes: config.max_sync_body_bytes,
            read_timeout: config.body_read_timeout,
        },
        upgraded: tokio_util::task::TaskTracker::new(),
    })
}

/// Fills the digest index from the store, without loading any run.
async fn index_stored_runs(store: &dyn Store, reconciler: &Reconciler) -> anyhow::Result<()> {
    let started = Instant::now();
    let listed = store
        .fingerprints()
        .await
        .map_err(|e| anyhow::anyhow!("cannot list the stored runs: {e}"))?;
    let (runs, mut unknown) = (listed.len(), 0);
    for (run, fingerprint) in listed {
        unknown += usize::from(fingerprint.is_none());
        reconciler.listed(run, fingerprint);
    }
    tracing::info!(
        runs,
        unknown,
        ms = started.elapsed().as_millis() as u64,
        "indexed the stored runs for the mesh"
    );
    Ok(())
}

async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match &config.database_url {
        Some(url) => {
            let mut store = PgStore::connect(url)
                .await
                .map_err(|e| anyhow::anyhow!("cannot use DATABASE_URL: {e}"))?;
            if let Some(listen) = &config.database_listen_url {
                store = store.listen_on(listen)?;
            }
            Arc::new(store)
        }
        None => Arc::new(DirStore::open(&config.data_dir).map_err(|e| {
            anyhow::anyhow!(
                "cannot open the data directory {}: {e}",
                config.data_dir.display()
            )
        })?),
    })
}

/// The relay's router over `state`, without the web app.
pub fn app(state: AppState) -> axum::Router {
    http::router(state, None)
}

/// Serves the relay on `listener` until `shutdown` is cancelled, then stops accepting,
/// ends every session and returns, within `config.shutdown_grace` (what is still open
/// then is dropped). Every acknowledged change is already on disk.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let tls_server = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(tls::server_config(cert, key)?),
        _ => None,
    };
    let max_connections =
        serve::fds::connections_within_limit(config.max_connections, serve::PROBE_SLOTS)?;
    let state = state(&config, shutdown.clone()).await?;
    let plan = DialPlan {
        urls: config.mesh_peers.clone(),
        token: state.verifier.mesh_token().map(str::to_owned),
        tls: tls::client_config(config.mesh_ca.as_deref())?,
        backoff_max: config.mesh_backoff_max,
    };
    mesh::dialer::spawn_all(state.mesh.clone(), state.sessions.clone(), plan, &shutdown);
    auth::reload_on_hangup(state.verifier.clone(), shutdown.clone());
    let docs = state.docs.clone();
    let upgraded = state.upgraded.clone();
    let router = http::router(state, config.web_dist.as_deref());
    let limits = serve::ServeLimits {
        max_connections,
        header_read_timeout: config.header_read_timeout,
        write_stall_timeout: config.write_stall_timeout,
        grace: config.shutdown_grace,
    };
    serve::serve(listener, tls_server, router, limits, shutdown, upgraded).await;
    // No write after this one: the store may note that it was closed cleanly.
    docs.close_store().await;
    Ok(())
}
