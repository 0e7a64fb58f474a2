//! One connection, served as HTTP/1.1 by hyper with a deadline on each request head and
//! WebSocket upgrades allowed; on shutdown it finishes the request under way and closes.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::pin;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::http::AppError;
use crate::serve::stall::Stall;
use crate::tls::PeerAddr;

/// The paths a connection over the cap may still ask for: the health probes.
const PROBES: [&str; 4] = [
    "/health",
    "/health/live",
    "/health/ready",
    "/actuator/health",
];

/// How long a connection over the cap may take to send its probe: such a slot is
/// scarce, so a slow client holds it only briefly.
const PROBE_HEADER_TIMEOUT: Duration = Duration::from_secs(2);

/// How a connection is served.
#[derive(Debug, Clone, Copy)]
pub enum Lane {
    /// In full.
    Served,
    /// Over the cap: one request, a health probe or 503 naming the cap.
    ProbeOnly {
        /// The cap, for the 503.
        max_connections: usize,
    },
}

/// What serving a connection needs.
#[derive(Debug, Clone)]
pub struct Conn {
    /// The relay's routes.
    pub router: Router,
    /// Where the connection comes from.
    pub addr: SocketAddr,
    /// Time for each request head.
    pub header_read_timeout: Duration,
    /// How long a write may wait for the client to read ([`Stall`]).
    pub write_stall_timeout: Duration,
    /// Full or probes only.
    pub lane: Lane,
    /// Fires on shutdown.
    pub shutdown: CancellationToken,
}

impl Conn {
    /// Serves requests on `io` until the client closes, a deadline passes, or shutdown.
    pub async fn serve<I>(self, io: I)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Conn {
            router,
            addr,
            header_read_timeout,
            write_stall_timeout,
            lane,
            shutdown,
        } = self;
        let mut builder = http1::Builder::new();
        // The timer is what makes hyper enforce the deadline: it runs from the moment
        // hyper waits for a request head (on connecting, and after each response, so an
        // idle keep-alive connection is closed too) until the head is read whole.
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(header_read_timeout);
        let probes_only = match lane {
            Lane::Served => None,
            Lane::ProbeOnly { max_connections } => {
                builder
                    .keep_alive(false)
                    .header_read_timeout(header_read_timeout.min(PROBE_HEADER_TIMEOUT));
                Some(max_connections)
            }
        };
        let service = service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(PeerAddr(addr)));
            let router = router.clone();
            async move {
                if let Some(max) = probes_only
                    && !PROBES.contains(&request.uri().path())
                {
                    return Ok::<_, Infallible>(busy(max));
                }
                router.oneshot(request.map(Body::new)).await
            }
        });
        let mut conn = pin!(
            builder
                .serve_connection(TokioIo::new(Stall::new(io, write_stall_timeout)), service)
                .with_upgrades()
        );
        let ended = tokio::select! {
            ended = conn.as_mut() => ended,
            () = shutdown.cancelled() => {
                conn.as_mut().graceful_shutdown();
                conn.await
            }
        };
        if let Err(e) = ended {
            tracing::debug!(%addr, error = %e, "connection ended");
        }
    }
}

fn busy(max: usize) -> Response {
    AppError::Unavailable(format!(
        "the relay serves its limit of {max} connections (--max-connections); \
         only health probes are answered now, try again later"
    ))
    .into_response()
}
