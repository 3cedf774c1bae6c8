//! `bootstrap thumbprint`: the thumbprint is the SHA-1 of the last certificate the server
//! sends, computed independently here from the harness's own DER and, where openssl is on
//! PATH, by `openssl s_client -showcerts` + `openssl x509 -fingerprint -sha1`.
//! `--check` compares with the provider in (local) AWS.

use serde_json::{json, Value};

use crate::common::fixture::World;
use crate::common::pki::write_pem_file;
use crate::common::Test;
use crate::common::{openssl, unused_port, ChainMode, Issuer, IssuerOptions, Pki, PkiOptions};

/// `bootstrap thumbprint --issuer-url URL --ca-bundle BUNDLE EXTRA`.
fn thumbprint(issuer_url: &str, ca_bundle: &str, extra: &[&str]) -> Test<'static> {
    Test::new()
        .args([
            "thumbprint",
            "--issuer-url",
            issuer_url,
            "--ca-bundle",
            ca_bundle,
        ])
        .args(extra.iter().copied())
}

/// `thumbprint --output json` against `issuer`, trusting `pki`'s root.
fn thumbprint_json(issuer: &Issuer, pki: &Pki) -> Value {
    let out = thumbprint(&issuer.url(), &pki.ca_bundle_arg(), &["--output", "json"]).run();
    out.json()
}

/// The openssl witness agrees with `expected` (when openssl is available).
fn assert_openssl_agrees(port: u16, expected: &str) {
    if openssl::available() {
        assert_eq!(
            openssl::thumbprint(port, "localhost"),
            expected,
            "openssl's SHA-1 of the last certificate served differs"
        );
    }
}

