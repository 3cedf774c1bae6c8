//! Terraform itself as a client of what `init` builds: an S3 backend on the created bucket,
//! with the lock table and S3-native locking, against moto. `terraform init` + `apply` must
//! land the state object in the bucket. A pipeline across accounts is in
//! `terraform_accounts.rs`.

use crate::common;

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::common::authz::{all_needs, assert_all_allowed, unused_grants, Env};
use crate::common::fixture::{World, BUCKET, ROLE, TABLE};
use crate::common::moto::ACCOUNT_ID;

/// Terraform must be on PATH: these tests are how the state policy is proven, so a machine
/// without it fails them rather than skipping them.
pub(crate) fn require_terraform() {
    let found = Command::new("terraform")
        .arg("version")
        .env("CHECKPOINT_DISABLE", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "terraform is not on PATH: the Terraform end-to-end tests need Terraform 1.11 or later \
         (https://developer.hashicorp.com/terraform/install)"
    );
}

/// `terraform ARGS` in `dir` with a clean environment (no network lookups, no user config).
pub(crate) fn terraform(dir: &Path, args: &[&str]) {
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let mut cmd = Command::new("terraform");
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .env("HOME", &home)
        .env("CHECKPOINT_DISABLE", "1")
        .env("TF_IN_AUTOMATION", "1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null());
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    let out = cmd.output().expect("run terraform");
    assert!(
        out.status.success(),
        "terraform {args:?} failed ({})\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

const STATE_KEY: &str = "demo/terraform.tfstate";

fn main_tf(endpoint: &str) -> String {
    let local = local_backend(endpoint).trim_end().replace('\n', "\n    ");
    format!(
        r#"terraform {{
  required_version = ">= 1.11"
  backend "s3" {{
    bucket         = "{BUCKET}"
    key            = "{STATE_KEY}"
    region         = "us-east-1"
    encrypt        = true
    use_lockfile   = true
    dynamodb_table = "{TABLE}"

    {local}
  }}
}}

resource "terraform_data" "hello" {{
  input = "state kept by bootstrap"
}}

output "hello" {{
  value = terraform_data.hello.output
}}
"#
    )
}

#[test]
#[allow(clippy::too_many_lines, reason = "one scenario, in order")]
fn terraform_keeps_its_state_in_the_created_bucket_and_locks_with_the_table() {
    require_terraform();
    let w = World::start();
    w.test("init").args(["--yes", "-q"]).run();

    let dir = tempfile::Builder::new()
        .prefix("tf-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    std::fs::write(dir.path().join("main.tf"), main_tf(&w.moto.endpoint())).unwrap();

    // moto treats a Deny statement whose Condition does not match as a denial (its
    // IAMPolicyStatement returns DENIED when _check_conditions fails), so the TLS-only
    // statement would refuse every object request, TLS or not. AWS applies it only to
    // requests with aws:SecureTransport = false. Take it out for Terraform's run and let
    // `bootstrap init` put it back afterwards.
    let aws = w.clients();
    let policy = aws
        .block_on(aws.s3.get_bucket_policy().bucket(BUCKET).send())
        .expect("init wrote a bucket policy");
    assert!(policy.policy().unwrap().contains("aws:SecureTransport"));
    aws.block_on(aws.s3.delete_bucket_policy().bucket(BUCKET).send())
        .unwrap();

    w.moto.start_recording();
    terraform(dir.path(), &["init", "-input=false", "-no-color"]);
    terraform(
        dir.path(),
        &["apply", "-auto-approve", "-input=false", "-no-color"],
    );

    // The state object is in the bucket and holds the resource.
    let object = aws
        .block_on(aws.s3.get_object().bucket(BUCKET).key(STATE_KEY).send())
        .expect("the state object is in the bucket");
    let body = aws.block_on(object.body.collect()).unwrap().into_bytes();
    let state: Value = serde_json::from_slice(&body).expect("the state is JSON");
    assert_eq!(
        state["outputs"]["hello"]["value"],
        "state kept by bootstrap"
    );
    assert!(
        state["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["type"] == "terraform_data" && r["name"] == "hello"),
        "{state:#}"
    );
    // No local state was written instead.
    assert!(!dir.path().join("terraform.tfstate").exists());

    // The lock table was used: Terraform keeps the state's digest there, and it locked and
    // unlocked with PutItem/DeleteItem.
    let digest_id = format!("{BUCKET}/{STATE_KEY}-md5");
    let item = aws
        .block_on(
            aws.dynamodb
                .get_item()
                .table_name(TABLE)
                .key(
                    "LockID",
                    aws_sdk_dynamodb::types::AttributeValue::S(digest_id.clone()),
                )
                .send(),
        )
        .unwrap();
    assert!(
        item.item().is_some_and(|i| i.contains_key("Digest")),
        "no {digest_id} digest item in the lock table"
    );
    let calls = w.moto.calls();
    for op in ["PutItem", "DeleteItem"] {
        assert!(
            calls.iter().any(|(s, o)| s == "dynamodb" && o == op),
            "terraform made no dynamodb {op}: {calls:?}"
        );
    }
    // S3-native locking: the lock object was written and removed (versioning keeps a
    // trace of both).
    let versions = aws
        .block_on(
            aws.s3
                .list_object_versions()
                .bucket(BUCKET)
                .prefix(format!("{STATE_KEY}.tflock"))
                .send(),
        )
        .unwrap();
    assert!(
        !versions.versions().is_empty(),
        "no lock-file versions: {versions:?}"
    );
    assert!(
        !versions.delete_markers().is_empty(),
        "the lock file was never removed: {versions:?}"
    );

    // bootstrap puts the TLS-only statement back, and changes nothing else.
    w.moto.start_recording();
    w.test("init").args(["--yes", "-q"]).run();
    assert_eq!(
        w.moto.mutating_calls(),
        [("s3".to_string(), "PutBucketPolicy".to_string())]
    );
}

// --- Terraform's own requests, judged against the role's policy ---------------------------

/// Terraform's requests through one generated backend, judged against the policy of the
/// role `init` created: every request must be allowed, and every grant must have been
/// needed by some request or be justified in docs/init.md.
#[allow(clippy::too_many_lines, reason = "one scenario, in order")]
fn terraform_through_the_generated_backend(extra: &[&str], kms: bool) {
    require_terraform();
    let w = World::start();
    let key = kms.then(|| common::aws::create_kms_key(&w.moto, &w.region));
    let mut settings: Vec<&str> = extra.to_vec();
    if let Some(key) = &key {
        settings.extend(["--kms-key", key.as_str()]);
    }
    let mut init = vec!["--yes", "-q"];
    init.extend(&settings);
    w.test("init").args(&init).run();

    let dir = tempfile::Builder::new()
        .prefix("tf-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let out_dir = dir.path().to_string_lossy().into_owned();
    let mut pipeline = vec!["--out-dir", out_dir.as_str(), "--account-id", ACCOUNT_ID];
    pipeline.extend(&settings);
    w.test("pipeline").args(&pipeline).run();
    std::fs::write(dir.path().join("main.tf"), MAIN_TF).unwrap();
    std::fs::write(
        dir.path().join("local.s3.tfbackend"),
        local_backend(&w.moto.endpoint()),
    )
    .unwrap();

    // The TLS-only bucket statement: see the test above (moto denies on it regardless).
    let aws = w.clients();
    aws.block_on(aws.s3.delete_bucket_policy().bucket(BUCKET).send())
        .unwrap();

    w.moto.start_recording();
    let d = dir.path();
    terraform(
        d,
        &[
            "init",
            "-input=false",
            "-no-color",
            "-backend-config=local.s3.tfbackend",
        ],
    );
    terraform(d, &["apply", "-auto-approve", "-input=false", "-no-color"]);
    terraform(d, &["workspace", "new", "-no-color", "dev"]);
    terraform(d, &["plan", "-input=false", "-no-color"]);
    terraform(d, &["apply", "-auto-approve", "-input=false", "-no-color"]);
    terraform(d, &["state", "list"]);
    terraform(d, &["workspace", "new", "-no-color", "scratch"]);
    terraform(d, &["workspace", "select", "-no-color", "dev"]);
    terraform(d, &["workspace", "delete", "-no-color", "scratch"]);
    terraform(d, &["workspace", "select", "-no-color", "default"]);
    terraform(d, &["state", "list"]);
    w.moto.stop_recording();
    let requests = w.moto.recorded_requests();

    let policy = aws.inline_policy(ROLE, "terraform-state-access");
    let attached = aws
        .block_on(aws.iam.list_attached_role_policies().role_name(ROLE).send())
        .unwrap();
    assert!(attached.attached_policies().is_empty());

    let mut env = Env::moto(&w.region);
    if let Some(key) = &key {
        env = env.with_bucket_kms_key(key);
    }
    let what = format!("terraform through the backend of {settings:?}");
    assert_all_allowed(&policy, &requests, &env, &what);
    // Workspaces stay under the prefix, and the requests include all the kinds the policy
    // is about: the judge saw them.
    let needs = all_needs(&requests, &env);
    let prefix = settings
        .iter()
        .position(|s| *s == "--state-key-prefix")
        .map(|i| format!("{}/", settings[i + 1]))
        .unwrap_or_default();
    let dev_state = format!("arn:aws:s3:::{BUCKET}/{prefix}env:/dev/{prefix}terraform.tfstate");
    assert!(
        needs
            .iter()
            .any(|n| n.action == "s3:PutObject" && n.resource == dev_state),
        "no write of {dev_state}: {needs:#?}"
    );
    let scratch_state =
        format!("arn:aws:s3:::{BUCKET}/{prefix}env:/scratch/{prefix}terraform.tfstate");
    assert!(
        needs
            .iter()
            .any(|n| n.action == "s3:DeleteObject" && n.resource == scratch_state),
        "`workspace delete` did not delete {scratch_state}: {needs:#?}"
    );

    // Deleting is narrower than writing: the default workspace's state is never deleted by
    // Terraform, and the role may not delete it either.
    let default_state = format!("arn:aws:s3:::{BUCKET}/{prefix}terraform.tfstate");
    let delete = bootstrap::iam::Access::new("s3:DeleteObject", &default_state);
    assert!(
        !bootstrap::iam::evaluate_access(&policy, &delete).allowed,
        "the role may delete {default_state}: {policy:#}"
    );
    assert!(!needs
        .iter()
        .any(|n| n.action == "s3:DeleteObject" && n.resource == default_state));

    // The other direction: nothing granted that no request needed, unless docs/init.md
    // says why it is there.
    let justified = justified_unrecorded_grants();
    let unexplained: Vec<String> = unused_grants(&policy, &needs)
        .into_iter()
        .filter(|(_, action, _)| !justified.contains(action))
        .map(|(sid, action, resource)| format!("{sid}: {action} on {resource}"))
        .collect();
    assert!(
        unexplained.is_empty(),
        "{what}: granted but never needed, and not justified in docs/init.md:\n  {}\npolicy: {policy:#}",
        unexplained.join("\n  ")
    );
}

/// Actions docs/init.md lists in the role's policy table as granted although Terraform's
/// recorded runs do not use them (rows marked "not in the recorded runs").
fn justified_unrecorded_grants() -> Vec<String> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/init.md"))
        .expect("docs/init.md");
    doc.lines()
        .filter(|l| l.starts_with('|') && l.contains("not in the recorded runs"))
        .flat_map(|l| {
            l.split('`')
                .skip(1)
                .step_by(2)
                .filter(|a| a.contains(':'))
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

pub(crate) const MAIN_TF: &str = r#"resource "terraform_data" "hello" {
  input = "state kept by bootstrap in ${terraform.workspace}"
}

output "hello" {
  value = terraform_data.hello.output
}
"#;

/// What only a local AWS needs, as a partial backend configuration beside the generated
/// backend.tf.
pub(crate) fn local_backend(endpoint: &str) -> String {
    format!(
        r#"endpoints = {{
  s3       = "{endpoint}"
  dynamodb = "{endpoint}"
}}
use_path_style              = true
access_key                  = "testing"
secret_key                  = "testing"
skip_credentials_validation = true
skip_requesting_account_id  = true
skip_metadata_api_check     = true
skip_region_validation      = true
"#
    )
}

#[test]
fn terraform_with_the_lock_table_needs_only_what_the_role_is_granted() {
    terraform_through_the_generated_backend(&[], false);
}

#[test]
fn terraform_with_a_key_prefix_table_and_kms_key_needs_only_what_the_role_is_granted() {
    terraform_through_the_generated_backend(&["--state-key-prefix", "team/app"], true);
}

#[test]
fn terraform_with_s3_locking_only_needs_only_what_the_role_is_granted() {
    terraform_through_the_generated_backend(
        &["--no-lock-table", "--state-key-prefix", "infra"],
        false,
    );
}
