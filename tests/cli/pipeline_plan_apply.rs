//! `bootstrap pipeline` for a plan role and an apply role: the plan role plans everywhere, the
//! apply role deploys; more roles than one pair are refused, `--role` picks the pipeline role.

use crate::common::fixture::{ENV_UUID, REPO_UUID, WORKSPACE_UUID};
use crate::common::Test;
use crate::pipeline::{out_dir, pipeline, read_yaml, step_names, ACCOUNT};
use std::path::Path;

// --- a plan role and an apply role ---------------------------------------------------

const PLAN_ARN: &str = "arn:aws:iam::210987654321:role/bitbucket-pipelines-deploy-plan";
const APPLY_ARN: &str = "arn:aws:iam::210987654321:role/bitbucket-pipelines-deploy-apply";

/// `pipeline --plan-apply --environment-uuid ENV` and `extra`.
fn plan_apply(dir: &Path, extra: &[&str]) -> Test<'static> {
    let mut args = vec!["--plan-apply", "--environment-uuid", ENV_UUID];
    args.extend_from_slice(extra);
    pipeline(dir, &args)
}

#[test]
fn plan_apply_plans_everywhere_with_the_plan_role_and_deploys_with_the_apply_role() {
    let dir = out_dir();
    let out = plan_apply(dir.path(), &["--deployment", "Production"]).run();
    let expected = format!(
        "Branches and pull requests plan with the plan role; the Production deployment stage plans and applies with the apply role.\n\
         \n\
         In Bitbucket, set these repository variables (Repository settings > Repository variables):\n\
         \x20 AWS_ROLE_ARN = {PLAN_ARN}\n\
         \x20 AWS_REGION   = eu-west-1\n\
         and these deployment variables of the Production environment (Repository settings > Deployments):\n\
         \x20 AWS_ROLE_ARN = {APPLY_ARN}\n"
    );
    assert!(out.stdout.contains(&expected), "{out:?}");
    // The plan role cannot write the state: no warning that every branch can.
    assert!(!out.stderr.contains("every branch can assume"), "{out:?}");

    let doc = read_yaml(dir.path());
    let pipelines = &doc["pipelines"];
    let plan = ["Terraform validate", "Terraform plan"];
    assert_eq!(step_names(&pipelines["default"]), plan);
    assert_eq!(step_names(&pipelines["pull-requests"]["**"]), plan);
    let main = pipelines["branches"]["main"].as_sequence().expect("main");
    assert_eq!(main[0]["step"]["name"].as_str(), Some("Terraform validate"));
    let stage = &main[1]["stage"];
    assert_eq!(stage["deployment"].as_str(), Some("Production"));
    assert_eq!(
        step_names(&stage["steps"]),
        ["Terraform plan", "Terraform apply"]
    );
    let yml = std::fs::read_to_string(dir.path().join("bitbucket-pipelines.yml")).unwrap();
    for line in [
        format!("#   AWS_ROLE_ARN = {PLAN_ARN}"),
        format!("#   AWS_ROLE_ARN = {APPLY_ARN}"),
        "# and these deployment variables of the Production environment".to_string(),
    ] {
        assert!(yml.lines().any(|l| l == line), "{line:?} not in\n{yml}");
    }
}

#[test]
fn plan_apply_json_names_both_roles_and_their_variables() {
    let dir = out_dir();
    let out = plan_apply(
        dir.path(),
        &["--deployment", "Production", "--output", "json"],
    )
    .run();
    let doc = out.json();
    assert_eq!(doc["roles"]["kind"], "plan_apply");
    assert_eq!(doc["roles"]["plan_arn"], PLAN_ARN);
    assert_eq!(doc["roles"]["apply_arn"], APPLY_ARN);
    assert_eq!(doc["variables"]["scope"], "repository");
    assert_eq!(doc["variables"]["AWS_ROLE_ARN"], PLAN_ARN);
    assert_eq!(doc["variables"]["AWS_REGION"], "eu-west-1");
    assert_eq!(doc["deployment_variables"]["scope"], "deployment");
    assert_eq!(doc["deployment_variables"]["deployment"], "Production");
    assert_eq!(doc["deployment_variables"]["AWS_ROLE_ARN"], APPLY_ARN);
    assert!(
        doc["deployment_variables"].get("AWS_REGION").is_none(),
        "{doc}"
    );
}

#[test]
fn plan_apply_needs_the_deployment_name() {
    let dir = out_dir();
    let out = plan_apply(dir.path(), &[]).expect_exit(64).run();
    let line = out.stderr.trim();
    assert_eq!(line.lines().count(), 1, "{out:?}");
    assert!(line.contains("--deployment NAME"), "{out:?}");
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
}

#[test]
fn more_roles_than_one_pair_are_refused() {
    let dir = out_dir();
    let config = dir.path().join("bootstrap.toml");
    let role = |name: &str, access: &str, env: bool| {
        let env = if env {
            format!("environment-uuid = [\"{ENV_UUID}\"]\n")
        } else {
            String::new()
        };
        format!("[[role]]\nname = \"{name}\"\naccess = \"{access}\"\nrepository-uuid = [\"{REPO_UUID}\"]\n{env}\n")
    };
    let out_dir = dir.path().join("out");
    let cases = [
        (
            [
                role("p", "plan", false),
                role("a", "apply", true),
                role("c", "cdk", false),
            ]
            .concat(),
            "3 roles",
        ),
        (
            [role("p", "plan", false), role("a", "apply", false)].concat(),
            "not limited to deployment environments",
        ),
    ];
    for (tables, why) in cases {
        let toml = format!("region = \"eu-west-1\"\nworkspace = \"acme\"\nworkspace-uuid = \"{WORKSPACE_UUID}\"\n\n{tables}");
        std::fs::write(&config, toml).unwrap();
        let out = Test::new()
            .args([
                "pipeline",
                "--config",
                &config.display().to_string(),
                "--out-dir",
                &out_dir.display().to_string(),
                "--account-id",
                ACCOUNT,
                "--deployment",
                "Production",
            ])
            .expect_exit(64)
            .run();
        // One error line (beside the line naming the configuration file in use).
        let errors: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| !l.starts_with("using configuration "))
            .collect();
        assert_eq!(errors.len(), 1, "{out:?}");
        assert!(
            errors[0].starts_with("error: ") && errors[0].contains(why),
            "{why}: {out:?}"
        );
        assert!(!out_dir.exists(), "nothing is written");
    }
}

#[test]
fn with_several_roles_configured_role_picks_the_pipeline_role() {
    let dir = out_dir();
    let config = dir.path().join("bootstrap.toml");
    std::fs::write(
        &config,
        format!(
            "[[role]]\nname = \"infra-plan\"\naccess = \"plan\"\nrepository-uuid = [\"{REPO_UUID}\"]\n\n[[role]]\nname = \"app-cdk\"\naccess = \"cdk\"\nrepository-uuid = [\"{REPO_UUID}\"]\n"
        ),
    )
    .expect("write config");
    let out_path = dir.path().join("out");
    let run_with = |extra: &[&str]| {
        crate::pipeline::pipeline_in_workspace(&out_path)
            .arg("--config")
            .arg(&config)
            .args(extra)
    };
    run_with(&[])
        .expect_exit(64)
        .expect_stderr_contains("name the roles it uses with --role")
        .run();
    assert!(!out_path.exists(), "nothing is written on a usage error");
    let out = run_with(&["--role", "infra-plan"]).run();
    let arn = format!("arn:aws:iam::{ACCOUNT}:role/infra-plan");
    assert!(out.stdout.contains(&arn), "{out:?}");
}
