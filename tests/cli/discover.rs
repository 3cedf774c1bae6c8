//! `bootstrap discover` against a real local HTTPS issuer: the happy path, each failure with
//! its own message (one line in text mode, one JSON document with `--output json`), and the
//! `--help` of every subcommand.

use crate::common;
use crate::common::Test;

use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::issuer::{Framing, Response};
use crate::common::pki::write_pem_file;
use crate::common::{unused_port, Issuer, Pki};

/// `discover --issuer-url URL --ca-bundle PEM` plus `extra`.
fn discover_args(issuer_url: &str, ca_bundle: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "discover".to_string(),
        "--issuer-url".into(),
        issuer_url.into(),
        "--ca-bundle".into(),
        ca_bundle.into(),
    ];
    args.extend(extra.iter().map(ToString::to_string));
    args
}

fn discover(issuer: &Issuer, pki: &Pki, extra: &[&str]) -> Vec<String> {
    discover_args(&issuer.url(), &pki.ca_bundle_arg(), extra)
}

#[test]
fn shows_issuer_jwks_uri_algorithms_and_key_ids() {
    let pki = Pki::new();
    let issuer = Issuer::start(&pki);

    let out = Test::new()
        .args(discover(&issuer, &pki, &["--output", "json"]))
        .run();
    let doc = out.json();
    assert_eq!(doc["issuer"], issuer.url());
    assert_eq!(doc["discovery_url"], issuer.discovery_url());
    assert_eq!(doc["jwks_uri"], issuer.jwks_url());
    assert_eq!(doc["signing_algorithms"], json!(["RS256"]));
    assert_eq!(doc["key_ids"], json!([issuer.kid()]));
    assert!(doc.get("warnings").is_none(), "{out:?}");

    let out = Test::new().args(discover(&issuer, &pki, &[])).run();
    for want in [
        issuer.url(),
        issuer.jwks_url(),
        "RS256".to_string(),
        issuer.kid().to_string(),
    ] {
        assert!(out.stdout.contains(&want), "missing {want:?}\n{out:?}");
    }
    // One request each for the discovery document and the JWKS per run.
    assert_eq!(issuer.hit_count(&issuer.discovery_path()), 2);
    assert_eq!(issuer.hit_count(&issuer.jwks_path()), 2);
}

#[test]
fn empty_jwks_and_missing_rs256_are_warnings() {
    let pki = Pki::new();
    let issuer = Issuer::start(&pki);
    let mut doc = issuer.discovery_document();
    doc["id_token_signing_alg_values_supported"] = json!(["ES256"]);
    issuer.set_discovery(&doc);
    issuer.set_jwks(&json!({ "keys": [] }));
    let out = Test::new()
        .args(discover(&issuer, &pki, &["--output", "json"]))
        .run();
    let warnings = out.json()["warnings"].to_string();
    assert!(warnings.contains("RS256"), "{out:?}");
    assert!(warnings.contains("no keys"), "{out:?}");
}

#[test]
fn plain_http_is_refused_before_any_connection() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let pki = Pki::new();
    let url = format!("http://127.0.0.1:{port}/oidc");
    let f = Test::new()
        .args(discover_args(&url, &pki.ca_bundle_arg(), &[]))
        .expect_exit(64)
        .run_error();
    assert!(f.line.contains("https"), "{f:?}");
    assert_eq!(f.json["kind"], "usage");
    // Nothing ever connected to the listener.
    listener.set_nonblocking(true).unwrap();
    let accepted = listener.accept();
    assert!(
        matches!(&accepted, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "bootstrap connected to the http:// URL: {accepted:?}"
    );
}

