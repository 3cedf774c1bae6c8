//! State per repository, with real Terraform: each role's generated backend, run through
//! Terraform, touches only its own state prefix, judged with the live documents.

use std::collections::BTreeMap;
use std::path::Path;

use crate::common::authz::{all_needs, Env};
use crate::common::fixture::{World, BUCKET, ENV_UUID, REPO_UUID};
use crate::common::inspect::Inspect;
use crate::common::moto::ACCOUNT_ID;
use crate::roles::with_config;
use crate::state_per_repository::{organisation, Judge, ROLES};
use crate::terraform::{local_backend, require_terraform, terraform, MAIN_TF};

/// `pipeline --role ROLE` writes the backend; Terraform runs `args_list` through it. The
/// requests are recorded and returned.
fn terraform_as(
    w: &World,
    config: &Path,
    role: &str,
    runs: &[&[&str]],
) -> Vec<crate::common::moto::RecordedRequest> {
    let dir = tempfile::Builder::new()
        .prefix("tf-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let out_dir = dir.path().display().to_string();
    with_config(w, "pipeline", config)
        .args([
            "--role",
            role,
            "--out-dir",
            &out_dir,
            "--account-id",
            ACCOUNT_ID,
            "--deployment",
            "Production",
        ])
        .run();
    std::fs::write(dir.path().join("main.tf"), MAIN_TF).unwrap();
    std::fs::write(
        dir.path().join("local.s3.tfbackend"),
        local_backend(&w.moto.endpoint()),
    )
    .unwrap();
    w.moto.start_recording();
    terraform(
        dir.path(),
        &[
            "init",
            "-input=false",
            "-no-color",
            "-backend-config=local.s3.tfbackend",
        ],
    );
    for args in runs {
        terraform(dir.path(), args);
    }
    w.moto.stop_recording();
    w.moto.recorded_requests()
}

#[test]
fn terraform_runs_through_each_role_s_backend_within_its_own_prefix() {
    require_terraform();
    let w = World::start_with_managed_policies();
    let dir = tempfile::tempdir().unwrap();
    let config = organisation(dir.path(), "");
    with_config(&w, "init", &config).arg("--yes").run();
    let aws = w.clients();
    let inspect = Inspect::new(&w.moto.endpoint());
    let judges: BTreeMap<&str, Judge> = ROLES
        .iter()
        .map(|(name, _)| (*name, Judge::of(&aws, &inspect, name)))
        .collect();
    // moto denies on any Deny statement whose condition does not hold (see terraform.rs):
    // Terraform runs without the bucket policy; its requests are judged with it.
    aws.block_on(aws.s3.delete_bucket_policy().bucket(BUCKET).send())
        .unwrap();

    let apply: &[&str] = &["apply", "-auto-approve", "-input=false", "-no-color"];
    let plan: &[&str] = &["plan", "-input=false", "-no-color"];
    let env = Env::moto(&w.region);
    for (role, runs) in [
        (
            "infra-apply",
            vec![apply, &["workspace", "new", "-no-color", "dev"][..], apply],
        ),
        ("web-apply", vec![apply]),
        ("infra-plan", vec![plan]),
        ("web-plan", vec![plan]),
    ] {
        let requests = terraform_as(&w, &config, role, &runs);
        let needs = all_needs(&requests, &env);
        assert!(!needs.is_empty(), "{role}: no request recorded");
        let prefix = ROLES.iter().find(|(n, _)| *n == role).unwrap().1.unwrap();
        let judge = &judges[role];
        let objects = needs
            .iter()
            .filter(|n| n.action.ends_with("Object"))
            .count();
        assert!(objects >= 3, "{role}: {needs:#?}");
        for need in &needs {
            assert!(judge.allows(&need.access()), "{role}: {need} is refused");
            if need.action.starts_with("s3:") && need.action.ends_with("Object") {
                let own = format!("arn:aws:s3:::{BUCKET}/{prefix}/");
                assert!(
                    need.resource.starts_with(&own),
                    "{role}: {need} outside {own}"
                );
            }
        }
    }
    // Each repository's state is its own object.
    for (prefix, count) in [("infra", 2), ("web", 1)] {
        let states: Vec<String> = inspect
            .versions(BUCKET)
            .iter()
            .map(|v| v.key.clone())
            .filter(|k| k.starts_with(&format!("{prefix}/")) && k.ends_with("terraform.tfstate"))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        assert_eq!(states.len(), count, "{prefix}: {states:?}");
    }
    assert!(!inspect
        .versions(BUCKET)
        .iter()
        .any(|v| v.key == "terraform.tfstate"));
}

/// A single-role configuration (`--plan-apply`, state at the top of the bucket) beside the
/// `[[role]]` configuration: real Terraform through its roles' backends, every request judged
/// with the live bucket policy (both confinement statements): its state, lock and workspaces
/// stay usable, and every object it touches is a top-level state object.
#[test]
fn terraform_runs_through_a_single_role_backend_beside_role_tables() {
    require_terraform();
    let w = World::start_with_managed_policies();
    let dir = tempfile::tempdir().unwrap();
    let config = organisation(dir.path(), "set = \"org\"\n");
    with_config(&w, "init", &config).arg("--yes").run();
    let single_dir = tempfile::tempdir().unwrap();
    let single = single_dir.path().join("bootstrap.toml");
    std::fs::write(
        &single,
        format!(
            "set = \"legacy\"\nplan-apply = true\nrepository-uuid = [\"{REPO_UUID}\"]\nenvironment-uuid = [\"{ENV_UUID}\"]\n"
        ),
    )
    .unwrap();
    with_config(&w, "init", &single).arg("--yes").run();
    let aws = w.clients();
    let inspect = Inspect::new(&w.moto.endpoint());
    let (plan_role, apply_role) = (
        "bitbucket-pipelines-deploy-plan",
        "bitbucket-pipelines-deploy-apply",
    );
    let judges: BTreeMap<&str, Judge> = [plan_role, apply_role]
        .into_iter()
        .map(|name| (name, Judge::of(&aws, &inspect, name)))
        .collect();
    // As in the test above: Terraform runs without the bucket policy, judged with it.
    aws.block_on(aws.s3.delete_bucket_policy().bucket(BUCKET).send())
        .unwrap();
    let apply: &[&str] = &["apply", "-auto-approve", "-input=false", "-no-color"];
    let plan: &[&str] = &["plan", "-input=false", "-no-color"];
    let top = [
        format!("arn:aws:s3:::{BUCKET}/terraform.tfstate"),
        format!("arn:aws:s3:::{BUCKET}/terraform.tfstate.tflock"),
    ];
    let env = Env::moto(&w.region);
    for (role, runs) in [
        (
            apply_role,
            vec![apply, &["workspace", "new", "-no-color", "dev"][..], apply],
        ),
        (plan_role, vec![plan]),
    ] {
        let requests = terraform_as(&w, &single, role, &runs);
        let needs = all_needs(&requests, &env);
        let judge = &judges[role];
        let objects: Vec<_> = needs
            .iter()
            .filter(|n| n.action.starts_with("s3:") && n.action.ends_with("Object"))
            .collect();
        assert!(objects.len() >= 3, "{role}: {needs:#?}");
        for need in &needs {
            assert!(judge.allows(&need.access()), "{role}: {need} is refused");
        }
        for need in objects {
            let at_top = top.contains(&need.resource)
                || need
                    .resource
                    .starts_with(&format!("arn:aws:s3:::{BUCKET}/env:/"));
            assert!(at_top, "{role}: {need} is not a top-level state object");
        }
    }
    // The workspace's state really went under env:/ at the top of the bucket.
    assert!(inspect
        .versions(BUCKET)
        .iter()
        .any(|v| v.key == "env:/dev/terraform.tfstate"));
}
