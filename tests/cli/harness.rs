//! Proves the shared test harness works on its own: PKI, issuer, and the `Test` builder (with
//! `bootstrap --version` as its subject). Moto and its behaviour layer are proved in
//! `harness_moto.rs` and `harness_layer.rs`, the request judge in `harness_judge.rs`.

use crate::common;

use std::sync::Arc;

use aws_lc_rs::signature::{RsaPublicKeyComponents, RSA_PKCS1_2048_8192_SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rustls::{CertificateError, RootCertStore};
use rustls_pki_types::{CertificateDer, ServerName};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::issuer::{ChainMode, IssuerOptions, Response};
use crate::common::{jwt, sha1_hex, Issuer, Pki, PkiOptions};

#[derive(Debug)]
struct Fetched {
    peer_chain: Vec<CertificateDer<'static>>,
    status: u16,
    body: String,
}

/// GET `path` from 127.0.0.1:`port` over TLS, verifying the server as `server_name` against
/// `roots` only.
fn tls_get(
    port: u16,
    server_name: &str,
    roots: RootCertStore,
    path: &str,
) -> Result<Fetched, std::io::Error> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        let name = ServerName::try_from(server_name.to_string()).unwrap();
        let mut tls = connector.connect(name, tcp).await?;
        let peer_chain = tls
            .get_ref()
            .1
            .peer_certificates()
            .unwrap_or_default()
            .iter()
            .map(|c| c.clone().into_owned())
            .collect();
        let request = format!("GET {path} HTTP/1.1\r\nHost: {server_name}:{port}\r\n\r\n");
        tls.write_all(request.as_bytes()).await?;
        let mut raw = Vec::new();
        tls.read_to_end(&mut raw).await?;
        let text = String::from_utf8(raw).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains("Connection: close"), "{head}");
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(length, body.len());
        let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
        Ok(Fetched {
            peer_chain,
            status,
            body: body.to_string(),
        })
    })
}

fn rustls_error(err: &std::io::Error) -> rustls::Error {
    err.get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
        .unwrap_or_else(|| panic!("not a rustls error: {err:?}"))
        .clone()
}

fn der(c: &common::CertInfo) -> CertificateDer<'static> {
    c.cert_der()
}

#[test]
fn sha1_hex_matches_known_vector() {
    assert_eq!(sha1_hex(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
}

#[test]
fn pki_files_and_fingerprints() {
    let pki = Pki::new();
    let pem = std::fs::read_to_string(pki.root_pem_path()).unwrap();
    assert_eq!(pem, pki.root.pem);
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(pki.thumbprint().len(), 40);
    assert_eq!(pki.thumbprint(), sha1_hex(&pki.intermediate().der));
    assert_ne!(pki.thumbprint(), pki.leaf.sha1_hex());
    // Independently generated PKIs do not share a root.
    assert_ne!(Pki::new().root.der, pki.root.der);

    let (_, leaf) = x509_parser::parse_x509_certificate(&pki.leaf.der).unwrap();
    let (_, inter) = x509_parser::parse_x509_certificate(&pki.intermediate().der).unwrap();
    let (_, root) = x509_parser::parse_x509_certificate(&pki.root.der).unwrap();
    assert_eq!(leaf.issuer(), inter.subject());
    assert_eq!(inter.issuer(), root.subject());
    assert_eq!(root.issuer(), root.subject());

    let deep = Pki::with_options(PkiOptions::default().intermediates(2));
    assert_eq!(deep.intermediates.len(), 2);
    let (_, top) = x509_parser::parse_x509_certificate(&deep.intermediate().der).unwrap();
    let (_, deep_root) = x509_parser::parse_x509_certificate(&deep.root.der).unwrap();
    assert_eq!(top.issuer(), deep_root.subject());
}

#[test]
fn issuer_serves_discovery_and_jwks_over_verified_tls() {
    let pki = Pki::new();
    let issuer = Issuer::start(&pki);
    assert_eq!(
        issuer.url(),
        format!("https://localhost:{}/oidc", issuer.port())
    );

    let got = tls_get(
        issuer.port(),
        "localhost",
        pki.root_store(),
        &issuer.discovery_path(),
    )
    .unwrap();
    assert_eq!(got.status, 200);
    assert_eq!(
        got.peer_chain,
        vec![der(&pki.leaf), der(pki.intermediate())]
    );
    let doc: Value = serde_json::from_str(&got.body).unwrap();
    assert_eq!(doc["issuer"], issuer.url());
    assert_eq!(doc["jwks_uri"], format!("{}/keys.json", issuer.url()));
    assert_eq!(doc["id_token_signing_alg_values_supported"][0], "RS256");

    // Also verifiable by IP address (SAN 127.0.0.1).
    let by_ip = tls_get(
        issuer.port(),
        "127.0.0.1",
        pki.root_store(),
        "/oidc/keys.json",
    )
    .unwrap();
    let jwks: Value = serde_json::from_str(&by_ip.body).unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["alg"], "RS256");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["kid"], issuer.kid());
    let n = URL_SAFE_NO_PAD.decode(key["n"].as_str().unwrap()).unwrap();
    let e = URL_SAFE_NO_PAD.decode(key["e"].as_str().unwrap()).unwrap();
    assert_eq!(n.len(), 256);
    assert_eq!(e, vec![1, 0, 1]);

    // A minted token verifies against the served JWK; a tampered one does not.
    let claims = jwt::bitbucket_claims(
        &issuer.url(),
        "ari:cloud:bitbucket::workspace/11111111-2222-4333-8444-555555555555",
        "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
        "{12345678-1234-4234-8234-123456789abc}",
        Some("99999999-9999-4999-8999-999999999999"),
    );
    assert_eq!(
        claims["sub"],
        "{aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee}:{99999999-9999-4999-8999-999999999999}:\
         {12345678-1234-4234-8234-123456789abc}"
    );
    assert_eq!(
        claims["workspaceUuid"],
        "{11111111-2222-4333-8444-555555555555}"
    );
    let token = jwt::mint_token(&issuer, claims.clone());
    let verify = |t: &str| {
        let (input, sig) = t.rsplit_once('.').unwrap();
        let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
        RsaPublicKeyComponents { n: &n, e: &e }
            .verify(&RSA_PKCS1_2048_8192_SHA256, input.as_bytes(), &sig)
            .is_ok()
    };
    assert!(verify(&token));
    assert!(!verify(&jwt::tamper_signature(&token)));
    assert_eq!(jwt::decode_part(&token, 0)["kid"], issuer.kid());
    assert_eq!(jwt::decode_part(&token, 1), claims);
    assert_eq!(
        jwt::decode_part(&jwt::alg_none_token(&issuer, claims.clone()), 0)["alg"],
        "none"
    );
    assert_eq!(
        jwt::decode_part(&jwt::hs256_with_public_key(&issuer, claims.clone()), 0)["alg"],
        "HS256"
    );
    assert_eq!(
        jwt::decode_part(&jwt::mint_unknown_kid(&issuer, claims), 0)["kid"],
        "no-such-kid"
    );
    assert_eq!(issuer.hit_count("/oidc/keys.json"), 1);
}

