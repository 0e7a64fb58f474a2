use anyhow::Context;

// mimalloc hands memory back to the OS after idle runs are unloaded; glibc's malloc
// keeps it, so the relay's RSS would only ever grow.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use clap::Parser;
use runmesh_relay::{Args, Config};
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Logs go to stderr; stdout carries only the "listening on" line scripts read.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let config = Config::try_from(Args::parse())?;
    warn_if_open(&config);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    // Tests and scripts read this line to find the port when listening on :0.
    let scheme = if config.tls_cert.is_some() {
        "https"
    } else {
        "http"
    };
    println!(
        "runmesh-relay listening on {scheme}://{addr} (region {})",
        config.region
    );
    tracing::info!(%addr, region = %config.region, data_dir = %config.data_dir.display(), "relay started");
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    runmesh_relay::run(listener, config, shutdown).await?;
    tracing::info!("relay stopped");
    Ok(())
}

async fn stop_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
    shutdown.cancel();
}

/// Says loudly that a relay without auth lets anyone read and write every run.
fn warn_if_open(config: &Config) {
    if config.auth.jwt_secret.is_some() || config.auth.jwt_public_key.is_some() {
        return;
    }
    let exposed = !config.listen.ip().is_loopback();
    eprintln!(
        "\n  ┌────────────────────────────────────────────────────────────────────┐\n  \
         │ runmesh relay is running OPEN: no --jwt-secret / --jwt-public-key. │\n  \
         │ Anyone who can reach {:<45} │\n  \
         │ can read and change every run.                                     │\n  \
         └────────────────────────────────────────────────────────────────────┘\n",
        config.listen.to_string()
            + " "
            + if exposed {
                "(NOT loopback!)"
            } else {
                "(loopback only)"
            },
    );
    tracing::warn!(listen = %config.listen, exposed, "no authentication configured: the relay is open");
}