#[test]
fn input_errors_exit_64() {
    // No issuer at all.
    let f = Test::new().args(["discover"]).expect_exit(64).run_error();
    assert!(f.line.contains("--workspace"), "{f:?}");
    // Both ways of naming it are accepted together now: the issuer URL overrides the one
    // derived from the workspace, which names it for the Bitbucket API (tests/cli/bitbucket.rs).
    // A slug with characters Bitbucket does not use.
    let f = Test::new()
        .args(["discover", "--workspace", "Not A Slug"])
        .expect_exit(64)
        .run_error();
    assert!(f.line.contains("--workspace"), "{f:?}");
    // A CA bundle that is not there / holds no certificate.
    let f = Test::new()
        .args(discover_args(
            "https://localhost:1/oidc",
            "/nonexistent/ca.pem",
            &["--timeout", "1"],
        ))
        .expect_exit(64)
        .run_error();
    assert!(f.line.contains("--ca-bundle"), "{f:?}");
    let empty = write_pem_file(&["not a certificate"]);
    let f = Test::new()
        .args(discover_args(
            "https://localhost:1/oidc",
            &empty.path().display().to_string(),
            &[],
        ))
        .expect_exit(64)
        .run_error();
    assert!(f.line.contains("no PEM certificates"), "{f:?}");
    // An unknown flag, in JSON mode too.
    let f = Test::new()
        .args(["discover", "--no-such-flag"])
        .expect_exit(64)
        .run_error();
    assert!(f.line.contains("--no-such-flag"), "{f:?}");
    // Out-of-range timeout.
    let f = Test::new()
        .args([
            "discover",
            "--issuer-url",
            "https://localhost:1/oidc",
            "--timeout",
            "0",
        ])
        .expect_exit(64)
        .run_error();
    assert!(f.line.contains("--timeout"), "{f:?}");
}

#[test]
fn connection_refused() {
    let pki = Pki::new();
    let url = format!("https://127.0.0.1:{}/oidc", unused_port());
    let f = Test::new()
        .args(discover_args(&url, &pki.ca_bundle_arg(), &[]))
        .expect_exit(1)
        .run_error();
    assert!(f.line.contains("connection refused"), "{f:?}");
    assert!(f.line.contains("cannot connect to 127.0.0.1"), "{f:?}");
}

/// The three ways a chain fails verification all say so and point at `--ca-bundle`.
fn assert_unverified(f: &common::Failure, why: &str) {
    assert!(f.line.contains("could not be verified"), "{f:?}");
    assert!(f.line.contains(why), "expected {why:?} in {f:?}");
    assert!(f.line.contains("--ca-bundle"), "{f:?}");
    assert_eq!(f.json["kind"], "failure");
}

#[test]
fn untrusted_root_is_refused() {
    let served = Pki::new();
    let other = Pki::new();
    let issuer = Issuer::start(&served);
    // Trusting an unrelated root.
    let f = Test::new()
        .args(discover(&issuer, &other, &[]))
        .expect_exit(1)
        .run_error();
    assert_unverified(&f, "unknown issuer");
    // Trusting only the public roots.
    let f = Test::new()
        .args(&["discover".to_string(), "--issuer-url".into(), issuer.url()])
        .expect_exit(1)
        .run_error();
    assert_unverified(&f, "unknown issuer");
    assert_eq!(issuer.hit_count(&issuer.discovery_path()), 0);
}

#[test]
fn expired_leaf_is_refused() {
    let pki = Pki::expired_leaf();
    let issuer = Issuer::start(&pki);
    let f = Test::new()
        .args(discover(&issuer, &pki, &[]))
        .expect_exit(1)
        .run_error();
    assert_unverified(&f, "expired");
    assert_eq!(issuer.hit_count(&issuer.discovery_path()), 0);
}

#[test]
fn wrong_hostname_is_refused() {
    let pki = Pki::wrong_host();
    let issuer = Issuer::start(&pki);
    let f = Test::new()
        .args(discover(&issuer, &pki, &[]))
        .expect_exit(1)
        .run_error();
    assert_unverified(&f, "not valid for the name localhost");
    assert_eq!(issuer.hit_count(&issuer.discovery_path()), 0);
}

#[test]
fn discovery_404_explains_when_bitbucket_publishes_it() {
    let pki = Pki::new();
    let issuer = Issuer::start(&pki);
    issuer.remove_route(&issuer.discovery_path());
    let f = Test::new()
        .args(discover(&issuer, &pki, &[]))
        .expect_exit(1)
        .run_error();
    assert!(f.line.contains("404"), "{f:?}");
    assert!(f.line.contains("OpenID Connect is enabled"), "{f:?}");
    assert!(f.line.contains("a pipeline has run"), "{f:?}");
    assert!(f.json["hint"].as_str().unwrap().contains("pipeline"));
}

