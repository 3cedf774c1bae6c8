//! `bootstrap verify` driven as a subprocess: tokens minted by the test issuer's RSA key,
//! judged offline (the desired trust policy) and live (the role `bootstrap init` created in
//! moto). Expected messages are written from the tokens minted here and from the documented
//! meaning of each claim, never copied from the tool's output.

use crate::common;
use crate::common::Test;

use std::path::PathBuf;

use serde_json::{json, Value};

use crate::common::fixture::{World, ENV_UUID, REPO_UUID, WORKSPACE_UUID};
use crate::common::jwt::{self, now};
use crate::common::{bitbucket_claims, braced, fake_uuid, mint_token, CliOutput};
use crate::common::{Issuer, Pki};

const STEP_UUID: &str = "{5e1d7c3b-4444-4f6a-8b9c-0a1b2c3d4e5f}";

fn audience() -> String {
    format!("ari:cloud:bitbucket::workspace/{WORKSPACE_UUID}")
}

/// An issuer with its PKI and a directory for token files (no AWS needed for --offline).
struct Offline {
    pki: Pki,
    issuer: Issuer,
    dir: tempfile::TempDir,
}

impl Offline {
    fn start() -> Offline {
        let pki = Pki::new();
        let issuer = Issuer::start(&pki);
        let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
        Offline { pki, issuer, dir }
    }

    /// Claims for a good token from the configured repository.
    fn claims(&self) -> Value {
        bitbucket_claims(&self.issuer.url(), &audience(), REPO_UUID, STEP_UUID, None)
    }

    fn token_file(&self, name: &str, token: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, token).expect("write token");
        path
    }

    /// `bootstrap verify --offline` with the issuer, the default trust settings and `extra`.
    fn verify(&self, token: &str, extra: &[&str]) -> Test<'static> {
        let file = self.token_file("token.jwt", token);
        let mut args: Vec<String> = vec![
            "verify".into(),
            "--offline".into(),
            "--token".into(),
            file.display().to_string(),
            "--issuer-url".into(),
            self.issuer.url(),
            "--ca-bundle".into(),
            self.pki.ca_bundle_arg(),
            "--workspace-uuid".into(),
            WORKSPACE_UUID.into(),
            "--repository-uuid".into(),
            REPO_UUID.into(),
        ];
        args.extend(extra.iter().map(ToString::to_string));
        Test::new().args(args)
    }
}

/// The `cause:` line of a text report.
fn cause(out: &CliOutput) -> String {
    out.stdout
        .lines()
        .find_map(|l| l.strip_prefix("cause: "))
        .unwrap_or_else(|| panic!("no cause line\n{out:?}"))
        .to_string()
}

