//! From `DATABASE_URL` to a connection configuration and its TLS, with libpq's
//! `sslmode` and `sslrootcert` (which `tokio-postgres` does not read itself).
//!
//! | `sslmode` | encrypted | server checked |
//! | --- | --- | --- |
//! | `disable` | no | no |
//! | `prefer` (default) | if the server offers it | no (as `verify-ca` with `sslrootcert`) |
//! | `require` | yes | no (as `verify-ca` with `sslrootcert`) |
//! | `verify-ca` | yes | certificate signed by `sslrootcert` (else the public CAs) |
//! | `verify-full` | yes | as `verify-ca`, and issued to the host name in the URL |

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

/// What is wrong with the TLS settings of a database URL.
#[derive(Debug, thiserror::Error)]
pub enum PgTlsError {
    /// `sslmode` has a value libpq does not know.
    #[error("sslmode={0:?} is not one of disable, prefer, require, verify-ca, verify-full")]
    SslMode(String),
    /// The `sslrootcert` file cannot be read.
    #[error("sslrootcert {path}: {why}")]
    RootCert {
        /// The file.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// The URL itself does not parse.
    #[error("{0}")]
    Url(String),
}

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// A parsed database URL: where to connect and how to secure it.
#[derive(Clone)]
pub(crate) struct Target {
    pub(crate) config: tokio_postgres::Config,
    pub(crate) tls: MakeRustlsConnect,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("hosts", &self.config.get_hosts())
            .field("ssl_mode", &self.config.get_ssl_mode())
            .finish_non_exhaustive()
    }
}

impl Target {
    /// Parses `url` (a `postgres://` URL or libpq's `key=value` form).
    pub(crate) fn parse(url: &str) -> Result<Self, PgTlsError> {
        let (rest, mode, root) = take_tls_params(url)?;
        let mut config: tokio_postgres::Config = rest
            .parse()
            .map_err(|e: tokio_postgres::Error| PgTlsError::Url(e.to_string()))?;
        config.ssl_mode(match mode {
            Mode::Disable => SslMode::Disable,
            Mode::Prefer => SslMode::Prefer,
            _ => SslMode::Require,
        });
        let tls = client_config(mode, root)?;
        Ok(Self {
            config,
            tls: MakeRustlsConnect::new(tls),
        })
    }
}

/// `url` without `sslmode` and `sslrootcert`, and their values.
fn take_tls_params(url: &str) -> Result<(String, Mode, Option<PathBuf>), PgTlsError> {
    let mut mode = None;
    let mut root = None;
    let mut take = |key: &str, value: String| -> Result<bool, PgTlsError> {
        match key {
            "sslmode" => {
                mode = Some(match value.as_str() {
                    "disable" => Mode::Disable,
                    "prefer" | "allow" => Mode::Prefer,
                    "require" => Mode::Require,
                    "verify-ca" => Mode::VerifyCa,
                    "verify-full" => Mode::VerifyFull,
                    _ => return Err(PgTlsError::SslMode(value)),
                });
                Ok(true)
            }
            "sslrootcert" => {
                root = Some(PathBuf::from(value));
                Ok(true)
            }
            _ => Ok(false),
        }
    };
    let rest = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        match url.split_once('?') {
            None => url.to_owned(),
            Some((base, query)) => {
                let mut kept = Vec::new();
                for pair in query.split('&').filter(|p| !p.is_empty()) {
                    let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                    if !take(key, percent_decode(value))? {
                        kept.push(pair);
                    }
                }
                if kept.is_empty() {
                    base.to_owned()
                } else {
                    format!("{base}?{}", kept.join("&"))
                }
            }
        }
    } else {
        let mut kept = Vec::new();
        for pair in url.split_whitespace() {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            if !take(key, value.trim_matches('\'').to_owned())? {
                kept.push(pair);
            }
        }
        kept.join(" ")
    };
    Ok((rest, mode.unwrap_or(Mode::Prefer), root))
}

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn client_config(mode: Mode, root: Option<PathBuf>) -> Result<ClientConfig, PgTlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions");
    let roots = match &root {
        Some(path) => read_roots(path)?,
        None => RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        },
    };
    let verify_name = match (mode, &root) {
        (Mode::VerifyFull, _) => true,
        (Mode::VerifyCa, _) | (Mode::Prefer | Mode::Require, Some(_)) => false,
        (Mode::Disable, _) | (Mode::Prefer | Mode::Require, None) => {
            let verifier = Arc::new(Unchecked(provider.signature_verification_algorithms));
            return Ok(builder
                .dangerous()
                .with_custom_certificate_verifier(verifier)
                .with_no_client_auth());
        }
    };
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| PgTlsError::RootCert {
            path: root.clone().unwrap_or_default(),
            why: e.to_string(),
        })?;
    if verify_name {
        return Ok(builder.with_webpki_verifier(webpki).with_no_client_auth());
    }
    Ok(builder
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyName(webpki)))
        .with_no_client_auth())
}

fn read_roots(path: &PathBuf) -> Result<RootCertStore, PgTlsError> {
    let fail = |why: String| PgTlsError::RootCert {
        path: path.clone(),
        why,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| fail(e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| fail(e.to_string()))?;
    if certs.is_empty() {
        return Err(fail("holds no PEM certificate".into()));
    }
    let mut roots = RootCertStore::empty();
    for cert in certs {
        roots.add(cert).map_err(|e| fail(e.to_string()))?;
    }
    Ok(roots)
}

/// `verify-ca`: the chain must lead to a trusted root; the name on it may be any.
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `require` without `sslrootcert`, as libpq: encrypted, the certificate not checked
/// (the handshake's signatures still are).
#[derive(Debug)]
struct Unchecked(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_parameters_are_taken_out_of_both_url_forms() {
        let (rest, mode, root) = take_tls_params(
            "postgres://u@db:5432/x?sslmode=verify-full&application_name=a&sslrootcert=%2Fca%20dir%2Froot.crt",
        )
        .unwrap();
        assert_eq!(rest, "postgres://u@db:5432/x?application_name=a");
        assert_eq!(mode, Mode::VerifyFull);
        assert_eq!(root, Some(PathBuf::from("/ca dir/root.crt")));
        let (rest, mode, root) = take_tls_params("host=db sslmode=require user=u").unwrap();
        assert_eq!(rest, "host=db user=u");
        assert_eq!((mode, root), (Mode::Require, None));
        let (rest, mode, _) = take_tls_params("postgres://db/x").unwrap();
        assert_eq!((rest.as_str(), mode), ("postgres://db/x", Mode::Prefer));
    }

    #[test]
    fn bad_tls_settings_are_named() {
        let e = Target::parse("postgres://db/x?sslmode=always").unwrap_err();
        assert_eq!(
            e.to_string(),
            "sslmode=\"always\" is not one of disable, prefer, require, verify-ca, verify-full"
        );
        let e = Target::parse("postgres://db/x?sslmode=verify-full&sslrootcert=/no/such.crt")
            .unwrap_err();
        assert!(
            e.to_string().starts_with("sslrootcert /no/such.crt: "),
            "{e}"
        );
        let empty = tempfile::NamedTempFile::new().unwrap();
        let url = format!(
            "postgres://db/x?sslmode=verify-ca&sslrootcert={}",
            empty.path().display()
        );
        let e = Target::parse(&url).unwrap_err();
        assert!(e.to_string().ends_with("holds no PEM certificate"), "{e}");
    }
}
