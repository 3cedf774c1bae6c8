//! The default state bucket: a new setup's bucket is created in the account regional
//! namespace (`terraform-state-<account>-<region>-an`) with its tags in the create call; a
//! bucket under the default name of earlier versions is kept with zero writes; where the
//! region has no such namespace the global name is used and the plan says why. Through the
//! AWS behaviour layer, which refuses what S3 refuses (moto itself ignores the namespace).

use crate::common::fixture::{World, ENV_UUID, REPO_UUID, WORKSPACE_UUID};
use crate::common::inspect::Inspect;
use crate::common::Test;

/// `bootstrap <cmd>` for `w` without `--state-bucket`: the default name.
pub fn default_bucket<'a>(w: &'a World, cmd: &str) -> Test<'a> {
    Test::new()
        .arg(cmd)
        .args(w.flags())
        .args(["--workspace-uuid", WORKSPACE_UUID])
        .args(["--repository-uuid", REPO_UUID])
        .moto(&w.moto)
}

fn create_bucket_requests(w: &World) -> Vec<crate::common::RecordedRequest> {
    w.moto
        .recorded_requests()
        .into_iter()
        .filter(|r| {
            r.method == "PUT"
                && r.query.is_none()
                && r.path.trim_matches('/').split('/').count() == 1
        })
        .collect()
}

#[test]
fn a_fresh_default_init_creates_the_bucket_in_the_account_regional_namespace_with_its_tags() {
    let w = World::start_in("eu-west-1");
    let account = w.moto.account_id();
    let name = format!("terraform-state-{account}-eu-west-1-an");
    default_bucket(&w, "plan")
        .args(["--no-lock-table", "--tag", "team=platform"])
        .expect_stdout_contains(format!("state bucket  {name}  create"))
        .expect_stdout_contains(
            "namespace: account-regional (only this account can create this name)",
        )
        .expect_stdout_contains("(in the create call)")
        .expect_no_writes()
        .run();
    w.moto.start_recording();
    default_bucket(&w, "init")
        .args(["--yes", "--no-lock-table", "--tag", "team=platform"])
        .expect_stdout_contains(format!("state bucket  {name}"))
        .run();
    let aws = Inspect::new(&w.moto.plain_endpoint());
    assert_eq!(aws.bucket_names(), vec![name.clone()]);
    // The one CreateBucket carried the namespace header and the tags; no tagging call
    // followed.
    let creates = create_bucket_requests(&w);
    assert_eq!(creates.len(), 1, "{creates:?}");
    let create = &creates[0];
    assert_eq!(create.path.trim_matches('/'), name);
    assert_eq!(
        create.header("x-amz-bucket-namespace"),
        Some("account-regional")
    );
    let body = create.body_str();
    for part in [
        "<LocationConstraint>eu-west-1</LocationConstraint>",
        "<Key>team</Key><Value>platform</Value>",
        "<Key>managed-by</Key><Value>bootstrap</Value>",
    ] {
        assert!(body.contains(part), "{part} not in {body}");
    }
    let ops = w.moto.mutating_ops();
    assert!(!ops.iter().any(|o| o == "PutBucketTagging"), "{ops:?}");
    let tags = aws.bucket_tags(&name);
    assert_eq!(tags.get("team").map(String::as_str), Some("platform"));
    assert!(w.moto.refusals().iter().all(|r| !r.0.contains("Namespace")));
    default_bucket(&w, "init")
        .args(["--yes", "--no-lock-table", "--tag", "team=platform"])
        .expect_no_writes()
        .run();
}

/// `init` as an earlier version did: the bucket under the global default name, returned.
fn set_up_by_an_earlier_version(w: &World) -> String {
    let account = w.moto.account_id();
    let earlier = format!("terraform-state-{account}-us-east-1");
    default_bucket(w, "init")
        .args(["--yes", "--state-bucket", &earlier])
        .run();
    earlier
}

#[test]
fn an_account_with_the_earlier_default_bucket_keeps_it_with_zero_writes() {
    let w = World::start();
    let earlier = set_up_by_an_earlier_version(&w);
    default_bucket(&w, "init")
        .args(["--yes"])
        .expect_stdout_contains(format!("state bucket  {earlier}"))
        .expect_no_writes()
        .run();
    default_bucket(&w, "status")
        .args(["--detailed-exitcode"])
        .expect_stdout_contains(format!("in sync   {earlier}"))
        .run();
    let aws = Inspect::new(&w.moto.plain_endpoint());
    assert_eq!(aws.bucket_names(), vec![earlier.clone()]);
    // The generated backend names the bucket in use too.
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    default_bucket(&w, "pipeline")
        .args(["--out-dir", dir.path().to_str().unwrap()])
        .run();
    let backend = std::fs::read_to_string(dir.path().join("backend.tf")).unwrap();
    assert!(backend.contains(&format!("\"{earlier}\"")), "{backend}");
}

#[test]
fn a_region_without_the_namespace_uses_the_global_name_and_says_why() {
    let w = World::start_in("me-south-1");
    let account = w.moto.account_id();
    let name = format!("terraform-state-{account}-me-south-1");
    default_bucket(&w, "plan")
        .args(["--no-lock-table"])
        .expect_stdout_contains(format!("state bucket  {name}  create"))
        .expect_stdout_contains(
            "namespace: global (S3 has no account regional namespace in me-south-1)",
        )
        .expect_no_writes()
        .run();
    w.moto.start_recording();
    default_bucket(&w, "init")
        .args(["--yes", "--no-lock-table"])
        .run();
    assert_eq!(
        Inspect::new(&w.moto.plain_endpoint()).bucket_names(),
        vec![name]
    );
    let creates = create_bucket_requests(&w);
    assert_eq!(creates.len(), 1, "{creates:?}");
    assert_eq!(creates[0].header("x-amz-bucket-namespace"), None);
}

