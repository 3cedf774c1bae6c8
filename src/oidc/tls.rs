//! Verified TLS: the trust store (public roots plus `--ca-bundle`), the client configuration
//! shared by discovery, JWKS and thumbprint connections, and the handshake that returns the
//! chain a server sends. Nothing here ever skips verification.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{CertificateError, ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::bounded;
use crate::error::{Error, Result};

const CA_BUNDLE_HINT: &str = "if the host uses a private CA or sits behind a TLS-inspecting proxy, pass that CA's certificate with --ca-bundle FILE.pem";

/// Mozilla's public roots, plus every certificate in `ca_bundle`.
pub fn root_store(ca_bundle: Option<&Path>) -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_bundle {
        let pem = bounded::read_file(path, bounded::CA_BUNDLE_MAX).map_err(|e| {
            Error::usage(format!("cannot read --ca-bundle {}: {e}", path.display()))
                .hint("pass a PEM file of CA certificates")
        })?;
        let mut added = 0;
        for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
            let cert = cert.map_err(|e| {
                Error::usage(format!("--ca-bundle {}: bad PEM ({e})", path.display()))
            })?;
            roots.add(cert).map_err(|e| {
                Error::usage(format!(
                    "--ca-bundle {}: a certificate is not usable as a trust anchor ({e})",
                    path.display()
                ))
            })?;
            added += 1;
        }
        if added == 0 {
            return Err(Error::usage(format!(
                "--ca-bundle {}: no PEM certificates found",
                path.display()
            ))
            .hint("the file should hold one or more -----BEGIN CERTIFICATE----- blocks"));
        }
    }
    Ok(roots)
}

/// The one TLS client configuration every OIDC connection uses.
pub fn client_config(roots: RootCertStore) -> ClientConfig {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|_| {
            // The aws-lc-rs provider supports the default versions; this branch is unreachable
            // in practice but must not panic.
            ClientConfig::builder_with_protocol_versions(&[&rustls::version::TLS13])
        })
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// Connect to `host:port` with SNI, complete a verified handshake, and return the
/// certificates exactly as the server sent them (leaf first).
pub async fn peer_chain(
    config: Arc<ClientConfig>,
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<Vec<CertificateDer<'static>>> {
    let server_name = ServerName::try_from(host.to_string())
        .map_err(|_| Error::usage(format!("{host:?} is not a valid TLS server name")))?;
    let tcp = tokio::time::timeout(timeout, TcpStream::connect((host, port)))
        .await
        .map_err(|_| timeout_error(host, port, timeout))?
        .map_err(|e| connect_error(host, port, &e))?;
    let connector = TlsConnector::from(config);
    let tls = tokio::time::timeout(timeout, connector.connect(server_name, tcp))
        .await
        .map_err(|_| timeout_error(host, port, timeout))?
        .map_err(|e| handshake_error(host, &e))?;
    let (_, conn) = tls.get_ref();
    let chain = conn
        .peer_certificates()
        .map(|c| c.iter().map(|c| c.clone().into_owned()).collect::<Vec<_>>())
        .unwrap_or_default();
    if chain.is_empty() {
        return Err(Error::failure(format!("{host} sent no certificates")));
    }
    Ok(chain)
}

pub fn timeout_error(host: &str, port: u16, timeout: Duration) -> Error {
    Error::failure(format!(
        "{host}:{port} did not answer within {}s",
        timeout.as_secs()
    ))
    .hint("check the network path (proxy, firewall), or allow longer with --timeout SECONDS")
}

pub fn connect_error(host: &str, port: u16, e: &std::io::Error) -> Error {
    let why = match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
        _ => e.to_string(),
    };
    Error::failure(format!("cannot connect to {host}:{port}: {why}"))
        .hint("check the issuer URL (--workspace / --issuer-url) and that the host is reachable from here")
}

/// Turn a failed handshake into one clear line; certificate problems get the CA-bundle hint.
pub fn handshake_error(host: &str, e: &std::io::Error) -> Error {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(rustls::Error::InvalidCertificate(cert)) => certificate_error(host, cert),
        Some(other) => Error::failure(format!("TLS handshake with {host} failed: {other}")),
        None => Error::failure(format!("TLS handshake with {host} failed: {e}")),
    }
}

/// The message for a certificate that failed verification. Never "worked around".
pub fn certificate_error(host: &str, e: &CertificateError) -> Error {
    let what = match e {
        CertificateError::UnknownIssuer => {
            "its chain does not lead to a trusted root (unknown issuer)".to_string()
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            format!("a certificate in its chain has expired ({e})")
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            format!("a certificate in its chain is not valid yet ({e})")
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            format!("the certificate is not valid for the name {host} ({e})")
        }
        CertificateError::Revoked => "a certificate in its chain is revoked".to_string(),
        other => format!("{other:?}"),
    };
    Error::failure(format!(
        "the TLS certificate of {host} could not be verified: {what}"
    ))
    .resource(host.to_string())
    .hint(CA_BUNDLE_HINT)
}

/// The TLS, timeout or connection failure behind a reqwest error, explained in the terms of
/// `host:port`; `None` for any other failure.
pub fn transport_error(
    e: &reqwest::Error,
    host: &str,
    port: u16,
    timeout: Duration,
) -> Option<Error> {
    if let Some(tls_err) = find_tls_error(e) {
        return Some(match tls_err {
            rustls::Error::InvalidCertificate(c) => certificate_error(host, c),
            other => Error::failure(format!("TLS handshake with {host} failed: {other}")),
        });
    }
    if e.is_timeout() {
        return Some(timeout_error(host, port, timeout));
    }
    if e.is_connect() {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
        while let Some(s) = source {
            if let Some(io) = s.downcast_ref::<std::io::Error>() {
                return Some(connect_error(host, port, io));
            }
            source = s.source();
        }
        return Some(Error::failure(format!("cannot connect to {host}:{port}")));
    }
    None
}

/// Find the rustls error behind a reqwest (hyper, io) error chain, if there is one.
pub fn find_tls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        // `io::Error::source` skips the error it wraps, and the connector nests one
        // io::Error in another (Other(InvalidData(rustls::Error))): unwrap them all.
        let mut io = err.downcast_ref::<std::io::Error>();
        while let Some(inner) = io.and_then(|e| e.get_ref()) {
            if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
                return Some(tls);
            }
            io = inner.downcast_ref::<std::io::Error>();
        }
        cur = err.source();
    }
    None
}