/// A refusal's report: the REFUSED verdict, and a cause that starts with `expected_start`
/// (its exit code, 3, is the run's expectation).
#[track_caller]
fn assert_refused(out: &CliOutput, expected_start: &str) {
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
fn assert_no_token(out: &CliOutput, token: &str) {
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

#[test]
fn raw_token_never_appears_even_verbose() {
    let w = World::start();
    w.test("init").args(["--yes"]).run();
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let good = mint_token(
        &w.issuer,
        bitbucket_claims(&w.issuer.url(), &w.audience(), REPO_UUID, STEP_UUID, None),
    );
    let refused = mint_token(
        &w.issuer,
        bitbucket_claims(
            &w.issuer.url(),
            &w.audience(),
            &fake_uuid(3),
            STEP_UUID,
            None,
        ),
    );
    let tampered = jwt::tamper_signature(&good);
    for (name, token) in [
        ("good", &good),
        ("refused", &refused),
        ("tampered", &tampered),
    ] {
        let file = dir.path().join(name);
        std::fs::write(&file, token).unwrap();
        let f = file.display().to_string();
        for extra in [
            vec!["-v", "--assume"],
            vec!["-vv", "--output", "json", "--assume"],
            vec!["-v", "--offline"],
        ] {
            let mut args = vec!["verify", "--token", &f];
            args.extend(extra.iter().copied());
            let out = w.run_verify(&args).expect_exit_in(&[0, 3]).run();
            assert_no_token(&out, token);
        }
    }
}

trait VerifyWorld {
    fn run_verify(&self, args: &[&str]) -> Test<'_>;
}

impl VerifyWorld for World {
    /// `bootstrap verify ...` with the world's endpoint, issuer and trust settings.
    fn run_verify(&self, args: &[&str]) -> Test<'_> {
        let mut all: Vec<String> = args.iter().map(ToString::to_string).collect();
        all.extend(self.flags());
        all.extend(
            [
                "--workspace-uuid",
                WORKSPACE_UUID,
                "--repository-uuid",
                REPO_UUID,
            ]
            .map(String::from),
        );
        Test::new().args(all).moto(&self.moto)
    }
}

/// Right after `init` creates the role, STS does not let anyone assume it for a few seconds
/// (IAM is eventually consistent; tests/aws_layer.py models it: 4 s at this scale). `verify
/// --assume` sees the role is new, asks again with backoff, and succeeds.
#[test]
fn assume_waits_for_a_role_created_moments_ago() {
    let w = World::start_at_scale("0.5");
    w.test("init").args(["--yes", "--no-lock-table"]).run();
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let good = dir.path().join("good");
    let claims = bitbucket_claims(&w.issuer.url(), &w.audience(), REPO_UUID, STEP_UUID, None);
    std::fs::write(&good, mint_token(&w.issuer, claims)).unwrap();
    let good = good.display().to_string();
    let out = w
        .run_verify(&["verify", "--token", &good, "--assume", "--output", "json"])
        .run();
    let refused: Vec<String> = w.moto.refusals().into_iter().map(|(k, _)| k).collect();
    assert!(
        refused.contains(&"sts:AccessDenied".to_string()),
        "STS refused the new role at first: {refused:?}"
    );
    assert_eq!(
        out.json()["sts"]["assumed_role_arn"],
        format!(
            "arn:aws:sts::{}:assumed-role/bitbucket-pipelines-deploy/bootstrap-verify",
            w.moto.account_id()
        )
        .as_str(),
        "{out:?}"
    );
}

#[test]
#[allow(clippy::too_many_lines, reason = "one scenario, in order")]
fn live_role_judges_and_assume_returns_the_assumed_role() {
    let w = World::start();
    w.test("init").args(["--yes"]).run();
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let write = |name: &str, claims: Value| {
        let p = dir.path().join(name);
        std::fs::write(&p, mint_token(&w.issuer, claims)).unwrap();
        p.display().to_string()
    };
    let good = write(
        "good",
        bitbucket_claims(&w.issuer.url(), &w.audience(), REPO_UUID, STEP_UUID, None),
    );

    // Judged against the role read from IAM (moto).
    let out = w
        .run_verify(&["verify", "--token", &good])
        .expect_stdout_contains("(read from IAM)")
        .run();
    let role_arn = format!(
        "arn:aws:iam::{}:role/bitbucket-pipelines-deploy",
        w.moto.account_id()
    );
    assert!(out.stdout.contains(&role_arn), "{out:?}");

    // --assume: STS AssumeRoleWithWebIdentity, then GetCallerIdentity with the temporary
    // credentials. The assumed-role ARN has the documented form
    // arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION.
    let out = w
        .run_verify(&["verify", "--token", &good, "--assume", "--output", "json"])
        .run();
    let doc = out.json();
    let assumed = format!(
        "arn:aws:sts::{}:assumed-role/bitbucket-pipelines-deploy/bootstrap-verify",
        w.moto.account_id()
    );
    assert_eq!(doc["sts"]["assumed_role_arn"], assumed.as_str(), "{out:?}");
    assert_eq!(
        doc["sts"]["caller_identity"]["arn"],
        assumed.as_str(),
        "{out:?}"
    );
    assert_eq!(
        doc["sts"]["caller_identity"]["account"],
        w.moto.account_id(),
        "{out:?}"
    );
    let ops: Vec<&str> = doc["aws_calls"]["calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["operation"].as_str())
        .collect();
    assert!(ops.contains(&"AssumeRoleWithWebIdentity"), "{ops:?}");
    assert!(ops.contains(&"GetCallerIdentity"), "{ops:?}");
    w.run_verify(&["verify", "--token", &good, "--assume"])
        .expect_stdout_contains(format!("assumed role    {assumed}"))
        .run();

    // A refused token never reaches STS.
    let other = write(
        "other",
        bitbucket_claims(
            &w.issuer.url(),
            &w.audience(),
            &fake_uuid(8),
            STEP_UUID,
            None,
        ),
    );
    let out = w
        .run_verify(&["verify", "--token", &other, "--assume", "--output", "json"])
        .expect_exit(3)
        .run();
    let doc = out.json();
    assert!(doc.get("sts").is_none(), "{out:?}");
    assert!(doc["cause"]
        .as_str()
        .unwrap()
        .contains("the token comes from another repository"));

    // Wrong audience against the live provider: STS's "Incorrect token audience".
    let wrong_aud = write(
        "aud",
        bitbucket_claims(
            &w.issuer.url(),
            "ari:cloud:bitbucket::workspace/00000000-0000-4000-8000-000000000000",
            REPO_UUID,
            STEP_UUID,
            None,
        ),
    );
    let out = w
        .run_verify(&["verify", "--token", &wrong_aud])
        .expect_exit(3)
        .run();
    assert_refused(
        &out,
        &format!(
            "aud `ari:cloud:bitbucket::workspace/00000000-0000-4000-8000-000000000000` is not `{}`",
            w.audience()
        ),
    );
    assert!(cause(&out).contains("Incorrect token audience"), "{out:?}");

    // A role that does not exist.
    let out = w
        .run_verify(&["verify", "--token", &good, "--role-name", "no-such-role"])
        .expect_exit(3)
        .run();
    assert_refused(&out, "role `no-such-role` does not exist in account");

    // An IP-restricted role created by init, judged live.
    w.test("init")
        .args([
            "--yes",
            "--role-name",
            "ip-restricted",
            "--source-ip",
            "203.0.113.0/24",
        ])
        .run();
    let from = |ip| {
        let args = ["verify", "--token", &good, "--role-name", "ip-restricted"];
        w.run_verify(&[&args[..], &["--source-ip", ip]].concat())
    };
    let out = from("198.51.100.7").expect_exit(3).run();
    assert_refused(
        &out,
        "aws:SourceIp `198.51.100.7` is outside 203.0.113.0/24: 1x/2x steps have no fixed IP",
    );
    from("203.0.113.9").run();
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
    let doc = o.verify(&token, &["--output", "json"]).run().json();
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
    let file = o.token_file("token.jwt", &token);
    let verify = |extra: &[&str]| {
        let mut args: Vec<String> = vec![
            "verify".into(),
            "--offline".into(),
            "--token".into(),
            file.display().to_string(),
            "--issuer-url".into(),
            o.issuer.url(),
            "--ca-bundle".into(),
            o.pki.ca_bundle_arg(),
            "--workspace-uuid".into(),
            WORKSPACE_UUID.into(),
            "--config".into(),
            config.display().to_string(),
        ];
        args.extend(extra.iter().map(ToString::to_string));
        Test::new().args(args)
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