#[test]
fn a_state_bucket_in_another_accounts_regional_namespace_is_refused_before_any_write() {
    let w = World::start();
    default_bucket(&w, "init")
        .args(["--yes", "--state-bucket", "tf-210987654321-us-east-1-an"])
        .expect_exit(64)
        .expect_stderr_contains("only that account can create it")
        .expect_no_writes()
        .run();
    // One of this account's own: created in its namespace.
    let ours = format!("tf-{}-us-east-1-an", w.moto.account_id());
    default_bucket(&w, "init")
        .args(["--yes", "--no-lock-table", "--state-bucket", &ours])
        .run();
    assert_eq!(
        Inspect::new(&w.moto.plain_endpoint()).bucket_names(),
        vec![ours]
    );
}

#[test]
fn default_bucket_runs_need_nothing_outside_the_operator_policy() {
    use crate::common::authz::{assert_all_allowed, Env};
    let w = World::start_in("eu-west-1");
    let account = w.moto.account_id();
    let out = default_bucket(&w, "operator-policy")
        .args(["--account-id", account, "--no-lock-table"])
        .run();
    let policy: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let judged = |cmd: &str, extra: &[&str]| {
        w.moto.start_recording();
        default_bucket(&w, cmd).args(extra.iter().copied()).run();
        w.moto.stop_recording();
        assert_all_allowed(
            &policy,
            &w.moto.recorded_requests(),
            &Env::moto(&w.region),
            &format!("bootstrap {cmd} {}", extra.join(" ")),
        );
    };
    // The look-up of the earlier default name, and the create call with its tags
    // (s3:TagResource).
    judged(
        "init",
        &["--yes", "--no-lock-table", "--tag", "team=platform"],
    );
    judged(
        "init",
        &["--yes", "--no-lock-table", "--tag", "team=platform"],
    );
    judged("status", &["--no-lock-table", "--tag", "team=platform"]);
    // An account of an earlier version: its bucket is found and read under the same policy.
    let earlier = format!("terraform-state-{account}-eu-west-1");
    default_bucket(&w, "init")
        .args(["--yes", "--no-lock-table", "--state-bucket", &earlier])
        .run();
    judged("status", &["--no-lock-table"]);
}

/// `bootstrap pipeline --deployment NAME=FILE` for one environment in `w`'s account, whose
/// file has `roles` and no state-bucket (the default name).
fn stage_pipeline<'a>(w: &'a World, dir: &std::path::Path, name: &str, roles: &str) -> Test<'a> {
    let file = dir.join(format!("{name}.toml"));
    std::fs::write(
        &file,
        format!(
            "endpoint-url = \"{}\"\nregion = \"{}\"\nissuer-url = \"{}\"\nworkspace-uuid = \"{WORKSPACE_UUID}\"\n\n{roles}",
            w.moto.endpoint(),
            w.region,
            w.issuer.url()
        ),
    )
    .unwrap();
    Test::new()
        .arg("pipeline")
        .args(["--ca-bundle", &w.pki.ca_bundle_arg()])
        .args(["--out-dir", dir.join("out").to_str().unwrap()])
        .arg("--deployment")
        .arg(format!("{name}={}", file.display()))
        .moto(&w.moto)
}

fn role(name: &str, access: &str, repo: &str, env: bool) -> String {
    let env = if env {
        format!("environment-uuid = [\"{ENV_UUID}\"]\n")
    } else {
        String::new()
    };
    format!("[[role]]\nname = \"{name}\"\naccess = \"{access}\"\nrepository-uuid = [\"{repo}\"]\n{env}\n")
}

#[test]
fn a_stage_of_a_pipeline_across_accounts_keeps_the_earlier_default_bucket() {
    let w = World::start();
    let earlier = set_up_by_an_earlier_version(&w);
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let roles = role("deploy", "apply", REPO_UUID, true);
    stage_pipeline(&w, dir.path(), "Staging", &roles)
        .expect_stdout_contains(format!("TF_STATE_BUCKET = {earlier}\n"))
        .expect_stdout_lacks(format!("{earlier}-an"))
        .expect_no_writes()
        .run();
}

#[test]
fn a_stage_whose_role_cannot_apply_terraform_is_refused_naming_it() {
    let w = World::start();
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    for access in ["plan", "cdk"] {
        let roles = role("only", access, REPO_UUID, true);
        stage_pipeline(&w, dir.path(), "Production", &roles)
            .expect_exit(64)
            .expect_stderr_contains(format!(
                "--deployment Production: its role only has access = \"{access}\""
            ))
            .expect_stderr_contains("access = \"apply\"")
            .expect_no_writes()
            .run();
        assert!(!dir.path().join("out").exists());
    }
}

#[test]
fn a_stage_gets_the_warnings_of_a_one_account_pipeline_naming_its_environment() {
    let w = World::start();
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let roles = role("deploy", "apply", REPO_UUID, false);
    stage_pipeline(&w, dir.path(), "Staging", &roles)
        .expect_stderr_contains("Staging: every branch can assume")
        .run();
    let other = "{0f6b3c1d-9999-4e5f-8a9b-abcdefabcdef}";
    let shared = "state-key-prefix = \"infra\"\n";
    let roles = role("plan", "plan", REPO_UUID, false).replace("\n\n", &format!("\n{shared}\n"))
        + &role("apply", "apply", other, true).replace("\n\n", &format!("\n{shared}\n"));
    stage_pipeline(&w, dir.path(), "Production", &roles)
        .arg("--force")
        .expect_stderr_contains("Production: the plan role plan trusts")
        .run();
}
