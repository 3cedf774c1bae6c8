//! Many roles on one provider and one state backend: `[[role]]` tables in bootstrap.toml and
//! `--plan-apply`, created, read back with the AWS SDK, and re-run without a write; inputs
//! that mix the two ways of naming roles are refused before any AWS call.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::aws::strings;
use crate::common::fixture::{World, BUCKET, ENV_UUID, REPO_UUID, WORKSPACE_UUID};
use crate::common::inspect::Inspect;
use crate::common::Test;

const OTHER_REPO: &str = "{1a2b3c4d-5555-4e6f-8a9b-0123456789ab}";

/// A bootstrap.toml with a plan role, an apply role limited to the production environment and
/// a CDK role, written into a fresh directory.
pub(crate) fn three_roles(dir: &tempfile::TempDir) -> PathBuf {
    let text = format!(
        r#"
[[role]]
name = "infra-plan"
access = "plan"
repository-uuid = ["{REPO_UUID}"]

[[role]]
name = "infra-apply"
repository-uuid = ["{REPO_UUID}"]
environment-uuid = ["{ENV_UUID}"]

[[role]]
name = "app-cdk"
access = "cdk"
repository-uuid = ["{OTHER_REPO}"]
"#
    );
    let path = dir.path().join("bootstrap.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

/// `bootstrap CMD` against this world with `--config FILE` instead of the single-role flags.
pub(crate) fn with_config<'a>(w: &'a World, cmd: &str, config: &Path) -> Test<'a> {
    Test::new()
        .arg(cmd)
        .args(w.flags())
        .args(["--workspace-uuid", WORKSPACE_UUID, "--state-bucket", BUCKET])
        .arg("--config")
        .arg(config)
        .moto(&w.moto)
}

/// The `sub` patterns of a role's live trust policy.
fn subs(aws: &Inspect, w: &World, role: &str) -> Vec<String> {
    let trust = aws.trust_policy(role);
    let key = format!("{}:sub", w.issuer.host_path());
    strings(&trust["Statement"][0]["Condition"]["StringLike"][key.as_str()])
}

/// The actions a policy document allows on `resource`.
fn actions_on(doc: &Value, resource: &str) -> Vec<String> {
    let statements = doc["Statement"].as_array().cloned().unwrap_or_default();
    let mut out: Vec<String> = statements
        .iter()
        .filter(|s| strings(&s["Resource"]).iter().any(|r| r == resource))
        .flat_map(|s| strings(&s["Action"]))
        .collect();
    out.sort();
    out
}

#[test]
fn three_roles_share_one_provider_and_backend_and_a_rerun_writes_nothing() {
    let w = World::start_with_managed_policies();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = three_roles(&dir);
    let out = with_config(&w, "init", &config).arg("--yes").run();
    // A warning the three roles share is said once, naming them.
    let shared = "warning: roles infra-plan, infra-apply, app-cdk: no --source-ip";
    assert_eq!(
        out.stderr.matches("no --source-ip").count(),
        1,
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains(shared), "{}", out.stderr);
    let aws = Inspect::new(&w.moto.endpoint());
    let mut names = aws.role_names();
    names.sort();
    assert_eq!(
        names,
        ["app-cdk", "infra-apply", "infra-plan"],
        "{}",
        out.stderr
    );
    assert_eq!(aws.provider_arns(), vec![w.provider_arn()]);
    assert_eq!(aws.bucket_names(), vec![BUCKET.to_string()]);

    // Who may assume each role.
    assert_eq!(subs(&aws, &w, "infra-plan"), vec![format!("{REPO_UUID}:*")]);
    assert_eq!(
        subs(&aws, &w, "infra-apply"),
        vec![format!("{REPO_UUID}:{ENV_UUID}:*")]
    );
    assert_eq!(subs(&aws, &w, "app-cdk"), vec![format!("{OTHER_REPO}:*")]);

    // What each may do: the pair of one repository shares its state prefix (its base name).
    let objects = format!("arn:aws:s3:::{BUCKET}/infra/*");
    let locks = format!("arn:aws:s3:::{BUCKET}/infra/*.tflock");
    let plan = aws.inline_policy("infra-plan", "terraform-state-access");
    assert_eq!(actions_on(&plan, &objects), ["s3:GetObject"]);
    assert_eq!(
        actions_on(&plan, &locks),
        ["s3:DeleteObject", "s3:PutObject"]
    );
    assert_eq!(
        aws.attached_policy_arns("infra-plan"),
        ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
    );
    let apply = aws.inline_policy("infra-apply", "terraform-state-access");
    assert_eq!(
        actions_on(&apply, &objects),
        ["s3:GetObject", "s3:PutObject"]
    );
    assert!(aws.attached_policy_arns("infra-apply").is_empty());
    let cdk_roles = format!("arn:aws:iam::{}:role/cdk-*", w.moto.account_id());
    let cdk = aws.inline_policy("app-cdk", "cdk-bootstrap-roles");
    assert_eq!(actions_on(&cdk, &cdk_roles), ["sts:AssumeRole"]);
    assert_eq!(
        strings(
            &cdk["Statement"][0]["Condition"]["StringEquals"]
                ["iam:ResourceTag/aws-cdk:bootstrap-role"]
        ),
        ["deploy", "file-publishing", "image-publishing", "lookup"]
    );
    assert_eq!(aws.inline_policy_names("app-cdk"), ["cdk-bootstrap-roles"]);
    let tags = aws.role_tags("infra-plan");
    assert_eq!(
        tags.get("bootstrap-set").map(String::as_str),
        Some(w.issuer.host_path().as_str())
    );

    // Converged: a re-run of init and plan write nothing, and plan says so.
    with_config(&w, "init", &config)
        .arg("--yes")
        .expect_no_writes()
        .run();
    with_config(&w, "plan", &config)
        .arg("--detailed-exitcode")
        .expect_no_writes()
        .run();
}

