//! # runmesh-relay
//!
//! The relay forwards sync between browsers and between relays in other regions, stores
//! runs durably, and serves the REST API, metrics and the web app.
//!
//! - [`config`]: flags (each also an environment variable) checked into a [`Config`].
//! - `ws/`: the `/ws` endpoint, speaking automerge-repo's protocol v1.
//! - `docs/`: one task per document owns its Automerge state and its peers' sync
//!   sessions; changes are stored (fsync) before they are acknowledged or forwarded.
//! - [`store`]: durable storage behind one trait; a directory by default.
//! - `http/`: the spec's REST API, `/health/*`, `/metrics`.
//! - `mesh/`: links to relays in other regions (`CRDT_MESH_PEERS`), both directions.
//! - [`metrics`]: the spec's Prometheus metrics, labelled by region.
//! - [`client`]: the dialling side of the protocol (mesh links, tests, load generator).
//!
//! [`app`] builds the router (tests drive it with `oneshot`); [`run`] serves it until
//! `shutdown` fires.

pub mod auth;
pub mod client;
pub mod config;
mod docs;
mod http;
pub mod limits;
mod mesh;
pub mod metrics;
mod state;
pub mod store;
pub mod tls;
mod ws;

use std::sync::Arc;

use runmesh_core::Identity;
use runmesh_core::sync::PeerId;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use config::{Args, Config};
pub use http::{AppError, USER_HEADER};
pub use state::AppState;

use crate::docs::{DocContext, Registry};
use crate::mesh::Mesh;
use crate::metrics::Metrics;
use crate::store::{DirStore, PgStore, Store};

/// Builds the shared state for `config`, opening its store.
pub fn state(config: Config, shutdown: CancellationToken) -> anyhow::Result<AppState> {
    let store: Arc<dyn Store> = match &config.database_url {
        Some(url) => {
            // The synchronous client runs its own runtime: connect off this one.
            let url = url.clone();
            let store = std::thread::spawn(move || PgStore::connect(&url))
                .join()
                .map_err(|_| anyhow::anyhow!("connecting to PostgreSQL panicked"))?
                .map_err(|e| anyhow::anyhow!("cannot use DATABASE_URL: {e}"))?;
            Arc::new(store)
        }
        None => Arc::new(DirStore::open(&config.data_dir).map_err(|e| {
            anyhow::anyhow!(
                "cannot open the data directory {}: {e}",
                config.data_dir.display()
            )
        })?),
    };
    let identity = Identity::random(&config.region, "relay")?;
    let verifier = auth::Verifier::new(&config.auth).map_err(|e| anyhow::anyhow!(e))?;
    let limits = limits::MutationLimits::new(config.rate_limit_per_minute);
    let mesh_tls = tls::client_config(config.mesh_ca.as_deref()).map_err(|e| anyhow::anyhow!(e))?;
    let ctx = DocContext {
        me: PeerId::random(&format!("relay-{}", config.region)),
        metrics: Arc::new(Metrics::new(&config.region)),
        config: Arc::new(config),
        store,
        registry: Registry::default(),
        identity,
        mesh: Mesh::default(),
        verifier,
        limits,
        mesh_tls,
    };
    Ok(AppState {
        ctx: Arc::new(ctx),
        shutdown,
    })
}

/// The relay's router over `state`.
pub fn app(state: AppState) -> axum::Router {
    http::router(state)
}

/// Serves the relay on `listener` until `shutdown` is cancelled, then stops accepting,
/// ends every session and returns. Every acknowledged change is already on disk.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let tls_server = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => {
            Some(tls::server_config(cert, key).map_err(|e| anyhow::anyhow!(e))?)
        }
        _ => None,
    };
    let state = state(config, shutdown.clone())?;
    mesh::dialer::spawn_all(&state.ctx, &shutdown);
    let router = app(state);
    let stop = async move { shutdown.cancelled().await };
    match tls_server {
        Some(tls) => {
            let listener = tls::TlsListener::new(listener, tls)?;
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<tls::PeerAddr>(),
            )
            .with_graceful_shutdown(stop)
            .await?
        }
        None => {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<tls::PeerAddr>(),
            )
            .with_graceful_shutdown(stop)
            .await?
        }
    }
    Ok(())
}
