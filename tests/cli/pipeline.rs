//! `bootstrap pipeline` driven as a subprocess: every generated bitbucket-pipelines.yml
//! validates against Atlassian's published schema (check-jsonschema) and has the documented
//! Bitbucket structure. A plan and an apply role are in `pipeline_plan_apply.rs`, the files
//! written and kept in `pipeline_files.rs`, and the generated backend.tf, accepted by the real
//! Terraform, in `pipeline_backend.rs`.

use std::path::Path;

use serde_norway::Value as Yaml;

use crate::common::fixture::{ENV_UUID, REPO_UUID, WORKSPACE_UUID};
use crate::common::schema::{assert_valid_pipeline, check_pipeline};
use crate::common::CliOutput;
use crate::common::Test;

pub const ACCOUNT: &str = "210987654321";

pub fn out_dir() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir")
}

/// `bootstrap pipeline --out-dir DIR --account-id ACCOUNT` with a Bitbucket workspace issuer
/// (nothing is fetched: pipeline needs no issuer I/O) and `extra`. A pipeline it writes is
/// checked against the schema.
pub fn pipeline(dir: &Path, extra: &[&str]) -> Test<'static> {
    pipeline_in_workspace(dir)
        .args(["--repository-uuid", REPO_UUID])
        .args(extra)
}

/// `bootstrap pipeline --out-dir DIR --account-id ACCOUNT` with a Bitbucket workspace issuer
/// and no trust settings: the caller adds them (flags or `--config`). A pipeline it writes is
/// checked against the schema.
pub fn pipeline_in_workspace(dir: &Path) -> Test<'static> {
    Test::new()
        .args(["pipeline", "--out-dir"])
        .arg(dir)
        .args(["--account-id", ACCOUNT, "--region", "eu-west-1"])
        .args(["--workspace", "acme", "--workspace-uuid", WORKSPACE_UUID])
        .check(valid_pipeline_in(dir))
}

/// A check of a run's output: the pipeline a successful run wrote in `dir` is valid against
/// the schema (not one it found there and left as it was).
pub fn valid_pipeline_in(dir: &Path) -> impl Fn(&CliOutput) {
    let dir = dir.to_path_buf();
    move |out| valid_pipeline(&dir, out)
}

fn valid_pipeline(dir: &Path, out: &CliOutput) {
    let kept = out
        .stdout
        .contains("bitbucket-pipelines.yml exists, so it was left as it is")
        || serde_json::from_str::<serde_json::Value>(&out.stdout).is_ok_and(|doc| {
            doc["kept"]
                .as_array()
                .is_some_and(|k| k.iter().any(|f| f["kind"] == "bitbucket-pipelines"))
        });
    if out.success() && !kept {
        assert_valid_pipeline(&dir.join("bitbucket-pipelines.yml"));
    }
}

pub fn read_yaml(dir: &Path) -> Yaml {
    let text = std::fs::read_to_string(dir.join("bitbucket-pipelines.yml")).expect("yml written");
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("YAML does not parse: {e}\n{text}"))
}

/// The step definitions by name (`definitions.steps[*].step`).
pub fn step<'a>(doc: &'a Yaml, name: &str) -> &'a Yaml {
    doc["definitions"]["steps"]
        .as_sequence()
        .expect("definitions.steps is a list")
        .iter()
        .map(|s| &s["step"])
        .find(|s| s["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no step named {name}"))
}

pub fn script(step: &Yaml) -> Vec<String> {
    step["script"]
        .as_sequence()
        .expect("script is a list")
        .iter()
        .map(|l| l.as_str().expect("script lines are strings").to_string())
        .collect()
}

/// The step names of a pipeline (a list of `- step:` and `- stage: steps:` items).
pub fn step_names(items: &Yaml) -> Vec<String> {
    let mut names = Vec::new();
    for item in items.as_sequence().expect("a pipeline is a list") {
        if let Some(s) = item.get("step") {
            names.push(s["name"].as_str().unwrap().to_string());
        } else if let Some(stage) = item.get("stage") {
            names.extend(step_names(&stage["steps"]));
        }
    }
    names
}

/// The pipeline written for `extra`, as text.
fn pipeline_text(extra: &[&str]) -> String {
    let dir = out_dir();
    pipeline(dir.path(), extra).run();
    std::fs::read_to_string(dir.path().join("bitbucket-pipelines.yml")).unwrap()
}

/// `text` written to a file of its own, and what the schema check says of it.
fn check_text(text: &str) -> Result<(), String> {
    let dir = out_dir();
    let file = dir.path().join("bitbucket-pipelines.yml");
    std::fs::write(&file, text).unwrap();
    check_pipeline(&file)
}

