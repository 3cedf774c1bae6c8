//! Proves the shared test harness works on its own: PKI, issuer, moto and its behaviour layer,
//! the request judge, and the `Test` builder (with `bootstrap --version` as its subject).

use crate::common;

use std::sync::Arc;

use aws_lc_rs::signature::{RsaPublicKeyComponents, RSA_PKCS1_2048_8192_SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rustls::{CertificateError, RootCertStore};
use rustls_pki_types::{CertificateDer, ServerName};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::authz::{all_needs, denied, needs, unused_grants, Env};
use crate::common::issuer::{ChainMode, IssuerOptions, Response};
use crate::common::{classify, jwt, sha1_hex, Issuer, Moto, Pki, PkiOptions};

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

#[test]
#[allow(clippy::too_many_lines, reason = "one scenario, in order")]
fn moto_starts_answers_and_records() {
    // Plain moto: a GetRole right after CreateRole is what this test records; through the
    // behaviour layer IAM would not show the role yet.
    let moto = Moto::start_plain();
    assert!(moto.endpoint().starts_with("http://127.0.0.1:"));
    let (status, _) = common::moto::http(moto.port(), "GET", "/moto-api/data.json", b"").unwrap();
    assert_eq!(status, 200);

    moto.start_recording();
    let sign = |service: &str| {
        format!(
            "AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/{service}/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature=00"
        )
    };
    let form = "application/x-www-form-urlencoded; charset=utf-8";
    let iam = sign("iam");
    let call = |method: &str, path: &str, headers: &[(&str, &str)], body: &str| {
        let (status, body) =
            common::moto::http_request(moto.port(), method, path, headers, body.as_bytes())
                .unwrap();
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    };
    call(
        "POST",
        "/",
        &[("Content-Type", form), ("Authorization", &iam)],
        "Action=CreateRole&Version=2010-05-08&RoleName=harness&AssumeRolePolicyDocument=%7B%7D",
    );
    call(
        "POST",
        "/",
        &[("Content-Type", form), ("Authorization", &iam)],
        "Action=GetRole&Version=2010-05-08&RoleName=harness",
    );
    let ddb = sign("dynamodb");
    call(
        "POST",
        "/",
        &[
            ("Content-Type", "application/x-amz-json-1.0"),
            ("X-Amz-Target", "DynamoDB_20120810.ListTables"),
            ("Authorization", &ddb),
        ],
        "{}",
    );
    let s3 = sign("s3");
    call("PUT", "/harness-bucket", &[("Authorization", &s3)], "");
    call(
        "GET",
        "/harness-bucket?versioning",
        &[("Authorization", &s3)],
        "",
    );
    moto.stop_recording();
    // Not recorded.
    call(
        "POST",
        "/",
        &[("Content-Type", form), ("Authorization", &iam)],
        "Action=ListRoles&Version=2010-05-08",
    );

    let recorded = moto.recorded_requests();
    let classified: Vec<_> = recorded.iter().map(classify).collect();
    let expect = |s: &str, o: &str, m: bool| (s.to_string(), o.to_string(), m);
    assert_eq!(
        classified,
        vec![
            expect("iam", "CreateRole", true),
            expect("iam", "GetRole", false),
            expect("dynamodb", "ListTables", false),
            expect("s3", "CreateBucket", true),
            expect("s3", "GetBucketVersioning", false),
        ],
        "{recorded:#?}"
    );
    assert_eq!(recorded[0].action.as_deref(), Some("CreateRole"));
    assert_eq!(
        recorded[2].target.as_deref(),
        Some("DynamoDB_20120810.ListTables")
    );
    assert_eq!(
        moto.mutating_calls(),
        vec![
            ("iam".to_string(), "CreateRole".to_string()),
            ("s3".to_string(), "CreateBucket".to_string())
        ]
    );

    // start_recording starts from an empty recording.
    moto.start_recording();
    assert!(moto.recorded_requests().is_empty());
    moto.stop_recording();
}

// ---------------------------------------------------------------- the AWS behaviour layer
//
// Each behaviour of tests/aws_layer.py, shown with raw SDK clients (their own retries off)
// through the layer. Scales above the suite's default make the windows wide enough to hit
// reliably from a test.

use std::time::{Duration, Instant};

use crate::common::aws::Clients;

/// The AWS error code of an SDK error.
fn code_of<E, R>(e: &aws_smithy_runtime_api::client::result::SdkError<E, R>) -> String
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata,
{
    refusal(e).0
}

/// `(code, message)` of an SDK error.
fn refusal<E, R>(e: &aws_smithy_runtime_api::client::result::SdkError<E, R>) -> (String, String)
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata,
{
    let service = e.as_service_error();
    (
        service.and_then(|s| s.code()).unwrap_or("none").to_string(),
        service.and_then(|s| s.message()).unwrap_or("").to_string(),
    )
}

/// moto behind the behaviour layer at `scale`, and us-east-1 clients through the layer.
fn layer(scale: &str) -> (Moto, Clients) {
    let moto = Moto::start_layer(scale);
    let aws = Clients::through_layer(&moto, "us-east-1");
    (moto, aws)
}

/// Poll `f` every 20 ms until it is true; panics after `limit`.
fn eventually(limit: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn layer_adds_latency_to_every_call() {
    // Scale 1: real-world latency, 50 ms per call.
    let (moto, aws) = layer("1");
    let plain = Clients::new(&moto, "us-east-1");
    let start = Instant::now();
    aws.block_on(aws.s3.list_buckets().send()).unwrap();
    let layered = start.elapsed();
    assert!(layered >= Duration::from_millis(50), "{layered:?}");
    let start = Instant::now();
    plain.block_on(plain.s3.list_buckets().send()).unwrap();
    assert!(
        start.elapsed() < layered,
        "the plain endpoint has no latency"
    );
}

#[test]
fn layer_refuses_overlapping_bucket_configuration_writes_with_operation_aborted() {
    let (moto, aws) = layer("0.2");
    aws.block_on(aws.s3.create_bucket().bucket("layer-bucket").send())
        .unwrap();
    moto.start_recording();
    let versioning = aws
        .s3
        .put_bucket_versioning()
        .bucket("layer-bucket")
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send();
    let public_access = aws
        .s3
        .put_public_access_block()
        .bucket("layer-bucket")
        .public_access_block_configuration(
            aws_sdk_s3::types::PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .build(),
        )
        .send();
    let (a, b) = aws.block_on(async { tokio::join!(versioning, public_access) });
    let codes: Vec<String> = [a.err().map(|e| code_of(&e)), b.err().map(|e| code_of(&e))]
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(codes, vec!["OperationAborted".to_string()]);
    // The refused write never reached moto: its recorder shows the one that did, the layer
    // lists the refusal.
    assert_eq!(
        moto.mutating_calls().len(),
        1,
        "{:?}",
        moto.mutating_calls()
    );
    let refusals = moto.refusals();
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    assert_eq!(refusals[0].0, "s3:OperationAborted");
    // One after the other, both are accepted.
    aws.block_on(
        aws.s3
            .put_bucket_tagging()
            .bucket("layer-bucket")
            .tagging(
                aws_sdk_s3::types::Tagging::builder()
                    .tag_set(
                        aws_sdk_s3::types::Tag::builder()
                            .key("k")
                            .value("v")
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .send(),
    )
    .unwrap();
}

#[test]
fn layer_models_the_account_regional_namespace_and_tags_at_creation() {
    use aws_sdk_s3::types::{BucketNamespace, CreateBucketConfiguration, Tag};
    let (moto, aws) = layer("0.02");
    let account = moto.account_id();
    let create = |name: String, namespace: Option<BucketNamespace>| {
        aws.block_on(
            aws.s3
                .create_bucket()
                .bucket(name)
                .set_bucket_namespace(namespace)
                .create_bucket_configuration(
                    CreateBucketConfiguration::builder()
                        .tags(Tag::builder().key("team").value("infra").build().unwrap())
                        .build(),
                )
                .send(),
        )
        .map(|_| ())
        .map_err(|e| code_of(&e))
    };
    let ours = format!("state-{account}-us-east-1-an");
    // A name of the account regional form without the header, or with the header but
    // another account's or region's suffix, or a plain name with it: refused, not created.
    let missing = create(ours.clone(), None).unwrap_err();
    assert_eq!(missing, "MissingNamespaceHeader");
    for wrong in [
        "state-210987654321-us-east-1-an".to_string(),
        format!("state-{account}-eu-west-1-an"),
        "plain-state".to_string(),
    ] {
        let e = create(wrong.clone(), Some(BucketNamespace::AccountRegional)).unwrap_err();
        assert_eq!(e, "InvalidNamespaceHeader", "{wrong}");
    }
    assert_eq!(moto.mutating_calls(), Vec::<(String, String)>::new());
    let behaviours: Vec<String> = moto.refusals().into_iter().map(|r| r.0).collect();
    assert_eq!(
        behaviours,
        [
            "s3:MissingNamespaceHeader",
            "s3:InvalidNamespaceHeader",
            "s3:InvalidNamespaceHeader",
            "s3:InvalidNamespaceHeader"
        ]
    );
    // With the header and the caller's own suffix: created, with the tags of the call.
    create(ours.clone(), Some(BucketNamespace::AccountRegional)).unwrap();
    let tags = aws
        .block_on(aws.s3.get_bucket_tagging().bucket(&ours).send())
        .unwrap();
    let tags: Vec<(&str, &str)> = tags
        .tag_set()
        .iter()
        .map(|t| (t.key(), t.value()))
        .collect();
    assert_eq!(tags, [("team", "infra")]);
}

#[test]
#[allow(clippy::too_many_lines, reason = "one scenario, in order")]
fn layer_models_a_new_table_creating_updating_and_the_backup_gap() {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType,
        PointInTimeRecoverySpecification, ScalarAttributeType, TableStatus,
    };
    // Scale 0.2: CREATING 1.2 s, the backup gap 2 s after that, UPDATING 0.8 s.
    let (_moto, aws) = layer("0.2");
    let db = &aws.dynamodb;
    let created = aws
        .block_on(
            db.create_table()
                .table_name("layer-table")
                .attribute_definitions(
                    AttributeDefinition::builder()
                        .attribute_name("LockID")
                        .attribute_type(ScalarAttributeType::S)
                        .build()
                        .unwrap(),
                )
                .key_schema(
                    KeySchemaElement::builder()
                        .attribute_name("LockID")
                        .key_type(KeyType::Hash)
                        .build()
                        .unwrap(),
                )
                .billing_mode(BillingMode::PayPerRequest)
                .send(),
        )
        .unwrap();
    let status = |s: Option<&TableStatus>| s.map(|s| s.as_str().to_string()).unwrap_or_default();
    assert_eq!(
        status(created.table_description().and_then(|t| t.table_status())),
        "CREATING"
    );
    let describe = || {
        let out = aws
            .block_on(db.describe_table().table_name("layer-table").send())
            .unwrap();
        status(out.table().and_then(|t| t.table_status()))
    };
    assert_eq!(describe(), "CREATING");
    let update = || {
        aws.block_on(
            db.update_table()
                .table_name("layer-table")
                .deletion_protection_enabled(true)
                .send(),
        )
        .map_err(|e| refusal(&e))
    };
    assert_eq!(update().unwrap_err().0, "ResourceInUseException");
    let pitr = || {
        aws.block_on(
            db.update_continuous_backups()
                .table_name("layer-table")
                .point_in_time_recovery_specification(
                    PointInTimeRecoverySpecification::builder()
                        .point_in_time_recovery_enabled(true)
                        .build()
                        .unwrap(),
                )
                .send(),
        )
        .map_err(|e| refusal(&e))
    };
    eventually(Duration::from_secs(10), "table ACTIVE", || {
        describe() == "ACTIVE"
    });
    // ACTIVE, but backups are still being enabled.
    let (code, message) = pitr().unwrap_err();
    assert_eq!(code, "ContinuousBackupsUnavailableException");
    assert_eq!(
        message,
        "Backups are being enabled for the table: layer-table. Please retry later"
    );
    eventually(Duration::from_secs(10), "backups available", || {
        pitr().is_ok()
    });
    // An update puts the table in UPDATING; a second update meanwhile is refused.
    let out = update().unwrap();
    assert_eq!(
        status(out.table_description().and_then(|t| t.table_status())),
        "UPDATING"
    );
    assert_eq!(describe(), "UPDATING");
    assert_eq!(update().unwrap_err().0, "ResourceInUseException");
    eventually(Duration::from_secs(10), "ACTIVE after the update", || {
        describe() == "ACTIVE"
    });
}

#[test]
fn layer_hides_a_new_role_and_provider_from_reads_and_refuses_to_assume_a_new_role() {
    // Scale 0.2: reads see them after 0.4 s, the role is assumable after 1.6 s.
    let (moto, aws) = layer("0.2");
    let plain = Clients::new(&moto, "us-east-1");
    aws.block_on(
        aws.iam
            .create_role()
            .role_name("fresh")
            .assume_role_policy_document("{}")
            .send(),
    )
    .unwrap();
    let provider = aws
        .block_on(
            aws.iam
                .create_open_id_connect_provider()
                .url("https://issuer.example.com/oidc")
                .client_id_list("aud")
                .thumbprint_list("a".repeat(40))
                .send(),
        )
        .unwrap();
    let provider_arn = provider.open_id_connect_provider_arn().unwrap().to_string();
    let get_role = || {
        aws.block_on(aws.iam.get_role().role_name("fresh").send())
            .map_err(|e| refusal(&e))
    };
    let get_provider = || {
        aws.block_on(
            aws.iam
                .get_open_id_connect_provider()
                .open_id_connect_provider_arn(&provider_arn)
                .send(),
        )
        .map_err(|e| refusal(&e))
    };
    assert_eq!(get_role().unwrap_err().0, "NoSuchEntity");
    assert_eq!(get_provider().unwrap_err().0, "NoSuchEntity");
    // The entity exists all along: plain moto shows it.
    plain
        .block_on(plain.iam.get_role().role_name("fresh").send())
        .unwrap();
    let assume = || {
        aws.block_on(
            aws.sts
                .assume_role_with_web_identity()
                .role_arn("arn:aws:iam::123456789012:role/fresh")
                .role_session_name("layer")
                .web_identity_token("x".repeat(32))
                .send(),
        )
        .map_err(|e| refusal(&e))
    };
    assert_eq!(assume().unwrap_err().0, "AccessDenied");
    eventually(Duration::from_secs(10), "role readable", || {
        get_role().is_ok()
    });
    // Created after the role: its own moment of invisibility may last a little longer.
    eventually(Duration::from_secs(10), "provider readable", || {
        get_provider().is_ok()
    });
    eventually(Duration::from_secs(10), "role assumable", || {
        assume().is_ok()
    });
    let kinds: Vec<String> = moto.refusals().into_iter().map(|(k, _)| k).collect();
    assert!(kinds.contains(&"iam:NoSuchEntity".to_string()), "{kinds:?}");
    assert!(kinds.contains(&"sts:AccessDenied".to_string()), "{kinds:?}");
}

#[test]
fn layer_throttles_bursts_of_iam_writes() {
    // Scale 1: a burst of 15, then 10 calls a second.
    let (_moto, aws) = layer("1");
    aws.block_on(
        aws.iam
            .create_role()
            .role_name("busy")
            .assume_role_policy_document("{}")
            .send(),
    )
    .unwrap();
    let calls = (0..40).map(|i| {
        aws.iam
            .tag_role()
            .role_name("busy")
            .tags(
                aws_sdk_iam::types::Tag::builder()
                    .key(format!("k{i}"))
                    .value("v")
                    .build()
                    .unwrap(),
            )
            .send()
    });
    let results = aws.block_on(futures::future::join_all(calls));
    let throttled: Vec<String> = results
        .iter()
        .filter_map(|r| r.as_ref().err().map(code_of))
        .collect();
    assert!(throttled.len() >= 10, "{throttled:?}");
    assert!(throttled.iter().all(|c| c == "Throttling"), "{throttled:?}");
    // Reads are not throttled.
    aws.block_on(aws.iam.list_roles().send()).unwrap();
}

#[test]
fn layer_makes_cloudformation_take_time() {
    use aws_sdk_cloudformation::types::ChangeSetType;
    // Scale 0.1: change set pending 0.1 s + in progress 0.2 s, stack operation 2 s.
    let (_moto, aws) = layer("0.1");
    let cfn = &aws.cloudformation;
    let template = r#"{"Resources": {"A": {"Type": "AWS::CloudFormation::WaitConditionHandle"},
        "B": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}"#;
    let created = aws
        .block_on(
            cfn.create_change_set()
                .stack_name("slow")
                .change_set_name("first")
                .change_set_type(ChangeSetType::Create)
                .template_body(template)
                .send(),
        )
        .unwrap();
    let id = created.id().unwrap().to_string();
    let change_set = || {
        let out = aws
            .block_on(cfn.describe_change_set().change_set_name(&id).send())
            .unwrap();
        out.status().map(|s| s.as_str().to_string()).unwrap()
    };
    assert_eq!(change_set(), "CREATE_PENDING");
    let execute = || {
        aws.block_on(cfn.execute_change_set().change_set_name(&id).send())
            .map_err(|e| refusal(&e))
    };
    assert_eq!(execute().unwrap_err().0, "InvalidChangeSetStatus");
    eventually(Duration::from_secs(10), "change set computed", || {
        change_set() == "CREATE_COMPLETE"
    });
    execute().unwrap();
    let stack = || {
        let out = aws
            .block_on(cfn.describe_stacks().stack_name("slow").send())
            .unwrap();
        out.stacks()[0].stack_status().unwrap().as_str().to_string()
    };
    let events = || {
        aws.block_on(cfn.describe_stack_events().stack_name("slow").send())
            .unwrap()
            .stack_events()
            .len()
    };
    assert_eq!(stack(), "CREATE_IN_PROGRESS");
    let early = events();
    eventually(Duration::from_secs(10), "stack complete", || {
        stack() == "CREATE_COMPLETE"
    });
    let all = events();
    assert!(
        early < all,
        "events arrive as they happen: {early} then {all}"
    );
}

/// A signed request as a client would send it, for the request judge.
fn signed(
    service: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> common::RecordedRequest {
    let mut h: std::collections::BTreeMap<String, String> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    h.insert(
        "Authorization".into(),
        format!(
            "AWS4-HMAC-SHA256 Credential=testing/20250101/eu-west-1/{service}/aws4_request, \
             SignedHeaders=host, Signature=00"
        ),
    );
    if body.starts_with("Action=") {
        h.insert(
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        );
    }
    common::RecordedRequest::from_parts(
        method,
        &format!("http://127.0.0.1:1{path}"),
        h,
        body.as_bytes().to_vec(),
    )
}

/// `(action, resource, context)` of one need.
type NeedRow = (String, String, Vec<(String, Vec<String>)>);

/// `(action, resource, context)` of each need, for comparing.
fn needs_of(req: &common::RecordedRequest, env: &Env) -> Vec<NeedRow> {
    needs(req, env)
        .into_iter()
        .map(|n| (n.action, n.resource, n.context.into_iter().collect()))
        .collect()
}

fn need(action: &str, resource: &str, context: &[(&str, &str)]) -> NeedRow {
    (
        action.to_string(),
        resource.to_string(),
        context
            .iter()
            .map(|(k, v)| (k.to_string(), vec![v.to_string()]))
            .collect(),
    )
}

#[test]
#[allow(clippy::too_many_lines, reason = "a table of cases, one line each")]
fn the_request_judge_maps_s3_requests_to_bucket_and_object_actions() {
    let env = Env::moto("us-east-1");
    let s3 = |method: &str, path: &str, headers: &[(&str, &str)]| {
        needs_of(&signed("s3", method, path, headers, ""), &env)
    };
    let bucket = "arn:aws:s3:::tf-state";
    for (method, path, action) in [
        ("GET", "/tf-state?versioning", "s3:GetBucketVersioning"),
        ("PUT", "/tf-state?versioning", "s3:PutBucketVersioning"),
        ("GET", "/tf-state?policy", "s3:GetBucketPolicy"),
        ("PUT", "/tf-state?tagging", "s3:PutBucketTagging"),
        ("PUT", "/tf-state?lifecycle", "s3:PutLifecycleConfiguration"),
        (
            "GET",
            "/tf-state?encryption",
            "s3:GetEncryptionConfiguration",
        ),
        (
            "PUT",
            "/tf-state?publicAccessBlock",
            "s3:PutBucketPublicAccessBlock",
        ),
        (
            "GET",
            "/tf-state?ownershipControls",
            "s3:GetBucketOwnershipControls",
        ),
        ("HEAD", "/tf-state", "s3:ListBucket"),
        ("PUT", "/tf-state", "s3:CreateBucket"),
        ("DELETE", "/tf-state", "s3:DeleteBucket"),
    ] {
        assert_eq!(
            s3(method, path, &[]),
            [need(action, bucket, &[])],
            "{method} {path}"
        );
    }
    assert_eq!(
        s3(
            "GET",
            "/tf-state?list-type=2&prefix=env%3A%2F&delimiter=%2F",
            &[]
        ),
        [need(
            "s3:ListBucket",
            bucket,
            &[("s3:delimiter", "/"), ("s3:prefix", "env:/")]
        )]
    );
    assert_eq!(
        s3("GET", "/tf-state?versions&prefix=team", &[]),
        [need(
            "s3:ListBucketVersions",
            bucket,
            &[("s3:prefix", "team")]
        )]
    );
    let lock = "arn:aws:s3:::tf-state/team/terraform.tfstate.tflock";
    assert_eq!(
        s3(
            "PUT",
            "/tf-state/team/terraform.tfstate.tflock",
            &[("If-None-Match", "*")]
        ),
        [need("s3:PutObject", lock, &[("s3:if-none-match", "*")])]
    );
    assert_eq!(
        s3("DELETE", "/tf-state/team/terraform.tfstate.tflock", &[]),
        [need("s3:DeleteObject", lock, &[])]
    );
    assert_eq!(
        s3(
            "DELETE",
            "/tf-state/team/terraform.tfstate.tflock?versionId=3",
            &[]
        ),
        [need("s3:DeleteObjectVersion", lock, &[])]
    );
    assert_eq!(
        s3("HEAD", "/tf-state/env%3A/dev/x", &[]),
        [need(
            "s3:GetObject",
            "arn:aws:s3:::tf-state/env:/dev/x",
            &[]
        )]
    );
    // Objects in a bucket encrypted with a KMS key need the key too.
    let key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let kms_env = Env::moto("us-east-1").with_bucket_kms_key(key);
    let get = needs_of(
        &signed("s3", "GET", "/tf-state/t.tfstate", &[], ""),
        &kms_env,
    );
    assert_eq!(
        get,
        [
            need("s3:GetObject", "arn:aws:s3:::tf-state/t.tfstate", &[]),
            need("kms:Decrypt", key, &[])
        ]
    );
    let put = needs_of(
        &signed("s3", "PUT", "/tf-state/t.tfstate", &[], ""),
        &kms_env,
    );
    assert_eq!(put[1], need("kms:GenerateDataKey", key, &[]));
}

#[test]
#[allow(clippy::too_many_lines, reason = "a table of cases, one line each")]
fn the_request_judge_maps_iam_dynamodb_kms_and_cloudformation_requests() {
    let env = Env::moto("us-east-1");
    let role = "arn:aws:iam::123456789012:role/deploy";
    let create = signed(
        "iam",
        "POST",
        "/",
        &[],
        "Action=CreateRole&Version=2010-05-08&RoleName=deploy&PermissionsBoundary=arn%3Aaws%3Aiam%3A%3A123456789012%3Apolicy%2Fb&Tags.member.1.Key=managed-by&Tags.member.1.Value=bootstrap",
    );
    assert_eq!(
        needs_of(&create, &env),
        [
            need(
                "iam:CreateRole",
                role,
                &[(
                    "iam:PermissionsBoundary",
                    "arn:aws:iam::123456789012:policy/b"
                )]
            ),
            need("iam:TagRole", role, &[]),
        ]
    );
    let attach = signed(
        "iam",
        "POST",
        "/",
        &[],
        "Action=AttachRolePolicy&Version=2010-05-08&RoleName=deploy&PolicyArn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FReadOnlyAccess",
    );
    assert_eq!(
        needs_of(&attach, &env),
        [need(
            "iam:AttachRolePolicy",
            role,
            &[("iam:PolicyARN", "arn:aws:iam::aws:policy/ReadOnlyAccess")]
        )]
    );
    let provider = signed(
        "iam",
        "POST",
        "/",
        &[],
        "Action=CreateOpenIDConnectProvider&Version=2010-05-08&Url=https%3A%2F%2Fidp.example%2Fo",
    );
    assert_eq!(
        needs_of(&provider, &env),
        [need(
            "iam:CreateOpenIDConnectProvider",
            "arn:aws:iam::123456789012:oidc-provider/idp.example/o",
            &[]
        )]
    );
    let list = signed(
        "iam",
        "POST",
        "/",
        &[],
        "Action=ListOpenIDConnectProviders&Version=2010-05-08",
    );
    assert_eq!(
        needs_of(&list, &env),
        [need("iam:ListOpenIDConnectProviders", "*", &[])]
    );
    let whoami = signed(
        "sts",
        "POST",
        "/",
        &[],
        "Action=GetCallerIdentity&Version=2011-06-15",
    );
    assert!(needs_of(&whoami, &env).is_empty());

    // DynamoDB: the region comes from the request's signature.
    let put_item = signed(
        "dynamodb",
        "POST",
        "/",
        &[("X-Amz-Target", "DynamoDB_20120810.PutItem")],
        r#"{"TableName":"locks","Item":{"LockID":{"S":"b/k"}}}"#,
    );
    assert_eq!(
        needs_of(&put_item, &env),
        [need(
            "dynamodb:PutItem",
            "arn:aws:dynamodb:eu-west-1:123456789012:table/locks",
            &[("dynamodb:LeadingKeys", "b/k")]
        )]
    );
    let describe_key = signed(
        "kms",
        "POST",
        "/",
        &[("X-Amz-Target", "TrentService.DescribeKey")],
        r#"{"KeyId":"1234abcd"}"#,
    );
    assert_eq!(
        needs_of(&describe_key, &env),
        [need(
            "kms:DescribeKey",
            "arn:aws:kms:eu-west-1:123456789012:key/1234abcd",
            &[]
        )]
    );
    let change_set = signed(
        "cloudformation",
        "POST",
        "/",
        &[],
        "Action=CreateChangeSet&Version=2010-05-15&StackName=boot&ChangeSetName=cs1",
    );
    assert_eq!(
        needs_of(&change_set, &env),
        [need(
            "cloudformation:CreateChangeSet",
            "arn:aws:cloudformation:eu-west-1:123456789012:stack/boot/id",
            &[]
        )]
    );
}

#[test]
fn the_request_judge_allows_and_refuses_through_the_evaluator() {
    let env = Env::moto("us-east-1");
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Lock", "Effect": "Allow", "Action": ["s3:PutObject", "s3:DeleteObject"],
             "Resource": "arn:aws:s3:::tf-state/team/*.tflock"},
            {"Sid": "Unused", "Effect": "Allow", "Action": "s3:GetObject",
             "Resource": "arn:aws:s3:::tf-state/team/*"}
        ]
    });
    let put_lock = signed(
        "s3",
        "PUT",
        "/tf-state/team/terraform.tfstate.tflock",
        &[],
        "",
    );
    let put_state = signed("s3", "PUT", "/tf-state/team/terraform.tfstate", &[], "");
    let lock_needs = all_needs(std::slice::from_ref(&put_lock), &env);
    assert!(denied(&policy, &lock_needs).is_empty());
    let refused = denied(&policy, &all_needs(&[put_lock, put_state], &env));
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(
        refused[0].starts_with("s3:PutObject on arn:aws:s3:::tf-state/team/terraform.tfstate")
            && refused[0].contains("`Lock` allows `s3:PutObject` but not on"),
        "{refused:?}"
    );
    // The other direction: grants no request used.
    let unused = unused_grants(&policy, &lock_needs);
    let names: Vec<String> = unused
        .iter()
        .map(|(sid, a, _)| format!("{sid} {a}"))
        .collect();
    assert_eq!(names, ["Lock s3:DeleteObject", "Unused s3:GetObject"]);
}