#[test]
fn plan_apply_makes_a_repository_wide_plan_role_and_an_environment_apply_role() {
    let w = World::start_with_managed_policies();
    let account = w.moto.account_id();
    let out = w
        .test("init")
        .args([
            "--yes",
            "--plan-apply",
            "--environment-uuid",
            ENV_UUID,
            "--role-name",
            "infra",
        ])
        .run();
    // What goes where: each role's ARN, named, for AWS_ROLE_ARN, in a repository variable or
    // in a deployment variable of the environment the role is limited to.
    let apply_place = format!("deployment variable of environment {ENV_UUID}");
    for (role, access, place) in [
        ("infra-plan", "plan", "repository variable"),
        ("infra-apply", "apply", apply_place.as_str()),
    ] {
        let arn = format!("arn:aws:iam::{account}:role/{role}");
        let mut want = vec![role, access];
        want.extend(place.split_whitespace());
        want.extend(["AWS_ROLE_ARN", "=", arn.as_str()]);
        let found = out
            .stdout
            .lines()
            .any(|l| l.split_whitespace().eq(want.iter().copied()));
        assert!(found, "{want:?}\n{}", out.stdout);
    }
    let aws = Inspect::new(&w.moto.endpoint());
    let mut names = aws.role_names();
    names.sort();
    assert_eq!(names, ["infra-apply", "infra-plan"]);
    assert_eq!(subs(&aws, &w, "infra-plan"), vec![format!("{REPO_UUID}:*")]);
    assert_eq!(
        subs(&aws, &w, "infra-apply"),
        vec![format!("{REPO_UUID}:{ENV_UUID}:*")]
    );
    assert_eq!(
        aws.attached_policy_arns("infra-plan"),
        ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
    );
    w.test("init")
        .args([
            "--yes",
            "--plan-apply",
            "--environment-uuid",
            ENV_UUID,
            "--role-name",
            "infra",
        ])
        .expect_no_writes()
        .run();
}

#[test]
fn role_inputs_that_cannot_work_are_refused_before_any_aws_call() {
    let w = World::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = three_roles(&dir);
    // A single-role flag beside [[role]] tables.
    with_config(&w, "plan", &config)
        .args(["--repository-uuid", REPO_UUID])
        .expect_exit(64)
        .expect_stderr_contains("--repository-uuid is given beside [[role]] tables")
        .expect_no_writes()
        .run();
    // --plan-apply without the environment the apply role is limited to.
    w.test("plan")
        .arg("--plan-apply")
        .expect_exit(64)
        .expect_stderr_contains("--plan-apply needs --environment-uuid")
        .expect_no_writes()
        .run();
    // A role without a repository, named in the message.
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[role]]\nname = \"loose\"\naccess = \"plan\"\n\n[[role]]\nname = \"loose2\"\naccess = \"admin\"\n",
    )
    .expect("write");
    with_config(&w, "plan", &bad)
        .expect_exit(64)
        .expect_stderr_contains("role loose2: access = \"admin\": expected")
        .expect_no_writes()
        .run();
    std::fs::write(&bad, "[[role]]\nname = \"loose\"\naccess = \"plan\"\n").expect("write");
    with_config(&w, "plan", &bad)
        .expect_exit(64)
        .expect_stderr_contains("role loose has no repository-uuid")
        .expect_no_writes()
        .run();
}

#[test]
fn a_role_of_another_set_is_never_taken_over() {
    let w = World::start();
    w.test("init").args(["--yes", "--set", "team-a"]).run();
    w.test("init")
        .args(["--yes", "--set", "team-b"])
        .expect_exit(1)
        .expect_stderr_contains("belongs to another set (tag bootstrap-set=team-a)")
        .expect_no_writes()
        .run();
}

#[test]
fn a_policy_several_roles_hold_is_read_once_per_run() {
    let w = World::start();
    let aws = Inspect::new(&w.moto.endpoint());
    let arn = aws.create_policy(
        "deploy",
        &serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
        ]}),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("bootstrap.toml");
    let role = |name: &str, repo: &str| {
        format!("[[role]]\nname = \"{name}\"\nrepository-uuid = [\"{repo}\"]\npolicy-arn = [\"{arn}\"]\n\n")
    };
    let text = role("one", REPO_UUID) + &role("two", OTHER_REPO);
    std::fs::write(&config, text).expect("write config");
    with_config(&w, "init", &config).arg("--yes").run();

    // The re-run judges the policy for both roles and reads it as attached to both: one
    // GetPolicy and one GetPolicyVersion in all.
    w.moto.start_recording();
    with_config(&w, "init", &config)
        .arg("--yes")
        .expect_no_writes()
        .run();
    let calls = w.moto.calls();
    w.moto.stop_recording();
    for op in ["GetPolicy", "GetPolicyVersion"] {
        let n = calls.iter().filter(|(_, o)| o == op).count();
        assert_eq!(n, 1, "{op}: {calls:?}");
    }
}
