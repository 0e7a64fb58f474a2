//! Optional TLS with rustls (ring): the relay serves `https://` and `wss://` when given
//! `--tls-cert` / `--tls-key`, and dials `wss://` mesh peers trusting the web PKI roots plus
//! any `--mesh-ca` certificates (for relays with a private CA).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// How long a client may take to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A TLS file or setting that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{flag} {path}: {reason}")]
pub struct TlsError {
    /// The flag that named it.
    flag: &'static str,
    /// The file, as given.
    path: String,
    /// What is wrong with it.
    reason: String,
}

fn bad(flag: &'static str, path: &Path) -> impl FnOnce(String) -> TlsError {
    let path = path.display().to_string();
    move |reason| TlsError { flag, path, reason }
}

/// The server's TLS configuration from PEM files; errors name the file and the problem.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| bad("--tls-cert", cert)(e.to_string()))?;
    if certs.is_empty() {
        return Err(bad("--tls-cert", cert)("no certificate in it".into()));
    }
    let private =
        PrivateKeyDer::from_pem_file(key).map_err(|e| bad("--tls-key", key)(e.to_string()))?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| bad("--tls-cert", cert)(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, private)
        .map_err(|e| bad("--tls-cert/--tls-key", key)(format!("not a usable pair: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The client configuration for `wss://`: web PKI roots plus the certificates in `extra`.
pub fn client_config(extra: Option<&Path>) -> Result<Arc<ClientConfig>, TlsError> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = extra {
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| bad("--mesh-ca", path)(e.to_string()))?;
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| bad("--mesh-ca", path)(e.to_string()))?;
        }
    }
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| bad("--mesh-ca", Path::new("(the web PKI roots)"))(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The address a request came from, for the mesh allowlist (plain or TLS listener).
#[derive(Clone, Copy, Debug)]
pub struct PeerAddr(pub SocketAddr);

/// The TLS handshake on a new connection, within [`HANDSHAKE_TIMEOUT`]; `None` if it
/// failed or took too long (logged). Each runs in its connection's own task, so a slow
/// client cannot hold up the others.
pub(crate) async fn accept<I>(
    acceptor: &TlsAcceptor,
    io: I,
    addr: SocketAddr,
) -> Option<TlsStream<I>>
where
    I: AsyncRead + AsyncWrite + Unpin,
{
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(io)).await {
        Ok(Ok(tls)) => Some(tls),
        Ok(Err(e)) => {
            tracing::debug!(%addr, error = %e, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!(%addr, "TLS handshake timed out");
            None
        }
    }
}