#[test]
fn chain_modes_and_rotation() {
    let pki = Pki::new();
    let issuer = Issuer::start_with(&pki, IssuerOptions::default().chain(ChainMode::WithRoot));
    let got = tls_get(issuer.port(), "localhost", pki.root_store(), "/").unwrap();
    assert_eq!(got.status, 404);
    assert_eq!(
        got.peer_chain,
        vec![der(&pki.leaf), der(pki.intermediate()), der(&pki.root)]
    );

    // Leaf only: the client cannot build a path to the root.
    issuer.set_chain(&pki, ChainMode::LeafOnly);
    let err = tls_get(issuer.port(), "localhost", pki.root_store(), "/").unwrap_err();
    assert_eq!(
        rustls_error(&err),
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
    );

    // Rotation under the same root: new intermediate, new thumbprint, still trusted.
    issuer.set_chain(&pki, ChainMode::LeafAndIntermediates);
    let rotated = pki.reissue(PkiOptions::default());
    assert_eq!(rotated.root.der, pki.root.der);
    assert_ne!(rotated.thumbprint(), pki.thumbprint());
    issuer.rotate_chain(&rotated);
    let got = tls_get(issuer.port(), "localhost", pki.root_store(), "/").unwrap();
    assert_eq!(
        got.peer_chain,
        vec![der(&rotated.leaf), der(rotated.intermediate())]
    );
}

#[test]
fn bad_certificates_fail_verification() {
    let expired = Pki::expired_leaf();
    let issuer = Issuer::start(&expired);
    let err = tls_get(issuer.port(), "localhost", expired.root_store(), "/").unwrap_err();
    assert!(
        matches!(
            rustls_error(&err),
            rustls::Error::InvalidCertificate(
                CertificateError::Expired | CertificateError::ExpiredContext { .. }
            )
        ),
        "{err:?}"
    );

    let wrong = Pki::wrong_host();
    issuer.rotate_chain(&wrong);
    let err = tls_get(issuer.port(), "localhost", wrong.root_store(), "/").unwrap_err();
    assert!(
        matches!(
            rustls_error(&err),
            rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
            )
        ),
        "{err:?}"
    );

    let good = Pki::new();
    let other = Pki::new();
    issuer.rotate_chain(&good);
    let err = tls_get(issuer.port(), "localhost", other.root_store(), "/").unwrap_err();
    assert_eq!(
        rustls_error(&err),
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
    );
    // Sanity: the same server verifies with the right root.
    tls_get(issuer.port(), "localhost", good.root_store(), "/").unwrap();
}

