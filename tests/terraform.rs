//! Terraform itself as a client of what `init` builds: an S3 backend on the created bucket,
//! with the lock table and S3-native locking, against moto. `terraform init` + `apply` must
//! land the state object in the bucket.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use common::fixture::{World, BUCKET, TABLE};

/// Whether terraform can be run. Missing: a failure under CI=1, a printed skip otherwise.
fn terraform_available() -> bool {
    let found = Command::new("terraform")
        .arg("version")
        .env("CHECKPOINT_DISABLE", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false");
        assert!(
            !ci,
            "terraform is not on PATH but CI is set: the Terraform end-to-end test must run in \
             CI; install Terraform 1.11 or later"
        );
        eprintln!("NOTE: terraform not on PATH; skipping the Terraform end-to-end test (fails under CI=1)");
    }
    found
}

/// `terraform ARGS` in `dir` with a clean environment (no network lookups, no user config).
fn terraform(dir: &Path, args: &[&str]) {
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

    endpoints = {{
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
fn terraform_keeps_its_state_in_the_created_bucket_and_locks_with_the_table() {
    if !terraform_available() {
        return;
    }
    let w = World::start();
    w.run("init", &["--yes", "-q"]).assert_success();

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
    w.run("init", &["--yes", "-q"]).assert_success();
    assert_eq!(
        w.moto.mutating_calls(),
        [("s3".to_string(), "PutBucketPolicy".to_string())]
    );
}
