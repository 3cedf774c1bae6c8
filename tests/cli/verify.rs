//! `bootstrap verify` driven as a subprocess: tokens minted by the test issuer's RSA key,
//! judged offline (the desired trust policy) and live (the role `bootstrap init` created in
//! moto). Expected messages are written from the tokens minted here and from the documented
//! meaning of each claim, never copied from the tool's output. The live role is judged in
//! `verify_live.rs`, verify's options and reports in `verify_options.rs`.

use crate::common::Test;

use std::path::PathBuf;

use serde_json::{json, Value};

use crate::common::fixture::{ENV_UUID, REPO_UUID, WORKSPACE_UUID};
use crate::common::jwt::{self, now};
use crate::common::{bitbucket_claims, braced, fake_uuid, mint_token, CliOutput};
use crate::common::{Issuer, Pki};

pub const STEP_UUID: &str = "{5e1d7c3b-4444-4f6a-8b9c-0a1b2c3d4e5f}";

pub fn audience() -> String {
    format!("ari:cloud:bitbucket::workspace/{WORKSPACE_UUID}")
}

/// An issuer with its PKI and a directory for token files (no AWS needed for --offline).
pub struct Offline {
    pub pki: Pki,
    pub issuer: Issuer,
    pub dir: tempfile::TempDir,
}

impl Offline {
    pub fn start() -> Offline {
        let pki = Pki::new();
        let issuer = Issuer::start(&pki);
        let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
        Offline { pki, issuer, dir }
    }

    /// Claims for a good token from the configured repository.
    pub fn claims(&self) -> Value {
        bitbucket_claims(&self.issuer.url(), &audience(), REPO_UUID, STEP_UUID, None)
    }

    pub fn token_file(&self, name: &str, token: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, token).expect("write token");
        path
    }

    /// `bootstrap verify --offline` with the issuer, the default trust settings and `extra`.
    pub fn verify(&self, token: &str, extra: &[&str]) -> Test<'static> {
        self.verify_with_issuer(token)
            .args(["--repository-uuid", REPO_UUID])
            .args(extra)
    }

    /// `bootstrap verify --offline` of `token` with the issuer and workspace alone: the
    /// caller adds the trust settings (flags or `--config`).
    pub fn verify_with_issuer(&self, token: &str) -> Test<'static> {
        let file = self.token_file("token.jwt", token);
        Test::new()
            .args(["verify", "--offline", "--token"])
            .arg(file)
            .args(["--issuer-url".to_string(), self.issuer.url()])
            .args(["--ca-bundle".to_string(), self.pki.ca_bundle_arg()])
            .args(["--workspace-uuid", WORKSPACE_UUID])
    }
}

/// The `cause:` line of a text report.
pub fn cause(out: &CliOutput) -> String {
    out.stdout
        .lines()
        .find_map(|l| l.strip_prefix("cause: "))
        .unwrap_or_else(|| panic!("no cause line\n{out:?}"))
        .to_string()
}

/// A refusal's report: the REFUSED verdict, and a cause that starts with `expected_start`
/// (its exit code, 3, is the run's expectation).
#[track_caller]
pub fn assert_refused(out: &CliOutput, expected_start: &str) {
    assert!(
        out.stdout.contains("verdict: REFUSED"),
        "no REFUSED verdict\n{out:?}"
    );
    let c = cause(out);
    assert!(
        c.starts_with(expected_start),
        "cause does not start with {expected_start:?}:\n{c}\n{out:?}"
    );
}

/// No part of the raw token (whole, signature, or encoded payload) in any output.
#[track_caller]
pub fn assert_no_token(out: &CliOutput, token: &str) {
    let parts: Vec<&str> = token.split('.').collect();
    for (what, needle) in [
        ("token", token),
        ("payload segment", parts.get(1).copied().unwrap_or(token)),
        ("signature segment", parts.get(2).copied().unwrap_or(token)),
    ] {
        if needle.len() < 8 {
            continue;
        }
        assert!(
            !out.stdout.contains(needle) && !out.stderr.contains(needle),
            "the raw {what} appears in the output\n{out:?}"
        );
    }
}

#[test]
fn good_token_is_accepted_and_its_claims_shown() {
    let o = Offline::start();
    let token = mint_token(&o.issuer, o.claims());
    let out = o
        .verify(&token, &[])
        .expect_stdout_contains("verdict: ACCEPTED")
        .run();
    // Claims are printed (sub is {repo}:{step} as Bitbucket builds it).
    assert!(
        out.stdout
            .contains(&format!("{}:{}", braced(REPO_UUID), STEP_UUID)),
        "{out:?}"
    );
    assert!(out.stdout.contains("branchName"), "{out:?}");
    // Each condition is shown with both sides.
    let hp = o.issuer.host_path();
    assert!(
        out.stdout.contains(&format!("StringEquals {hp}:aud")),
        "{out:?}"
    );
    assert!(
        out.stdout.contains(&format!("StringLike {hp}:sub")),
        "{out:?}"
    );
    assert!(
        out.stdout.contains(&format!("`{}:*`", braced(REPO_UUID))),
        "{out:?}"
    );
    assert_no_token(&out, &token);
}

