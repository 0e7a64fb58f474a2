use std::io::IsTerminal;

use anyhow::Context;
use clap::{Parser, Subcommand};
use runmesh_relay::tools::backup::{self, ExportArgs, ImportArgs};
use runmesh_relay::tools::health::{self, HealthArgs};
use runmesh_relay::tools::token::{self, TokenArgs};
use runmesh_relay::{Args, Config};
use tokio_util::sync::CancellationToken;

// mimalloc hands memory back to the OS after idle runs are unloaded; glibc's malloc
// keeps it, so the relay's RSS would only ever grow.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// runmesh relay: syncs runs between browsers and regions, stores them, and serves the
/// REST API, metrics and the web app. Without a command it serves.
#[derive(Debug, Parser)]
#[command(
    name = "runmesh-relay",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: Args,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Mint a JWT the relay accepts.
    Token(TokenArgs),
    /// Exit 0 if the relay at URL is ready, 1 if not (for container health checks).
    Health(HealthArgs),
    /// Write every stored run to a tar archive (safe while the relay runs).
    Export(ExportArgs),
    /// Merge the runs of an archive into a store (of a stopped relay).
    Import(ImportArgs),
}

fn main() -> anyhow::Result<()> {
    // Logs go to stderr; stdout carries only the "listening on" line scripts read.
    // Automerge logs at ERROR what it refuses of bytes from outside, which the relay
    // handles and reports itself: anyone allowed to write could fill the log with it.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,automerge=off".into()),
        )
        .init();
    let cli = Cli::parse();
    let runtime = || {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")
    };
    match cli.command {
        None => runtime()?.block_on(serve(cli.serve)),
        Some(Command::Token(args)) => {
            println!("{}", token::mint(&args)?);
            Ok(())
        }
        Some(Command::Health(args)) => match runtime()?.block_on(health::probe(&args)) {
            Ok(status) => {
                println!("ready: {status}");
                Ok(())
            }
            Err(e) => {
                eprintln!("not ready: {e}");
                std::process::exit(1);
            }
        },
        Some(Command::Export(args)) => runtime()?.block_on(async {
            let store = args.store.open().await?;
            let copied = if args.out.as_os_str() == "-" {
                anyhow::ensure!(
                    !std::io::stdout().is_terminal(),
                    "refusing to write a tar archive to a terminal: redirect it or give --out"
                );
                backup::export(
                    store.as_ref(),
                    std::io::stdout().lock(),
                    "(standard output)",
                )
                .await?
            } else {
                let file = std::fs::File::create(&args.out)
                    .with_context(|| format!("cannot create {}", args.out.display()))?;
                let label = args.out.display().to_string();
                backup::export(store.as_ref(), std::io::BufWriter::new(file), &label).await?
            };
            eprintln!("exported {} runs, {} bytes", copied.runs, copied.bytes);
            Ok(())
        }),
        Some(Command::Import(args)) => runtime()?.block_on(async {
            backup::quiet_parser_panics();
            let store = args.store.open().await?;
            let retain = args.snapshot_retain.max(1);
            let max = args.max_document_bytes;
            let done = if args.archive.as_os_str() == "-" {
                backup::import(
                    store.as_ref(),
                    std::io::stdin().lock(),
                    "(standard input)",
                    retain,
                    max,
                )
                .await?
            } else {
                let file = std::fs::File::open(&args.archive)
                    .with_context(|| format!("cannot open {}", args.archive.display()))?;
                let label = args.archive.display().to_string();
                backup::import(
                    store.as_ref(),
                    std::io::BufReader::new(file),
                    &label,
                    retain,
                    max,
                )
                .await?
            };
            for (name, why) in &done.refused {
                eprintln!("entry {name} not imported: {why}");
            }
            if let Some(why) = &done.stopped {
                eprintln!("{why}: stopped there, later entries were not read");
            }
            let copied = &done.copied;
            eprintln!("imported {} runs, {} bytes", copied.runs, copied.bytes);
            if !done.complete() {
                anyhow::bail!(
                    "{} entries not imported{} (named above); the others were imported",
                    done.refused.len(),
                    if done.stopped.is_some() {
                        ", and the archive could not be read to its end"
                    } else {
                        ""
                    }
                );
            }
            Ok(())
        }),
    }
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let config = Config::try_from(args)?;
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
    let auth = &config.auth;
    if auth.jwt_secret.is_some() || auth.jwt_public_key.is_some() || auth.jwt_keys.is_some() {
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
