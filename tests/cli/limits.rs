//! Every limit before the first write: tag counts per resource (the tool's own tags
//! counted), role names unique without regard to case (as IAM has them, modelled by the
//! behaviour layer), the trust policy's size said before any AWS call, and files that are not
//! regular files (a FIFO) refused within a time bound instead of blocking.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::aws::Clients;
use crate::common::fixture::{World, BUCKET, REPO_UUID, WORKSPACE_UUID};
use crate::common::inspect::Inspect;
use crate::common::Test;
use crate::roles::with_config;

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write");
    path
}

/// A bootstrap.toml with `shared` [tags] and one [[role]] `deploy` with 10 tags of its own.
fn tagged(dir: &tempfile::TempDir, name: &str, shared: usize) -> PathBuf {
    let shared: String = (0..shared)
        .map(|n| format!("shared{n} = \"v\"\n"))
        .collect();
    let own: Vec<String> = (0..10).map(|n| format!("own{n} = \"v\"")).collect();
    write(
        dir,
        name,
        &format!(
            "[tags]\n{shared}\n[[role]]\nname = \"deploy\"\nrepository-uuid = [\"{REPO_UUID}\"]\ntags = {{ {} }}\n",
            own.join(", ")
        ),
    )
}

#[test]
fn too_many_tags_for_a_role_are_refused_before_any_write() {
    let w = World::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = tagged(&dir, "bootstrap.toml", 40);
    for cmd in ["plan", "init"] {
        with_config(&w, cmd, &config)
            .args(if cmd == "init" {
                &["--yes"][..]
            } else {
                &[][..]
            })
            .expect_exit(64)
            .expect_stderr_contains(
                "role deploy would carry 54 tags (40 from [tags], 10 of its own, 4 the tool adds: managed-by, bootstrap-version, bootstrap-set, bootstrap-state-prefix)",
            )
            .expect_stderr_contains("at most 50")
            .expect_no_writes()
            .run();
    }
    // 36 shared, 10 of its own and the tool's four (the role's state prefix is one): exactly
    // 50, accepted.
    let config = tagged(&dir, "fits.toml", 36);
    with_config(&w, "init", &config).arg("--yes").run();
    let aws = Inspect::new(&w.moto.endpoint());
    assert_eq!(aws.role_tags("deploy").len(), 50);
}

/// The template tags each role with its stack too (bootstrap-stack): 36 shared and 10 own
/// tags fit a direct-mode role (50 with the tool's four), not the template's role (51), which
/// `plan --mode cloudformation` and `render` say before any AWS call.
#[test]
fn the_stack_tag_is_counted_for_a_template_before_any_write() {
    let w = World::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = tagged(&dir, "bootstrap.toml", 36);
    with_config(&w, "plan", &config).run();
    let stack = "role deploy would carry 51 tags (36 from [tags], 10 of its own, 5 the tool adds: managed-by, bootstrap-version, bootstrap-set, bootstrap-state-prefix, bootstrap-stack)";
    for cmd in [&["plan", "--mode", "cloudformation"][..], &["render"][..]] {
        with_config(&w, cmd[0], &config)
            .args(&cmd[1..])
            .expect_exit(64)
            .expect_stderr_contains(stack)
            .expect_no_writes()
            .run();
    }
}

#[test]
fn role_names_differing_only_in_case_are_refused_before_any_write() {
    let w = World::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write(
        &dir,
        "bootstrap.toml",
        &format!(
            "[[role]]\nname = \"Deploy\"\nrepository-uuid = [\"{REPO_UUID}\"]\n\n[[role]]\nname = \"deploy\"\nrepository-uuid = [\"{REPO_UUID}\"]\n"
        ),
    );
    with_config(&w, "plan", &config)
        .expect_exit(64)
        .expect_stderr_contains("[[role]] tables named Deploy and deploy differ only in case")
        .expect_no_writes()
        .run();

    // A role that exists with another case: IAM refuses to create the second (the layer
    // plays it), and the tool says so before its first write.
    let aws = Inspect::new(&w.moto.plain_endpoint());
    aws.create_role(
        "Deploy",
        &serde_json::json!({"Version": "2012-10-17", "Statement": []}),
    );
    let layer = Clients::through_layer(&w.moto, &w.region);
    let refused = layer
        .block_on(
            layer
                .iam
                .create_role()
                .role_name("DEPLOY")
                .assume_role_policy_document("{}")
                .send(),
        )
        .expect_err("IAM role names are unique without regard to case");
    assert_eq!(
        aws_sdk_iam::error::ProvideErrorMetadata::code(&refused),
        Some("EntityAlreadyExists")
    );
    assert!(w
        .moto
        .refusals()
        .iter()
        .any(|(kind, detail)| kind == "iam:EntityAlreadyExists" && detail.contains("DEPLOY")));
    w.test("init")
        .args(["--yes", "--role-name", "deploy"])
        .expect_exit(64)
        .expect_stderr_contains(
            "role Deploy exists; IAM role names are unique without regard to case",
        )
        .expect_no_writes()
        .run();
}

/// docs/many-roles.md: the trust policy is measured before any AWS call. 45 repositories are
/// over the default quota (with this short issuer URL); the issuer cannot even be reached,
/// and the warning still comes, before anything is read.
#[test]
fn a_trust_policy_over_the_default_quota_is_said_before_any_aws_call() {
    let w = World::start();
    let mut t = Test::new()
        .arg("plan")
        .args([
            "--endpoint-url",
            &w.moto.endpoint(),
            "--region",
            "us-east-1",
        ])
        .args(["--issuer-url", "https://127.0.0.1:9/unreachable/oidc"])
        .args(["--workspace-uuid", WORKSPACE_UUID, "--state-bucket", BUCKET]);
    for n in 0..45 {
        t = t.args([
            "--repository-uuid".to_string(),
            format!("{{{n:08x}-2222-3333-4444-555555555555}}"),
        ]);
    }
    let out = t
        .expect_exit(1)
        .expect_stderr_contains("over IAM's default quota of 2048")
        .moto(&w.moto)
        .expect_no_writes()
        .run();
    let warned = out.stderr.find("over IAM's default quota").expect("warned");
    let reading = out.stderr.find("reading ").unwrap_or(usize::MAX);
    assert!(warned < reading, "{out:?}");
    assert_eq!(out.stderr.matches("over IAM's default quota").count(), 1);
}

fn fifo(dir: &Path) -> PathBuf {
    let path = dir.join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    path
}

#[test]
fn a_fifo_as_config_or_ca_bundle_is_refused_within_the_time_bound() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = fifo(dir.path());
    let started = Instant::now();
    Test::new()
        .args(["plan", "--config"])
        .arg(&fifo)
        .expect_exit(64)
        .expect_stderr_contains("cannot read config file")
        .expect_stderr_contains("not a regular file")
        .run();
    Test::new()
        .args(["plan", "--region", "us-east-1"])
        .args(["--issuer-url", "https://localhost:9/oidc"])
        .args([
            "--workspace-uuid",
            WORKSPACE_UUID,
            "--repository-uuid",
            REPO_UUID,
        ])
        .arg("--ca-bundle")
        .arg(&fifo)
        .expect_exit(64)
        .expect_stderr_contains("cannot read --ca-bundle")
        .expect_stderr_contains("not a regular file")
        .run();
    assert!(started.elapsed() < Duration::from_secs(30));
}
