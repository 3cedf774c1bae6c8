//! State per repository, the pipelines each role can run: `pipeline --config --role` writes
//! each role's backend at its own state prefix, with no AWS call.

use std::path::{Path, PathBuf};

use crate::common::fixture::{ENV_UUID, REPO_UUID};
use crate::common::Test;
use crate::state_per_repository::{organisation, role, WEB_REPO};

/// `pipeline --config CONFIG --role ROLE...` into a fresh directory (no AWS call), which
/// must exit `code`; a pipeline it wrote is checked against the schema.
fn pipeline(
    config: &Path,
    roles: &[&str],
    extra: &[&str],
    code: i32,
) -> (tempfile::TempDir, crate::common::CliOutput) {
    let out_dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let mut args: Vec<String> = vec![
        "pipeline".into(),
        "--config".into(),
        config.display().to_string(),
        "--out-dir".into(),
        out_dir.path().display().to_string(),
        "--account-id".into(),
        "210987654321".into(),
    ];
    for r in roles {
        args.extend(["--role".to_string(), (*r).to_string()]);
    }
    args.extend(extra.iter().map(ToString::to_string));
    let out = Test::new().args(args).expect_exit(code).run();
    if code == 0 {
        crate::common::schema::assert_valid_pipeline(
            &out_dir.path().join("bitbucket-pipelines.yml"),
        );
    }
    (out_dir, out)
}

fn offline_org(dir: &Path) -> PathBuf {
    organisation(
        dir,
        "region = \"eu-west-1\"\nworkspace = \"acme\"\nworkspace-uuid = \"6a3f1c2e-1111-4c9d-9a8b-0123456789ab\"\n",
    )
}

fn backend_attr(dir: &Path, key: &str) -> String {
    let hcl = std::fs::read_to_string(dir.join("backend.tf")).expect("backend.tf written");
    hcl.lines()
        .find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == key).then(|| v.trim().trim_matches('"').to_string())
        })
        .unwrap_or_else(|| panic!("no {key} in\n{hcl}"))
}

const FALSE_WARNING: &str = "can write the Terraform state";

#[test]
fn a_plan_role_s_pipeline_plans_and_never_applies() {
    let dir = tempfile::tempdir().unwrap();
    let config = offline_org(dir.path());
    let (out_dir, out) = pipeline(&config, &["web-plan"], &[], 0);
    assert!(!out.stderr.contains(FALSE_WARNING), "{}", out.stderr);
    let yml = std::fs::read_to_string(out_dir.path().join("bitbucket-pipelines.yml")).unwrap();
    assert!(yml.contains("terraform plan"), "{yml}");
    assert!(
        !yml.contains("apply"),
        "a plan role's pipeline applies:\n{yml}"
    );
    let backend = std::fs::read_to_string(out_dir.path().join("backend.tf")).unwrap();
    assert!(!backend.contains("may read and write"), "{backend}");
    assert_eq!(backend_attr(out_dir.path(), "key"), "web/terraform.tfstate");
    assert_eq!(
        backend_attr(out_dir.path(), "workspace_key_prefix"),
        "web/env:"
    );
}

#[test]
fn a_cdk_role_s_pipeline_has_no_terraform_backend() {
    let dir = tempfile::tempdir().unwrap();
    let config = offline_org(dir.path());
    let (out_dir, out) = pipeline(&config, &["app-cdk"], &["--output", "json"], 0);
    assert!(!out_dir.path().join("backend.tf").exists());
    assert!(!out.stderr.contains(FALSE_WARNING), "{}", out.stderr);
    let doc = out.json();
    assert_eq!(doc["files"].as_array().unwrap().len(), 1, "{doc}");
    assert!(doc.get("state_key").is_none(), "{doc}");
    let warnings = doc["warnings"].to_string();
    assert!(
        warnings.contains("can deploy through the roles `cdk bootstrap` created"),
        "{warnings}"
    );
    let yml = std::fs::read_to_string(out_dir.path().join("bitbucket-pipelines.yml")).unwrap();
    assert!(
        yml.contains("npx cdk deploy") && !yml.contains("terraform"),
        "{yml}"
    );
}

#[test]
fn each_role_s_pipeline_points_at_its_own_state() {
    let dir = tempfile::tempdir().unwrap();
    let config = offline_org(dir.path());
    for (roles, key) in [
        (&["infra-apply"][..], "infra/terraform.tfstate"),
        (&["web-plan", "web-apply"][..], "web/terraform.tfstate"),
    ] {
        let (out_dir, out) = pipeline(
            &config,
            roles,
            &["--deployment", "Production", "--output", "json"],
            0,
        );
        assert_eq!(backend_attr(out_dir.path(), "key"), key, "{roles:?}");
        assert_eq!(out.json()["state_key"], key, "{roles:?}");
        let yml = std::fs::read_to_string(out_dir.path().join("bitbucket-pipelines.yml")).unwrap();
        assert!(yml.contains("terraform apply"), "{roles:?}: {yml}");
        assert!(!out.stderr.contains("trust"), "{}", out.stderr);
    }
}

#[test]
fn a_pair_trusting_different_repositories_is_warned() {
    let dir = tempfile::tempdir().unwrap();
    let env = format!("environment-uuid = [\"{ENV_UUID}\"]");
    let shared = "state-key-prefix = \"shared\"";
    let text = [
        "region = \"eu-west-1\"\nworkspace = \"acme\"\nworkspace-uuid = \"6a3f1c2e-1111-4c9d-9a8b-0123456789ab\"\n".to_string(),
        role("x-plan", "plan", REPO_UUID, shared),
        role("x-apply", "apply", WEB_REPO, &format!("{env}\n{shared}")),
    ]
    .concat();
    let config = dir.path().join("bootstrap.toml");
    std::fs::write(&config, text).unwrap();
    let (_out_dir, out) = pipeline(&config, &[], &["--deployment", "Production"], 0);
    let want = format!(
        "the plan role x-plan trusts {REPO_UUID} but the apply role x-apply trusts {WEB_REPO}"
    );
    assert!(out.stderr.contains(&want), "{}", out.stderr);
    // Left to their defaults they keep apart, and the pipeline, which has one backend, is
    // refused saying why.
    let text = [
        "region = \"eu-west-1\"\nworkspace = \"acme\"\nworkspace-uuid = \"6a3f1c2e-1111-4c9d-9a8b-0123456789ab\"\n".to_string(),
        role("x-plan", "plan", REPO_UUID, ""),
        role("x-apply", "apply", WEB_REPO, &env),
    ]
    .concat();
    std::fs::write(&config, text).unwrap();
    let (_out_dir, out) = pipeline(&config, &[], &["--deployment", "Production"], 64);
    assert!(
        out.stderr
            .contains("they also trust different repositories"),
        "{}",
        out.stderr
    );
}