#[test]
fn discovery_that_is_not_json() {
    let pki = Pki::new();
    let issuer = Issuer::start(&pki);
    issuer.set_route(
        &issuer.discovery_path(),
        Response::html(200, "<html><body>Log in to Bitbucket</body></html>"),
    );
    let f = Test::new()
        .args(discover(&issuer, &pki, &[]))
        .expect_exit(1)
        .run_error();
    assert!(f.line.contains("not a valid OIDC configuration"), "{f:?}");
    // JSON, but not a discovery document.
    issuer.set_discovery(&json!({ "hello": "world" }));
    let f = Test::new()
        .args(discover(&issuer, &pki, &[]))
        .expect_exit(1)
        .run_error();
    assert!(f.line.contains("not a valid OIDC configuration"), "{f:?}");
}

#[test]
fn server_error_is_reported_with_its_status() {
    let pki = Pki::new();
    let issuer = Issuer::start(&pki);
    issuer.set_route(&issuer.discovery_path(), Response::text(503, "down"));
    let f = Test::new()
        .args(discover(&issuer, &pki, &[]))
        .expect_exit(1)
        .run_error();
    assert!(f.line.contains("HTTP 503"), "{f:?}");
}

#[test]
fn issuer_mismatch() {
    let pki = Pki::new();
    let issuer = Issuer::start(&pki);
    let mut doc = issuer.discovery_document();
    doc["issuer"] = json!(
        "https://api.bitbucket.org/2.0/workspaces/someone-else/pipelines-config/identity/oidc"
    );
    issuer.set_discovery(&doc);
    let f = Test::new()
        .args(discover(&issuer, &pki, &[]))
        .expect_exit(1)
        .run_error();
    assert!(f.line.contains("issuer mismatch"), "{f:?}");
    assert!(f.line.contains("someone-else"), "{f:?}");
    assert!(f.line.contains(&issuer.url()), "{f:?}");
    // The keys of a mismatched issuer are never fetched.
    assert_eq!(issuer.hit_count(&issuer.jwks_path()), 0);
}

#[test]
fn jwks_failures() {
    let pki = Pki::new();
    let issuer = Issuer::start(&pki);
    issuer.remove_route(&issuer.jwks_path());
    let f = Test::new()
        .args(discover(&issuer, &pki, &[]))
        .expect_exit(1)
        .run_error();
    assert!(f.line.contains("JWKS"), "{f:?}");
    assert!(f.line.contains("404"), "{f:?}");
    assert!(f.line.contains(&issuer.jwks_url()), "{f:?}");

    issuer.set_route(&issuer.jwks_path(), Response::text(200, "keys? what keys"));
    let f = Test::new()
        .args(discover(&issuer, &pki, &[]))
        .expect_exit(1)
        .run_error();
    assert!(f.line.contains("not a JWKS"), "{f:?}");

    // A jwks_uri that is not https is refused without fetching it.
    let mut doc = issuer.discovery_document();
    doc["jwks_uri"] = json!(format!("http://127.0.0.1:{}/oidc/keys.json", issuer.port()));
    issuer.set_discovery(&doc);
    issuer.clear_hits();
    let f = Test::new()
        .args(discover(&issuer, &pki, &[]))
        .expect_exit(1)
        .run_error();
    assert!(f.line.contains("not https"), "{f:?}");
    assert_eq!(issuer.hit_count(&issuer.jwks_path()), 0);
}

#[test]
fn slow_issuer_times_out() {
    let pki = Pki::new();
    let issuer = Issuer::start(&pki);
    issuer.set_route(
        &issuer.discovery_path(),
        Response::json(200, &issuer.discovery_document()).with_delay(Duration::from_secs(4)),
    );
    let started = Instant::now();
    let f = Test::new()
        .args(discover(&issuer, &pki, &["--timeout", "1"]))
        .expect_exit(1)
        .run_error();
    // Two runs (text and JSON), each bounded by the 1 s timeout, not by the 4 s delay.
    assert!(
        started.elapsed() < Duration::from_secs(7),
        "took {:?}",
        started.elapsed()
    );
    assert!(f.line.contains("did not answer within 1s"), "{f:?}");
    assert!(f.line.contains("--timeout"), "{f:?}");
}

