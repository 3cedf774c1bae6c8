//! `bootstrap verify` options and reports: the JSON report is one document, inputs are checked
//! before any network call, a token passed as the argument is not echoed, a list `aud` is
//! judged under both readings, and `--role` picks among several configured roles.

use crate::common;
use crate::common::fixture::{REPO_UUID, WORKSPACE_UUID};
use crate::common::mint_token;
use crate::common::Pki;
use crate::common::Test;
use crate::verify::{assert_no_token, assert_refused, audience, cause, Offline};
use serde_json::{json, Value};

#[test]
fn json_report_is_one_document() {
    let o = Offline::start();
    let mut c = o.claims();
    c["aud"] = json!("https://vault.example.com");
    let token = mint_token(&o.issuer, c);
    let out = o.verify(&token, &["--output", "json"]).expect_exit(3).run();
    let doc = out.json();
    assert_eq!(doc["verdict"], "refused");
    assert!(doc["cause"]
        .as_str()
        .unwrap()
        .starts_with("aud `https://vault.example.com` is not"));
    assert_eq!(doc["token"]["claims"]["aud"], "https://vault.example.com");
    assert_eq!(doc["token"]["header"]["alg"], "RS256");
    let checks = doc["checks"].as_array().unwrap();
    let audience_check = checks.iter().find(|c| c["check"] == "audience").unwrap();
    assert_eq!(audience_check["status"], "fail");
    assert_no_token(&out, &token);
}

#[test]
fn inputs_are_checked_before_any_network_call() {
    // The issuer URL points at a closed port: these must fail as usage errors (exit 64)
    // without trying to connect.
    let pki = Pki::new();
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let dead = format!("https://localhost:{}/oidc", common::unused_port());
    let base = |token: &str| -> Vec<String> {
        vec![
            "verify".into(),
            "--offline".into(),
            "--token".into(),
            token.into(),
            "--issuer-url".into(),
            dead.clone(),
            "--ca-bundle".into(),
            pki.ca_bundle_arg(),
            "--workspace-uuid".into(),
            WORKSPACE_UUID.into(),
            "--repository-uuid".into(),
            REPO_UUID.into(),
        ]
    };
    let missing = dir.path().join("nope.jwt");
    Test::new()
        .args(base(&missing.display().to_string()))
        .expect_exit(64)
        .expect_stderr_contains("cannot read the token file")
        .run();

    let empty = dir.path().join("empty.jwt");
    std::fs::write(&empty, "  \n").unwrap();
    Test::new()
        .args(base(&empty.display().to_string()))
        .expect_exit(64)
        .expect_stderr_contains("is empty")
        .run();

    let junk = dir.path().join("junk.jwt");
    std::fs::write(&junk, "not-a-jwt").unwrap();
    Test::new()
        .args(base(&junk.display().to_string()))
        .expect_exit(64)
        .expect_stderr_contains("a JWT has exactly 3")
        .run();

    let good = dir.path().join("good.jwt");
    std::fs::write(&good, "eyJhbGciOiJSUzI1NiJ9.e30.c2ln").unwrap();
    let mut args = base(&good.display().to_string());
    args.extend(["--source-ip".into(), "198.51.100.0/24".into()]);
    Test::new()
        .args(args)
        .expect_exit(64)
        .expect_stderr_contains("not a range")
        .run();

    // --offline needs the trust settings.
    Test::new()
        .args([
            "verify",
            "--offline",
            "--token",
            &good.display().to_string(),
            "--issuer-url",
            &dead,
        ])
        .expect_exit(64)
        .expect_stderr_contains("no audience given")
        .run();

    // --offline and --assume contradict each other.
    let mut args = base(&good.display().to_string());
    args.push("--assume".into());
    Test::new().args(args).expect_exit(64).run();
}

#[test]
fn a_token_passed_as_the_argument_is_not_echoed() {
    let o = Offline::start();
    let token = mint_token(&o.issuer, o.claims());
    let out = Test::new()
        .args(["verify", "--token", &token, "--issuer-url", &o.issuer.url()])
        .expect_exit(64)
        .expect_stderr_contains("looks like the token itself")
        .run();
    assert_no_token(&out, &token);
}