#[test]
fn routes_are_overridable() {
    let pki = Pki::new();
    let issuer = Issuer::start(&pki);
    let get = |path: &str| tls_get(issuer.port(), "localhost", pki.root_store(), path).unwrap();

    issuer.remove_route(&issuer.discovery_path());
    assert_eq!(get(&issuer.discovery_path()).status, 404);

    issuer.set_route(
        &issuer.jwks_path(),
        Response::html(200, "<html>not json</html>"),
    );
    let got = get(&issuer.jwks_path());
    assert_eq!(got.status, 200);
    assert_eq!(got.body, "<html>not json</html>");

    let mut doc = issuer.discovery_document();
    doc["issuer"] = Value::String("https://evil.example/oidc".into());
    issuer.set_discovery(&doc);
    let got: Value = serde_json::from_str(&get(&issuer.discovery_path()).body).unwrap();
    assert_eq!(got["issuer"], "https://evil.example/oidc");

    issuer.reset_routes();
    let got: Value = serde_json::from_str(&get(&issuer.discovery_path()).body).unwrap();
    assert_eq!(got, issuer.discovery_document());
}

#[test]
fn unused_port_refuses_connections() {
    let port = common::unused_port();
    let err = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
}

#[test]
fn cli_command_has_a_clean_environment() {
    let cmd = common::Test::new().command();
    let mut keys: Vec<String> = cmd
        .get_envs()
        .filter(|(_, v)| v.is_some())
        .map(|(k, _)| k.to_string_lossy().into_owned())
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "AWS_ACCESS_KEY_ID",
            "AWS_EC2_METADATA_DISABLED",
            "AWS_REGION",
            "AWS_SECRET_ACCESS_KEY",
            "HOME",
            "NO_COLOR",
            "PATH"
        ]
    );
}

/// Run `test`, which must fail one of its expectations.
fn fails(what: &str, test: common::Test<'_>) {
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| test.run()));
    assert!(
        run.is_err(),
        "{what}: the builder let a wrong expectation pass"
    );
}

#[test]
fn the_test_builder_checks_every_expectation() {
    use common::Test;
    let out = Test::new()
        .arg("--version")
        .expect_stdout(format!("bootstrap {}\n", env!("CARGO_PKG_VERSION")))
        .expect_stdout_contains("bootstrap")
        .expect_stdout_lacks("error")
        .expect_stderr_lacks("error")
        .run();
    assert_eq!(out.code, Some(0));
    let version = || Test::new().arg("--version");
    fails("exit code", version().expect_exit(1));
    fails("exact stdout", version().expect_stdout("bootstrap"));
    fails(
        "stdout contains",
        version().expect_stdout_contains("nonesuch"),
    );
    fails(
        "stderr contains",
        version().expect_stderr_contains("bootstrap"),
    );
    fails("stdout lacks", version().expect_stdout_lacks("bootstrap"));
    // A usage error is exit 64, whatever the builder was told.
    Test::new().arg("--no-such-flag").expect_exit(64).run();
    fails("default exit 0", Test::new().arg("--no-such-flag"));
}

#[test]
fn the_test_builder_checks_each_kind_of_exit_and_the_error_contract() {
    use common::Test;
    let version = || Test::new().arg("--version");
    let usage = || Test::new().arg("--no-such-flag");
    usage().expect_failure().run();
    usage().expect_exit_in(&[1, 64]).run();
    version().expect_exit_not(64).any_exit().run();
    fails("a failure", version().expect_failure());
    fails("one of the codes", version().expect_exit_in(&[1, 64]));
    fails("not that code", usage().expect_exit_not(64));
    fails(
        "a further check",
        version().check(|out| assert!(out.stdout.is_empty())),
    );
    // A variable of the clean environment removed, one added.
    let cmd = version()
        .env_remove("AWS_REGION")
        .env("AWS_PROFILE", "ci")
        .command();
    let envs: Vec<_> = cmd.get_envs().collect();
    assert!(!envs.iter().any(|(k, _)| *k == "AWS_REGION"), "{envs:?}");
    assert!(
        envs.contains(&("AWS_PROFILE".as_ref(), Some("ci".as_ref()))),
        "{envs:?}"
    );
    // The error contract, in both output modes: one `error:` line, one JSON document.
    let http = || {
        Test::new()
            .args(["thumbprint", "--issuer-url", "http://localhost:1/oidc"])
            .expect_exit(64)
    };
    let f = http().run_error();
    assert!(f.line.contains("https"), "{f:?}");
    assert!(
        f.json["message"]
            .as_str()
            .is_some_and(|m| m.contains("https")),
        "{f:?}"
    );
    let wrong_code = std::panic::catch_unwind(|| http().expect_exit(1).run_error());
    assert!(wrong_code.is_err(), "run_error let a wrong exit code pass");
    let success = std::panic::catch_unwind(|| version().run_error());
    assert!(success.is_err(), "run_error let a successful run pass");
}

#[test]
fn the_test_builder_counts_writes() {
    let w = common::fixture::World::start();
    fails(
        "a first init writes",
        w.test("init").args(["--yes", "-q"]).expect_no_writes(),
    );
    // The failed check still ran init: a re-run writes nothing and passes.
    w.assert_rerun_writes_nothing("init", &["--yes", "-q"]);
}