#[test]
fn the_schema_check_refuses_what_bitbucket_would() {
    let good = pipeline_text(&[]);
    check_text(&good).expect("the generated file validates");
    // A trigger Bitbucket does not know.
    let bad = good.replace("trigger: manual", "trigger: later");
    assert_ne!(bad, good);
    let e = check_text(&bad).expect_err("an unknown trigger is refused");
    assert!(e.contains("later"), "{e}");
    // A step without a script.
    let bad = good.replace(
        "        script:\n          - terraform fmt",
        "        scrip:\n          - terraform fmt",
    );
    assert_ne!(bad, good);
    check_text(&bad).expect_err("a step needs a script");

    // Custom audiences are checked too: the widened oidc still has Bitbucket's limits.
    let good = pipeline_text(&["--audience", "sts.amazonaws.com"]);
    check_text(&good).expect("a step asking for audiences validates");
    let eleven: String = (0..11)
        .map(|i| format!("\n            - \"aud{i}\""))
        .collect();
    let bad = good.replace("\n            - \"sts.amazonaws.com\"", &eleven);
    assert_ne!(bad, good);
    check_text(&bad).expect_err("at most 10 audiences");
    let bad = good.replace("  audiences:\n", "  audience:\n");
    assert_ne!(bad, good);
    check_text(&bad).expect_err("oidc takes audiences only");
}

/// The pipeline for `extra`, pinned byte for byte in tests/snapshots/pipeline.
fn snapshot(name: &str, extra: &[&str]) {
    let text = pipeline_text(extra);
    // insta trims trailing whitespace; the last newline is pinned here.
    assert!(text.ends_with("\n") && !text.ends_with("\n\n"), "{text:?}");
    insta::with_settings!({
        snapshot_path => "../snapshots/pipeline",
        prepend_module_to_snapshot => false,
        description => format!("bootstrap pipeline {}", extra.join(" ")),
        omit_expression => true,
    }, {
        insta::assert_snapshot!(name, text);
    });
}

#[test]
fn the_one_role_pipelines_byte_for_byte() {
    snapshot("one-role", &[]);
    snapshot(
        "one-role-deployment",
        &[
            "--environment-uuid",
            ENV_UUID,
            "--deployment",
            "Production",
            "--branch",
            "release/*",
        ],
    );
    snapshot(
        "one-role-ip-audiences",
        &[
            "--source-ip",
            "203.0.113.0/24",
            "--audience",
            "sts.amazonaws.com",
        ],
    );
}

#[test]
fn writes_a_pipeline_with_oidc_plan_and_manual_apply() {
    let dir = out_dir();
    let out = pipeline(dir.path(), &[]).run();
    let role_arn = format!("arn:aws:iam::{ACCOUNT}:role/bitbucket-pipelines-deploy");
    // The variables to set are printed.
    assert!(
        out.stdout.contains(&format!("AWS_ROLE_ARN = {role_arn}")),
        "{out:?}"
    );
    assert!(out.stdout.contains("AWS_REGION   = eu-west-1"), "{out:?}");
    assert!(out.stdout.contains("repository variables"), "{out:?}");

    let doc = read_yaml(dir.path());
    let plan = step(&doc, "Terraform plan");
    let apply = step(&doc, "Terraform apply");
    let validate = step(&doc, "Terraform validate");
    for s in [plan, apply] {
        assert_eq!(s["oidc"], Yaml::Bool(true), "{s:?}");
        let lines = script(s);
        // The AWS SDK's web-identity wiring: the token written to the file the SDK reads.
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("export AWS_WEB_IDENTITY_TOKEN_FILE=")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.contains("$BITBUCKET_STEP_OIDC_TOKEN")
                    && l.contains("> \"$AWS_WEB_IDENTITY_TOKEN_FILE\"")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.contains("$AWS_ROLE_ARN") && l.contains("$AWS_REGION")),
            "{lines:?}"
        );
        // Not the default 1x/2x-with-atlassian-ip-ranges unless IP-restricted.
        assert!(
            s.get("size").is_none() && s.get("runtime").is_none(),
            "{s:?}"
        );
        // The token is never echoed into the build log.
        assert!(
            !lines
                .iter()
                .any(|l| l.starts_with("echo $BITBUCKET_STEP_OIDC_TOKEN")),
            "{lines:?}"
        );
    }
    assert!(validate.get("oidc").is_none(), "validate needs no AWS");
    assert!(script(validate).contains(&"terraform validate".to_string()));
    assert!(script(plan)
        .iter()
        .any(|l| l.contains("terraform plan") && l.contains("-out=tfplan")));
    assert_eq!(plan["artifacts"][0].as_str(), Some("tfplan"));
    assert_eq!(apply["trigger"].as_str(), Some("manual"));
    assert!(script(apply)
        .iter()
        .any(|l| l.contains("terraform apply") && l.ends_with("tfplan")));

    // default: validate + plan; main: validate, plan, then the manual apply.
    assert_eq!(
        step_names(&doc["pipelines"]["default"]),
        ["Terraform validate", "Terraform plan"]
    );
    assert_eq!(
        step_names(&doc["pipelines"]["branches"]["main"]),
        ["Terraform validate", "Terraform plan", "Terraform apply"]
    );
    let yml = std::fs::read_to_string(dir.path().join("bitbucket-pipelines.yml")).unwrap();
    assert!(yml.contains(&role_arn), "the header names the role");
}

