//! A local HTTPS OpenID Connect issuer for demos: generates a CA chain (root ->
//! intermediate -> leaf for localhost and 127.0.0.1), serves a Bitbucket-like discovery
//! document and JWKS on 127.0.0.1, writes the root certificate (the `--ca-bundle` to pass
//! to bootstrap) to a file, and prints the issuer URL on stdout once it is listening.
//!
//!     cargo run --example local_issuer -- --root-pem /tmp/root.pem [--port 8443]
//!
//! It runs until it is killed. `scripts/demo` uses it.

use std::sync::Arc;

use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair as _, RsaKeyPair};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

struct Args {
    port: u16,
    root_pem: std::path::PathBuf,
}

fn args() -> Res<Args> {
    let mut port = 0;
    let mut root_pem = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--port" => port = it.next().ok_or("--port needs a value")?.parse()?,
            "--root-pem" => root_pem = Some(it.next().ok_or("--root-pem needs a path")?.into()),
            _ => return Err(format!("unknown argument {a:?}; see the file's header").into()),
        }
    }
    Ok(Args {
        port,
        root_pem: root_pem.ok_or("--root-pem FILE is required")?,
    })
}

fn ca(cn: &str, constraint: BasicConstraints) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.distinguished_name
        .push(DnType::OrganizationName, "bootstrap demo");
    p.is_ca = IsCa::Ca(constraint);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p
}

/// (chain leaf-first, leaf key, root PEM)
fn chain() -> Res<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>, String)> {
    let root_key = KeyPair::generate()?;
    let root =
        ca("bootstrap demo root CA", BasicConstraints::Unconstrained).self_signed(&root_key)?;
    let int_key = KeyPair::generate()?;
    let int = ca(
        "bootstrap demo intermediate CA",
        BasicConstraints::Constrained(0),
    )
    .signed_by(&int_key, &root, &root_key)?;
    let leaf_key = KeyPair::generate()?;
    let mut leaf = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])?;
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf = leaf.signed_by(&leaf_key, &int, &int_key)?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    Ok((vec![leaf.der().clone(), int.der().clone()], key, root.pem()))
}

fn jwks() -> Res<serde_json::Value> {
    let key = RsaKeyPair::generate(KeySize::Rsa2048)?;
    let public = key.public_key();
    let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
    Ok(json!({ "keys": [{
        "kty": "RSA", "alg": "RS256", "use": "sig", "kid": "demo-key-1",
        "n": b64(public.modulus().big_endian_without_leading_zero()),
        "e": b64(public.exponent().big_endian_without_leading_zero()),
    }]}))
}

async fn serve(
    acceptor: TlsAcceptor,
    tcp: tokio::net::TcpStream,
    routes: Arc<Vec<(String, String)>>,
) -> Res<()> {
    let mut tls = acceptor.accept(tcp).await?;
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 65536 {
        let n = tls.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head);
    let target = head.split_whitespace().nth(1).unwrap_or("/");
    let path = target.split('?').next().unwrap_or("/");
    let (status, body) = match routes.iter().find(|(p, _)| p == path) {
        Some((_, body)) => ("200 OK", body.clone()),
        None => ("404 Not Found", "{\"error\":\"not found\"}".to_string()),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tls.write_all(response.as_bytes()).await?;
    tls.shutdown().await?;
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Res<()> {
    let args = args()?;
    let (certs, key, root_pem) = chain()?;
    std::fs::write(&args.root_pem, root_pem)?;
    let listener = TcpListener::bind(("127.0.0.1", args.port)).await?;
    let port = listener.local_addr()?.port();
    let issuer = format!("https://localhost:{port}/oidc");
    let discovery = json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/keys.json"),
        "subject_types_supported": ["public"],
        "response_types_supported": ["id_token"],
        "claims_supported": ["sub", "aud", "exp", "iat", "iss", "workspaceUuid",
            "repositoryUuid", "pipelineUuid", "stepUuid", "branchName",
            "deploymentEnvironmentUuid"],
        "id_token_signing_alg_values_supported": ["RS256"],
    });
    let routes = Arc::new(vec![
        (
            "/oidc/.well-known/openid-configuration".to_string(),
            discovery.to_string(),
        ),
        ("/oidc/keys.json".to_string(), jwks()?.to_string()),
    ]);
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    let acceptor = TlsAcceptor::from(Arc::new(config));
    println!("{issuer}");
    loop {
        let (tcp, _) = listener.accept().await?;
        let (acceptor, routes) = (acceptor.clone(), routes.clone());
        tokio::spawn(async move {
            if let Err(e) = serve(acceptor, tcp, routes).await {
                eprintln!("local_issuer: {e}");
            }
        });
    }
}
