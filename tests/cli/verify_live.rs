//! `bootstrap verify` against the role `bootstrap init` created in moto: the raw token never
//! appears in any output, `--assume` waits for a role created moments ago, and the live role
//! judges and is assumed.

use crate::common::fixture::{World, REPO_UUID, WORKSPACE_UUID};
use crate::common::jwt::{self};
use crate::common::Test;
use crate::common::{bitbucket_claims, fake_uuid, mint_token};
use crate::verify::{assert_no_token, assert_refused, cause, STEP_UUID};
use serde_json::Value;

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