#[test]
fn bodies_without_end_are_cut_at_the_cap() {
    let pki = Pki::new();
    let issuer = Issuer::start(&pki);
    for (path, url, what) in [
        (
            issuer.discovery_path(),
            issuer.discovery_url(),
            "discovery document",
        ),
        (issuer.jwks_path(), issuer.jwks_url(), "JWKS"),
    ] {
        for framing in [Framing::Chunked, Framing::CloseDelimited] {
            issuer.reset_routes();
            issuer.set_route(&path, Response::endless(framing));
            let started = Instant::now();
            // The timeout is far longer than reading 1 MiB takes: the cap, not the clock,
            // ends the read (and so bounds the memory it takes).
            let f = Test::new()
                .args(discover(&issuer, &pki, &["--timeout", "60"]))
                .expect_exit(1)
                .run_error();
            let took = started.elapsed();
            assert!(
                took < Duration::from_secs(20),
                "{what} {framing:?}: took {took:?}"
            );
            assert!(f.line.contains(what), "{f:?}");
            assert!(f.line.contains(&url), "names the URL: {f:?}");
            assert!(f.line.contains("larger than 1 MiB"), "names the cap: {f:?}");
        }
    }
}

/// Subcommand names listed under `Commands:` in `bootstrap --help`.
fn subcommands() -> Vec<String> {
    let out = Test::new().args(["--help"]).run();
    let mut names = Vec::new();
    let mut in_commands = false;
    for line in out.stdout.lines() {
        if line.starts_with("Commands:") {
            in_commands = true;
            continue;
        }
        if in_commands {
            if !line.starts_with("  ") {
                break;
            }
            // Wrapped descriptions continue on lines indented further.
            if line[2..].starts_with(' ') {
                continue;
            }
            if let Some(name) = line.split_whitespace().next() {
                if name != "help" {
                    names.push(name.to_string());
                }
            }
        }
    }
    names
}

#[test]
fn help_of_every_subcommand_renders() {
    Test::new()
        .args(["--help"])
        .expect_stdout_contains("Usage: bootstrap")
        .run();
    let names = subcommands();
    for expected in ["discover", "thumbprint", "plan", "init", "status"] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from --help: {names:?}"
        );
    }
    for name in &names {
        let out = Test::new()
            .args([name.as_str(), "--help"])
            .expect_stdout_contains(format!("Usage: bootstrap {name}"))
            .run();
        assert!(out.stderr.is_empty(), "{out:?}");
    }
    // `-h` too, and `--version`.
    Test::new().args(["discover", "-h"]).run();
    let v = Test::new().args(["--version"]).run();
    assert!(v.stdout.starts_with("bootstrap "), "{v:?}");
    // No subcommand: usage, exit 64.
    Test::new().expect_exit(64).run();
}

#[test]
fn completions_and_man_pages_come_from_the_same_definitions_as_help() {
    let names = subcommands();
    let scripts = [
        ("bash", "complete -F _bootstrap"),
        ("zsh", "#compdef bootstrap"),
        ("fish", "complete -c bootstrap"),
    ];
    for (shell, marker) in scripts {
        let out = Test::new().args(["completions", shell]).run();
        assert!(out.stdout.contains(marker), "{shell}: {out:?}");
        for name in &names {
            assert!(out.stdout.contains(name.as_str()), "{shell} lacks {name}");
        }
        // Flags of a subcommand are completed too.
        assert!(out.stdout.contains("detailed-exitcode"), "{shell}: {out:?}");
    }
    Test::new()
        .args(["completions", "tcsh"])
        .expect_exit(64)
        .run();

    let man = Test::new().args(["man"]).run();
    assert!(man.stdout.starts_with(".ie"), "{man:?}");
    assert!(man.stdout.contains(".TH bootstrap 1"), "{man:?}");
    for name in &names {
        // roff escapes hyphens: operator-policy is written operator\-policy.
        let roff = name.replace('-', "\\-");
        assert!(man.stdout.contains(&roff), "man page lacks {name}");
    }
    Test::new()
        .args(["man", "init"])
        .expect_stdout_contains(".TH bootstrap-init 1")
        .expect_stdout_contains("Apply without asking")
        .run();
    let f = Test::new()
        .args(["man", "no-such-command"])
        .expect_exit(64)
        .run_error();
    assert!(f.line.contains("no-such-command"), "{f:?}");
}
