//! `runmesh-relay health [URL]`: asks a relay whether it is ready and exits 0 if it is,
//! 1 if not — what a container's health check runs (the Dockerfile's `HEALTHCHECK`; a
//! shell has no HTTP client in a slim image, and dash has no `/dev/tcp`).

use std::time::Duration;

use clap::Args;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// Probe a relay: `runmesh-relay health http://127.0.0.1:3030`.
#[derive(Debug, Clone, Args)]
pub struct HealthArgs {
    /// The relay's address or a health URL (`http://` or `https://`); without a path,
    /// `/health/ready` is asked.
    #[arg(default_value = "http://127.0.0.1:3030")]
    pub url: String,

    /// Give up after this many seconds.
    #[arg(long, default_value_t = 5)]
    pub timeout_secs: u64,

    /// Extra CA certificates (PEM) to trust for `https://`.
    #[arg(long, env = "MESH_CA")]
    pub ca: Option<std::path::PathBuf>,
}

/// Why the probe did not find the relay ready.
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    /// The URL cannot be used.
    #[error("{0:?} is not an http:// or https:// URL")]
    Url(String),
    /// No answer in time, or no connection.
    #[error("{0}: {1}")]
    Unreachable(String, String),
    /// An answer that is not 200.
    #[error("{0} answered: {1}")]
    NotReady(String, String),
}

struct Target {
    tls: bool,
    host: String,
    port: u16,
    path: String,
}

fn parse(url: &str) -> Option<Target> {
    let (tls, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (true, rest)
    } else {
        (false, url.strip_prefix("http://")?)
    };
    let (authority, path) = match rest.find('/') {
        Some(i) if i + 1 < rest.len() => (&rest[..i], rest[i..].to_owned()),
        Some(i) => (&rest[..i], "/health/ready".to_owned()),
        None => (rest, "/health/ready".to_owned()),
    };
    let port = |p: &str| p.parse::<u16>().ok();
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, p)) if port(p).is_some() => (host.to_owned(), port(p)?),
        _ => (authority.to_owned(), if tls { 443 } else { 80 }),
    };
    (!host.is_empty()).then_some(Target {
        tls,
        host,
        port,
        path,
    })
}

/// Asks the relay; `Ok` with its status line if it answered 200.
pub async fn probe(args: &HealthArgs) -> Result<String, HealthError> {
    let target = parse(&args.url).ok_or_else(|| HealthError::Url(args.url.clone()))?;
    let timeout = Duration::from_secs(args.timeout_secs.max(1));
    let unreachable = |why: String| HealthError::Unreachable(args.url.clone(), why);
    let answer = tokio::time::timeout(timeout, ask(&target, args.ca.as_deref()))
        .await
        .map_err(|_| unreachable(format!("no answer within {} s", timeout.as_secs())))?
        .map_err(unreachable)?;
    let status = answer.lines().next().unwrap_or_default().to_owned();
    if status.split_whitespace().nth(1) == Some("200") {
        Ok(status)
    } else {
        Err(HealthError::NotReady(args.url.clone(), status))
    }
}

async fn ask(target: &Target, ca: Option<&std::path::Path>) -> Result<String, String> {
    let tcp = TcpStream::connect((target.host.trim_matches(['[', ']']), target.port))
        .await
        .map_err(|e| e.to_string())?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        target.path, target.host
    );
    if !target.tls {
        return exchange(tcp, &request).await;
    }
    let config = crate::tls::client_config(ca).map_err(|e| e.to_string())?;
    let name =
        rustls::pki_types::ServerName::try_from(target.host.trim_matches(['[', ']']).to_owned())
            .map_err(|e| e.to_string())?;
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    exchange(tls, &request).await
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    request: &str,
) -> Result<String, String> {
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut head = vec![0; 1024];
    let n = stream.read(&mut head).await.map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(&head[..n]).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_default_to_the_readiness_path_and_their_scheme_s_port() {
        let t = parse("http://127.0.0.1:3030").unwrap();
        assert_eq!(
            (t.tls, t.host.as_str(), t.port, t.path.as_str()),
            (false, "127.0.0.1", 3030, "/health/ready")
        );
        let t = parse("https://relay.example/health/live").unwrap();
        assert_eq!(
            (t.tls, t.port, t.path.as_str()),
            (true, 443, "/health/live")
        );
        assert!(parse("ftp://x").is_none());
        assert!(parse("http://").is_none());
    }
}