#[test]
fn thumbprint_is_the_sha1_of_the_intermediate() {
    let pki = Pki::new();
    let issuer = Issuer::start(&pki);
    let expected = pki.thumbprint();
    // Not the leaf, not the root: the server sends leaf + intermediate only.
    assert_ne!(expected, pki.leaf.sha1_hex());
    assert_ne!(expected, pki.root.sha1_hex());
    assert_openssl_agrees(issuer.port(), &expected);

    let doc = thumbprint_json(&issuer, &pki);
    assert_eq!(doc["thumbprints"], json!([expected]));
    assert_eq!(doc["issuer"], issuer.url());
    assert_eq!(doc["jwks_uri"], issuer.jwks_url());
    let hosts = doc["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 1, "{doc:#}");
    let host = &hosts[0];
    assert_eq!(host["host"], "localhost");
    assert_eq!(host["port"], issuer.port());
    assert_eq!(host["serves"], "issuer, jwks");
    assert_eq!(host["thumbprint"], expected);
    let chain = host["chain"].as_array().unwrap();
    assert_eq!(chain.len(), 2, "{doc:#}");
    assert_eq!(chain[0]["sha1"], pki.leaf.sha1_hex());
    assert_eq!(chain[0]["position"], "leaf");
    assert_eq!(chain[1]["sha1"], expected);
    assert_eq!(chain[1]["position"], "intermediate");
    assert!(chain[1]["subject"]
        .as_str()
        .unwrap()
        .contains(&pki.intermediate().common_name));
    assert!(chain[1]["issuer"]
        .as_str()
        .unwrap()
        .contains(&pki.root.common_name));
    assert!(chain[1]["not_after"].as_str().unwrap().len() >= 20);
    assert!(host.get("warnings").is_none(), "{doc:#}");

    // Text mode: every certificate with its SHA-1, the thumbprint and the line to copy.
    thumbprint(&issuer.url(), &pki.ca_bundle_arg(), &[])
        .expect_stdout_contains(pki.leaf.sha1_hex())
        .expect_stdout_contains(format!("thumbprints to register: {expected}\n"))
        .expect_stdout_contains("top intermediate")
        .run();
}

#[test]
fn with_two_intermediates_the_top_one_is_hashed() {
    let pki = Pki::with_options(PkiOptions::default().intermediates(2));
    let issuer = Issuer::start(&pki);
    let top = pki.intermediates[1].sha1_hex();
    assert_eq!(pki.thumbprint(), top);
    assert_openssl_agrees(issuer.port(), &top);
    let doc = thumbprint_json(&issuer, &pki);
    assert_eq!(doc["thumbprints"], json!([top]));
    assert_eq!(doc["hosts"][0]["chain"].as_array().unwrap().len(), 3);
}

#[test]
fn a_server_that_also_sends_the_root() {
    let pki = Pki::new();
    let issuer = Issuer::start_with(&pki, IssuerOptions::default().chain(ChainMode::WithRoot));
    // The last certificate sent is now the root, so that is what IAM hashes.
    let expected = pki.root.sha1_hex();
    assert_openssl_agrees(issuer.port(), &expected);
    let doc = thumbprint_json(&issuer, &pki);
    assert_eq!(doc["thumbprints"], json!([expected]));
    let chain = doc["hosts"][0]["chain"].as_array().unwrap();
    assert_eq!(chain.len(), 3);
    assert_eq!(chain[2]["position"], "root");
    assert!(doc["hosts"][0]["why"].as_str().unwrap().contains("root"));
}

#[test]
fn a_leaf_only_server() {
    let pki = Pki::new();
    let issuer = Issuer::start_with(&pki, IssuerOptions::default().chain(ChainMode::LeafOnly));
    // Trusting the root is not enough: the chain cannot be built without the intermediate.
    let f = thumbprint(&issuer.url(), &pki.ca_bundle_arg(), &[])
        .expect_exit(1)
        .run_error();
    assert!(f.line.contains("could not be verified"), "{f:?}");

    // Trusting the intermediate itself verifies; the thumbprint is then the leaf's, with a
    // warning that it changes at every renewal.
    let intermediate = write_pem_file(&[&pki.intermediate().pem]);
    let bundle = intermediate.path().display().to_string();
    let expected = pki.leaf.sha1_hex();
    assert_openssl_agrees(issuer.port(), &expected);
    let out = thumbprint(&issuer.url(), &bundle, &["--output", "json"]).run();
    let doc = out.json();
    assert_eq!(doc["thumbprints"], json!([expected]));
    let warnings = doc["warnings"].to_string();
    assert!(warnings.contains("only its leaf"), "{doc:#}");
    assert!(out.stderr.contains("warning:"), "{out:?}");
}

#[test]
fn a_thumbprinted_certificate_expiring_within_30_days_is_a_warning() {
    let soon = Pki::with_options(PkiOptions::default().intermediate_expires_in(10));
    let issuer = Issuer::start(&soon);
    let doc = thumbprint_json(&issuer, &soon);
    assert_eq!(doc["thumbprints"], json!([soon.thumbprint()]));
    let warnings = doc["warnings"].as_array().expect("a warning").clone();
    assert_eq!(warnings.len(), 1, "{doc:#}");
    let w = warnings[0].as_str().unwrap();
    assert!(w.contains("expires in"), "{w}");
    assert!(w.contains(&soon.intermediate().common_name), "{w}");

    let later = Pki::with_options(PkiOptions::default().intermediate_expires_in(40));
    let issuer = Issuer::start(&later);
    let doc = thumbprint_json(&issuer, &later);
    assert!(doc.get("warnings").is_none(), "{doc:#}");
}

#[test]
fn jwks_on_another_host_gives_two_thumbprints() {
    let issuer_pki = Pki::new();
    let jwks_pki = Pki::new();
    let issuer = Issuer::start(&issuer_pki);
    let jwks_host = Issuer::start(&jwks_pki);
    // The JWKS lives on 127.0.0.1:<other port>, served with another CA.
    let jwks_uri = format!("https://127.0.0.1:{}/oidc/keys.json", jwks_host.port());
    let mut doc = issuer.discovery_document();
    doc["jwks_uri"] = json!(jwks_uri);
    issuer.set_discovery(&doc);
    let both = write_pem_file(&[&issuer_pki.root.pem, &jwks_pki.root.pem]);
    let bundle = both.path().display().to_string();

    let out = thumbprint(&issuer.url(), &bundle, &["--output", "json"]).run();
    let doc = out.json();
    let mut got: Vec<String> = doc["thumbprints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    got.sort();
    let mut want = vec![issuer_pki.thumbprint(), jwks_pki.thumbprint()];
    want.sort();
    assert_eq!(got, want);
    let hosts = doc["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 2, "{doc:#}");
    let by_port = |port: u16| {
        hosts
            .iter()
            .find(|h| h["port"] == port)
            .unwrap_or_else(|| panic!("no host with port {port}: {doc:#}"))
    };
    let j = by_port(jwks_host.port());
    assert_eq!(j["host"], "127.0.0.1");
    assert_eq!(j["serves"], "jwks");
    assert_eq!(j["thumbprint"], jwks_pki.thumbprint());
    let i = by_port(issuer.port());
    assert_eq!(i["host"], "localhost");
    assert_eq!(i["serves"], "issuer");
    assert_eq!(i["thumbprint"], issuer_pki.thumbprint());
    // The JWKS host was reached by a TLS handshake (its thumbprint is above); `thumbprint`
    // needs its certificates, not its keys (`discover` fetches those).
    assert_eq!(jwks_host.hit_count("/oidc/keys.json"), 0);
    if openssl::available() {
        assert_eq!(
            openssl::thumbprint(jwks_host.port(), "127.0.0.1"),
            jwks_pki.thumbprint()
        );
        assert_eq!(
            openssl::thumbprint(issuer.port(), "localhost"),
            issuer_pki.thumbprint()
        );
    }
}

#[test]
fn the_same_chain_on_two_hosts_is_registered_once() {
    let pki = Pki::new();
    let issuer = Issuer::start(&pki);
    let jwks_host = Issuer::start(&pki);
    let mut doc = issuer.discovery_document();
    doc["jwks_uri"] = json!(format!(
        "https://127.0.0.1:{}/oidc/keys.json",
        jwks_host.port()
    ));
    issuer.set_discovery(&doc);
    let doc = thumbprint_json(&issuer, &pki);
    assert_eq!(doc["thumbprints"], json!([pki.thumbprint()]));
    assert_eq!(doc["hosts"].as_array().unwrap().len(), 2);
}

#[test]
fn unverifiable_or_unreachable_hosts_are_refused() {
    let good = Pki::new();
    let other = Pki::new();
    let issuer = Issuer::start(&good);
    let f = thumbprint(&issuer.url(), &other.ca_bundle_arg(), &[])
        .expect_exit(1)
        .run_error();
    assert!(f.line.contains("could not be verified"), "{f:?}");
    assert!(f.line.contains("--ca-bundle"), "{f:?}");

    let expired = Pki::expired_leaf();
    let issuer = Issuer::start(&expired);
    let f = thumbprint(&issuer.url(), &expired.ca_bundle_arg(), &[])
        .expect_exit(1)
        .run_error();
    assert!(f.line.contains("expired"), "{f:?}");

    let wrong = Pki::wrong_host();
    let issuer = Issuer::start(&wrong);
    let f = thumbprint(&issuer.url(), &wrong.ca_bundle_arg(), &[])
        .expect_exit(1)
        .run_error();
    assert!(f.line.contains("not valid for the name localhost"), "{f:?}");

    let url = format!("https://localhost:{}/oidc", unused_port());
    let f = thumbprint(&url, &good.ca_bundle_arg(), &[])
        .expect_exit(1)
        .run_error();
    assert!(f.line.contains("connection refused"), "{f:?}");

    let f = thumbprint("http://localhost:1/oidc", &good.ca_bundle_arg(), &[])
        .expect_exit(64)
        .run_error();
    assert!(f.line.contains("https"), "{f:?}");
}

#[test]
fn check_against_the_provider_in_aws() {
    let w = World::start();
    let check = |extra: &[&str]| {
        let mut args = vec!["thumbprint".to_string(), "--check".into()];
        args.extend(w.flags());
        args.extend(extra.iter().map(ToString::to_string));
        Test::new().args(args)
    };

    // No provider yet: the check fails with exit 3 and says how to create it.
    let f = {
        let mut args = vec!["thumbprint".to_string(), "--check".into()];
        args.extend(w.flags());
        Test::new().args(&args).expect_exit(3).run_error()
    };
    assert!(f.line.contains("no IAM OIDC provider"), "{f:?}");
    assert!(f.line.contains("bootstrap init"), "{f:?}");

    w.test("init").args(["--yes", "-q"]).run();
    let out = check(&["--output", "json"]).run();
    let doc = out.json();
    assert_eq!(doc["check"]["in_sync"], true, "{doc:#}");
    assert_eq!(doc["check"]["registered"], json!([w.pki.thumbprint()]));
    assert_eq!(
        doc["check"]["provider_arn"],
        format!(
            "arn:aws:iam::{}:oidc-provider/{}",
            w.moto.account_id(),
            w.issuer.host_path()
        )
    );

    // The issuer's certificates rotate: the provider lacks the new thumbprint -> exit 3.
    let rotated = w.pki.reissue(PkiOptions::default());
    w.issuer.rotate_chain(&rotated);
    let out = check(&["--output", "json"]).expect_exit(3).run();
    let doc = out.json();
    assert_eq!(doc["check"]["in_sync"], false, "{doc:#}");
    assert_eq!(doc["check"]["missing"], json!([rotated.thumbprint()]));
    assert_eq!(doc["check"]["not_served"], json!([w.pki.thumbprint()]));
    check(&[])
        .expect_exit(3)
        .expect_stdout_contains(rotated.thumbprint())
        .expect_stdout_contains("bootstrap init")
        .run();

    // `init` registers it (new first, old kept) and the check passes again.
    w.test("init").args(["--yes", "-q"]).run();
    let out = check(&["--output", "json"]).run();
    assert_eq!(
        out.json()["check"]["registered"],
        json!([rotated.thumbprint(), w.pki.thumbprint()])
    );
}