#[test]
fn ip_restricted_roles_get_4x_steps_with_atlassian_ip_ranges() {
    let dir = out_dir();
    pipeline(dir.path(), &["--source-ip", "203.0.113.0/24"]).run();
    let doc = read_yaml(dir.path());
    for name in ["Terraform plan", "Terraform apply"] {
        let s = step(&doc, name);
        assert_eq!(s["size"].as_str(), Some("4x"), "{name}");
        assert_eq!(
            s["runtime"]["cloud"]["atlassian-ip-ranges"],
            Yaml::Bool(true),
            "{name}"
        );
    }
}

#[test]
fn custom_audiences_are_requested_by_the_steps() {
    let dir = out_dir();
    pipeline(
        dir.path(),
        &[
            "--audience",
            "sts.amazonaws.com",
            "--audience",
            "https://vault.example.com:8200",
        ],
    )
    .run();
    let doc = read_yaml(dir.path());
    let plan = step(&doc, "Terraform plan");
    let auds: Vec<&str> = plan["oidc"]["audiences"]
        .as_sequence()
        .expect("oidc.audiences")
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    // The workspace's default audience is not a custom one; the others are asked for.
    assert_eq!(
        auds,
        ["sts.amazonaws.com", "https://vault.example.com:8200"]
    );
}

#[test]
fn deployment_environments_need_a_deployment_name_and_get_a_stage() {
    let dir = out_dir();
    pipeline(dir.path(), &["--environment-uuid", ENV_UUID])
        .expect_exit(64)
        .expect_stderr_contains("--deployment NAME")
        .run();
    assert!(!dir.path().join("bitbucket-pipelines.yml").exists());

    pipeline(
        dir.path(),
        &[
            "--environment-uuid",
            ENV_UUID,
            "--deployment",
            "Production",
            "--branch",
            "release",
        ],
    )
    .expect_stdout_contains("deployment variables of the Production environment")
    .run();
    let doc = read_yaml(dir.path());
    // Non-deployment steps cannot use the role, so the default pipeline only validates.
    assert_eq!(
        step_names(&doc["pipelines"]["default"]),
        ["Terraform validate"]
    );
    let release = doc["pipelines"]["branches"]["release"]
        .as_sequence()
        .expect("release pipeline");
    let stage = release
        .iter()
        .find_map(|i| i.get("stage"))
        .expect("a deployment stage");
    assert_eq!(stage["deployment"].as_str(), Some("Production"));
    assert_eq!(
        step_names(&stage["steps"]),
        ["Terraform plan", "Terraform apply"]
    );
}

#[test]
fn a_role_every_branch_can_reach_is_warned_about() {
    let warning = "every branch can assume";
    let dir = out_dir();
    let out = pipeline(dir.path(), &["-q"]).run();
    assert!(
        out.stderr.contains("warning:") && out.stderr.contains(warning),
        "{out:?}"
    );
    assert!(out.stderr.contains("--environment-uuid"), "{out:?}");
    assert!(!out.stdout.contains(warning), "warnings stay off stdout");

    let dir = out_dir();
    let out = pipeline(dir.path(), &["--output", "json"]).run();
    let warnings = out.json()["warnings"].to_string();
    assert!(warnings.contains(warning), "{warnings}");

    // Narrowed to a deployment environment, plain branch steps cannot assume the role.
    let dir = out_dir();
    pipeline(
        dir.path(),
        &["--environment-uuid", ENV_UUID, "--deployment", "Production"],
    )
    .expect_stderr_lacks(warning)
    .run();
}