#[test]
fn token_from_stdin() {
    let o = Offline::start();
    let token = mint_token(&o.issuer, o.claims());
    let out = Test::new()
        .args([
            "verify",
            "--offline",
            "--token",
            "-",
            "--issuer-url",
            &o.issuer.url(),
            "--ca-bundle",
            &o.pki.ca_bundle_arg(),
            "--workspace-uuid",
            WORKSPACE_UUID,
            "--repository-uuid",
            REPO_UUID,
        ])
        .stdin(format!("{token}\n"))
        .run();
    assert_no_token(&out, &token);
}

#[test]
fn wrong_audience_is_refused() {
    let o = Offline::start();
    let other = format!("ari:cloud:bitbucket::workspace/{}", &fake_uuid(77)[1..37]);
    let mut c = o.claims();
    c["aud"] = json!(other);
    let out = o
        .verify(&mint_token(&o.issuer, c), &[])
        .expect_exit(3)
        .run();
    // The provider's client IDs are checked first, as STS does ("Incorrect token audience").
    assert_refused(&out, &format!("aud `{other}` is not `{}`", audience()));
    assert!(cause(&out).contains("Incorrect token audience"), "{out:?}");
    assert!(cause(&out).contains("--workspace-uuid"), "{out:?}");
}

#[test]
fn another_repository_is_refused() {
    let o = Offline::start();
    let other_repo = fake_uuid(42);
    let c = bitbucket_claims(&o.issuer.url(), &audience(), &other_repo, STEP_UUID, None);
    let out = o
        .verify(&mint_token(&o.issuer, c), &[])
        .expect_exit(3)
        .run();
    assert_refused(
        &out,
        &format!(
            "sub `{other_repo}:{STEP_UUID}` does not match `{}:*`: the token comes from another repository",
            braced(REPO_UUID)
        ),
    );
    assert!(
        cause(&out).contains(&format!("--repository-uuid {other_repo}")),
        "{out:?}"
    );
    // A plain step reads the role from the repository variable: the hint names it.
    assert!(
        cause(&out).contains(&format!(
            "if the step used the wrong role ARN, fix the repository variable AWS_ROLE_ARN of repository {other_repo} (Repository settings > Repository variables)"
        )),
        "{out:?}"
    );
}

#[test]
fn another_deployment_environment_is_refused() {
    let o = Offline::start();
    let env_flags = ["--environment-uuid", ENV_UUID];
    // A deployment step in the trusted environment passes.
    let good = bitbucket_claims(
        &o.issuer.url(),
        &audience(),
        REPO_UUID,
        STEP_UUID,
        Some(ENV_UUID),
    );
    o.verify(&mint_token(&o.issuer, good), &env_flags).run();

    let other_env = fake_uuid(9);
    let c = bitbucket_claims(
        &o.issuer.url(),
        &audience(),
        REPO_UUID,
        STEP_UUID,
        Some(&other_env),
    );
    let out = o
        .verify(&mint_token(&o.issuer, c), &env_flags)
        .expect_exit(3)
        .run();
    let sub = format!("{}:{other_env}:{STEP_UUID}", braced(REPO_UUID));
    assert_refused(
        &out,
        &format!(
            "sub `{sub}` does not match `{}:{}:*`: the token comes from another deployment environment ({other_env})",
            braced(REPO_UUID),
            braced(ENV_UUID)
        ),
    );
    // A deployment step reads the role from its environment's deployment variable first.
    assert!(
        cause(&out).contains(&format!(
            "if the step used the wrong role ARN, fix AWS_ROLE_ARN in the deployment variables of the {other_env} environment (Repository settings > Deployments; without it there, the repository variable AWS_ROLE_ARN of repository {} (Repository settings > Repository variables) applies)",
            braced(REPO_UUID)
        )),
        "{out:?}"
    );

    // A plain (non-deployment) step of the right repository.
    let plain = o.claims();
    let out = o
        .verify(&mint_token(&o.issuer, plain), &env_flags)
        .expect_exit(3)
        .run();
    assert!(
        cause(&out).contains("the step is not a deployment step"),
        "{out:?}"
    );
    assert!(
        cause(&out).contains("fix the repository variable AWS_ROLE_ARN of repository"),
        "{out:?}"
    );
}