/// Custom audiences (`oidc: audiences:` in a step) make `aud` a JSON list, even with one
/// value. The trust policy for custom audiences holds whether STS matches a list element by
/// element or as a whole, and the report says which reading gave the verdict.
#[test]
fn a_list_aud_is_judged_under_both_readings_and_the_report_names_the_one_applied() {
    let o = Offline::start();
    let custom = "deploy.example.com";
    let hp = o.issuer.host_path();
    let with_aud = |aud: Value| {
        let mut c = o.claims();
        c["aud"] = aud;
        mint_token(&o.issuer, c)
    };

    // The policy for a custom audience tests aud with the set operators only: accepted
    // under both readings.
    let token = with_aud(json!([custom]));
    let out = o.verify(&token, &["--audience", custom]).run();
    assert!(
        out.stdout
            .contains(&format!("ForAnyValue:StringEquals {hp}:aud"))
            && out
                .stdout
                .contains(&format!("ForAllValues:StringEquals {hp}:aud")),
        "{out:?}"
    );
    assert!(
        out.stdout
            .contains("aud is a JSON list (`deploy.example.com`)")
            && out
                .stdout
                .contains("element by element allowed, as a whole allowed")
            && out.stdout.contains("applied: element by element"),
        "{out:?}"
    );
    let out = o
        .verify(&token, &["--audience", custom, "--output", "json"])
        .run();
    let doc = out.json();
    assert_eq!(
        doc["aud_reading"],
        json!({
            "values": [custom],
            "applied": "element-wise",
            "allowed_element_wise": true,
            "allowed_as_a_whole": true,
            "readings_agree": true,
        })
    );

    // A token also minted for an audience the role does not trust is refused.
    let token = with_aud(json!([custom, "https://vault.example.com"]));
    o.verify(&token, &["--audience", custom])
        .expect_exit(3)
        .expect_stdout_contains("ForAllValues requires every request value to match")
        .run();

    // A one-string aud is not a list: nothing to say about readings.
    let token = with_aud(json!(audience()));
    let out = o
        .verify(&token, &["--audience", custom, "--output", "json"])
        .run();
    assert_eq!(out.json()["aud_reading"], Value::Null);

    // A policy with plain StringEquals (no custom audience configured) allows a list aud only
    // if STS matches element by element: the stricter reading applies, and the cause says
    // how to write the policy instead.
    let token = with_aud(json!([audience()]));
    let out = o.verify(&token, &[]).expect_exit(3).run();
    assert!(
        out.stdout
            .contains("element by element allowed, as a whole denied")
            && out.stdout.contains("applied: as a whole"),
        "{out:?}"
    );
    let c = cause(&out);
    assert!(
        c.contains("ForAnyValue:StringEquals") && c.contains("--audience"),
        "{c}"
    );
    let doc = o
        .verify(&token, &["--output", "json"])
        .expect_exit(3)
        .run()
        .json();
    assert_eq!(doc["aud_reading"]["applied"], "whole");
    assert_eq!(doc["aud_reading"]["readings_agree"], false);
}

#[test]
fn with_several_roles_configured_role_picks_the_one_that_judges() {
    let o = Offline::start();
    let config = o.dir.path().join("bootstrap.toml");
    std::fs::write(
        &config,
        format!(
            "[[role]]\nname = \"ours\"\nrepository-uuid = [\"{REPO_UUID}\"]\n\n[[role]]\nname = \"theirs\"\nrepository-uuid = [\"{{1a2b3c4d-5555-4e6f-8a9b-0123456789ab}}\"]\n"
        ),
    )
    .expect("write config");
    let token = mint_token(&o.issuer, o.claims());
    let verify = |extra: &[&str]| {
        o.verify_with_issuer(&token)
            .arg("--config")
            .arg(&config)
            .args(extra)
    };
    verify(&[])
        .expect_exit(64)
        .expect_stderr_contains("pass --role NAME")
        .run();
    verify(&["--role", "nope"])
        .expect_exit(64)
        .expect_stderr_contains("--role nope: no such role")
        .run();
    verify(&["--role", "ours"])
        .expect_stdout_contains("verdict: ACCEPTED")
        .run();
    assert_refused(&verify(&["--role", "theirs"]).expect_exit(3).run(), "");
}