fn rfc3339(t: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp(i64::try_from(t).unwrap())
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

#[test]
fn expired_token_is_refused() {
    let o = Offline::start();
    let mut c = o.claims();
    let exp = now() - 3600;
    c["iat"] = json!(exp - 3600);
    c["exp"] = json!(exp);
    let out = o
        .verify(&mint_token(&o.issuer, c), &[])
        .expect_exit(3)
        .run();
    assert_refused(&out, "the token expired ");
    let cause = cause(&out);
    assert!(cause.contains(&format!("(at {})", rfc3339(exp))), "{cause}");
    assert!(cause.contains("re-run the step"), "{cause}");
}

#[test]
fn token_not_yet_valid_is_refused() {
    let o = Offline::start();
    let mut c = o.claims();
    let nbf = now() + 900;
    c["nbf"] = json!(nbf);
    c["iat"] = json!(nbf);
    c["exp"] = json!(nbf + 3600);
    let out = o
        .verify(&mint_token(&o.issuer, c), &[])
        .expect_exit(3)
        .run();
    assert_refused(&out, "the token is not valid for another ");
    let cause = cause(&out);
    assert!(
        cause.contains(&format!("(not before {})", rfc3339(nbf))),
        "{cause}"
    );
    assert!(cause.contains("clock"), "{cause}");
}

#[test]
fn a_small_clock_skew_is_tolerated() {
    let o = Offline::start();
    let mut c = o.claims();
    // 20 seconds in the future: within any "small leeway".
    c["iat"] = json!(now() + 20);
    c["nbf"] = json!(now() + 20);
    o.verify(&mint_token(&o.issuer, c), &[]).run();
}

#[test]
fn tampered_signature_is_refused() {
    let o = Offline::start();
    let token = jwt::tamper_signature(&mint_token(&o.issuer, o.claims()));
    let out = o.verify(&token, &[]).expect_exit(3).run();
    assert_refused(
        &out,
        &format!(
            "the token's signature does not verify with JWKS key `{}`",
            o.issuer.kid()
        ),
    );
    assert_no_token(&out, &token);
}

#[test]
fn tampered_claims_are_refused() {
    // Someone edits sub to the trusted repository but keeps the signature.
    let o = Offline::start();
    let theirs = bitbucket_claims(&o.issuer.url(), &audience(), &fake_uuid(5), STEP_UUID, None);
    let token = jwt::replace_claims(&mint_token(&o.issuer, theirs), &o.claims());
    let out = o.verify(&token, &[]).expect_exit(3).run();
    assert_refused(&out, "the token's signature does not verify");
}

#[test]
fn unknown_kid_is_refused() {
    let o = Offline::start();
    let out = o
        .verify(&jwt::mint_unknown_kid(&o.issuer, o.claims()), &[])
        .expect_exit(3)
        .run();
    assert_refused(
        &out,
        &format!(
            "the token was signed with key `no-such-kid`, which the issuer's JWKS does not contain (it has `{}`)",
            o.issuer.kid()
        ),
    );
}

#[test]
fn alg_none_is_refused() {
    let o = Offline::start();
    let out = o
        .verify(&jwt::alg_none_token(&o.issuer, o.claims()), &[])
        .expect_exit(3)
        .run();
    assert_refused(&out, "alg none is never accepted");
}

#[test]
fn hs256_signed_with_the_public_key_is_refused() {
    let o = Offline::start();
    let out = o
        .verify(&jwt::hs256_with_public_key(&o.issuer, o.claims()), &[])
        .expect_exit(3)
        .run();
    assert_refused(&out, "HS256 (shared-secret) tokens are refused");
}

#[test]
fn wrong_issuer_is_refused() {
    let o = Offline::start();
    let other =
        "https://api.bitbucket.org/2.0/workspaces/someone-else/pipelines-config/identity/oidc";
    let mut c = o.claims();
    c["iss"] = json!(other);
    let out = o
        .verify(&mint_token(&o.issuer, c), &[])
        .expect_exit(3)
        .run();
    assert_refused(
        &out,
        &format!(
            "the token was issued by `{other}`, not `{}`",
            o.issuer.url()
        ),
    );
}

#[test]
fn source_ip_outside_the_range_is_refused() {
    let o = Offline::start();
    let token = mint_token(&o.issuer, o.claims());
    let range = ["--trust-source-ip", "203.0.113.0/24"];

    let out = o
        .verify(
            &token,
            &[&range[..], &["--source-ip", "198.51.100.7"]].concat(),
        )
        .expect_exit(3)
        .run();
    assert_refused(
        &out,
        "aws:SourceIp `198.51.100.7` is outside 203.0.113.0/24: 1x/2x steps have no fixed IP",
    );
    assert!(cause(&out).contains("atlassian-ip-ranges"), "{out:?}");

    // Inside the range: accepted.
    o.verify(
        &token,
        &[&range[..], &["--source-ip", "203.0.113.77"]].concat(),
    )
    .run();

    // No --source-ip: the IP condition cannot be judged, and the report says so.
    let out = o
        .verify(&token, &range)
        .expect_exit(3)
        .expect_stdout_contains("verdict: UNDETERMINED")
        .run();
    assert!(cause(&out).contains("no --source-ip was given"), "{out:?}");
}
