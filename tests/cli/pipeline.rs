//! `bootstrap pipeline` driven as a subprocess: every generated bitbucket-pipelines.yml
//! validates against Atlassian's published schema (check-jsonschema) and has the documented
//! Bitbucket structure; the generated backend.tf is accepted by the real Terraform
//! (`fmt -check`, `init -backend=false`, `validate`).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_norway::Value as Yaml;

use crate::common::fixture::{World, ENV_UUID, REPO_UUID, WORKSPACE_UUID};
use crate::common::schema::{assert_valid_pipeline, check_pipeline};
use crate::common::CliOutput;
use crate::common::Test;

const ACCOUNT: &str = "210987654321";

fn out_dir() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir")
}

/// `bootstrap pipeline --out-dir DIR --account-id ACCOUNT` with a Bitbucket workspace issuer
/// (nothing is fetched: pipeline needs no issuer I/O) and `extra`. A pipeline it writes is
/// checked against the schema.
fn pipeline(dir: &Path, extra: &[&str]) -> Test<'static> {
    let mut args: Vec<String> = [
        "pipeline",
        "--out-dir",
        &dir.display().to_string(),
        "--account-id",
        ACCOUNT,
        "--region",
        "eu-west-1",
        "--workspace",
        "acme",
        "--workspace-uuid",
        WORKSPACE_UUID,
        "--repository-uuid",
        REPO_UUID,
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    args.extend(extra.iter().map(ToString::to_string));
    Test::new().args(args).check(valid_pipeline_in(dir))
}

/// A check of a run's output: the pipeline a successful run wrote in `dir` is valid against
/// the schema (not one it found there and left as it was).
fn valid_pipeline_in(dir: &Path) -> impl Fn(&CliOutput) {
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

fn read_yaml(dir: &Path) -> Yaml {
    let text = std::fs::read_to_string(dir.join("bitbucket-pipelines.yml")).expect("yml written");
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("YAML does not parse: {e}\n{text}"))
}

/// The step definitions by name (`definitions.steps[*].step`).
fn step<'a>(doc: &'a Yaml, name: &str) -> &'a Yaml {
    doc["definitions"]["steps"]
        .as_sequence()
        .expect("definitions.steps is a list")
        .iter()
        .map(|s| &s["step"])
        .find(|s| s["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no step named {name}"))
}

fn script(step: &Yaml) -> Vec<String> {
    step["script"]
        .as_sequence()
        .expect("script is a list")
        .iter()
        .map(|l| l.as_str().expect("script lines are strings").to_string())
        .collect()
}

/// The step names of a pipeline (a list of `- step:` and `- stage: steps:` items).
fn step_names(items: &Yaml) -> Vec<String> {
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

/// The sample examples/bootstrap.toml, as a user would use it: `--config` and nothing else
/// but the command-only flags.
#[test]
fn the_sample_config_drives_the_generated_files() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/bootstrap.toml");
    let dir = out_dir();
    let out = Test::new()
        .args(
            [
                "pipeline",
                "--config",
                &sample.display().to_string(),
                "--out-dir",
                &dir.path().display().to_string(),
                "--account-id",
                ACCOUNT,
            ]
            .map(String::from)
            .to_vec(),
        )
        .check(valid_pipeline_in(dir.path()))
        .run();
    // Offline (--account-id), the tool cannot look for a bucket of an earlier version: it
    // says which name such an account uses.
    assert!(
        out.stderr.contains(&format!(
            "pass --state-bucket terraform-state-{ACCOUNT}-eu-west-1 for it"
        )),
        "{out:?}"
    );
    assert!(
        out.stdout.contains(&format!(
            "AWS_ROLE_ARN = arn:aws:iam::{ACCOUNT}:role/bitbucket-pipelines-deploy"
        )),
        "{out:?}"
    );
    assert!(out.stdout.contains("AWS_REGION   = eu-west-1"), "{out:?}");
    let a = attrs(&std::fs::read_to_string(dir.path().join("backend.tf")).unwrap());
    let get = |k: &str| a.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(
        get("bucket"),
        Some(format!("\"terraform-state-{ACCOUNT}-eu-west-1-an\""))
    );
    assert_eq!(
        get("dynamodb_table").as_deref(),
        Some("\"terraform-state-lock\"")
    );
}

#[test]
fn existing_files_are_kept_without_force() {
    let dir = out_dir();
    let yml = dir.path().join("bitbucket-pipelines.yml");
    std::fs::write(&yml, "# mine\n").unwrap();
    let out = pipeline(dir.path(), &[]).run();
    assert_eq!(
        std::fs::read_to_string(&yml).unwrap(),
        "# mine\n",
        "an existing pipeline is never replaced without --force"
    );
    assert!(dir.path().join("backend.tf").exists(), "{out:?}");
    // What would have been written is shown, to merge in.
    assert!(
        out.stdout
            .contains("bitbucket-pipelines.yml exists, so it was left as it is"),
        "{out:?}"
    );
    assert!(out.stdout.contains("  definitions:"), "{out:?}");
    assert!(out.stdout.contains("  pipelines:"), "{out:?}");
    assert!(out.stdout.contains("--force replaces it"), "{out:?}");
    assert!(
        out.stdout
            .contains("give each of these steps `image: hashicorp/terraform:"),
        "{out:?}"
    );
    assert!(
        !out.stdout.contains(&format!("wrote {}", yml.display())),
        "{out:?}"
    );

    // Both exist: nothing is written, both are shown; the JSON document says which.
    let backend = dir.path().join("backend.tf");
    std::fs::write(&backend, "# my backend\n").unwrap();
    let out = pipeline(dir.path(), &["--output", "json"]).run();
    let doc = out.json();
    assert_eq!(doc["files"], serde_json::json!([]), "{out:?}");
    let kept = doc["kept"].as_array().expect("kept");
    assert_eq!(kept.len(), 2, "{out:?}");
    assert!(kept[1]["content"]
        .as_str()
        .unwrap()
        .contains("backend \"s3\""));
    assert_eq!(std::fs::read_to_string(&backend).unwrap(), "# my backend\n");

    pipeline(dir.path(), &["--force"]).run();
    assert_ne!(std::fs::read_to_string(&yml).unwrap(), "# mine\n");
    assert_ne!(std::fs::read_to_string(&backend).unwrap(), "# my backend\n");
}

#[test]
fn json_output_is_one_document() {
    let dir = out_dir();
    let out = pipeline(dir.path(), &["--output", "json", "--no-lock-table"]).run();
    let doc = out.json();
    assert_eq!(
        doc["variables"]["AWS_ROLE_ARN"],
        format!("arn:aws:iam::{ACCOUNT}:role/bitbucket-pipelines-deploy")
    );
    assert_eq!(doc["variables"]["AWS_REGION"], "eu-west-1");
    assert_eq!(doc["variables"]["scope"], "repository");
    assert!(doc["lock_table"].is_null());
    // --account-id given: no AWS call at all.
    assert_eq!(doc["aws_calls"]["total"], 0);
}

#[test]
fn account_comes_from_sts_without_account_id() {
    let w = World::start();
    let dir = out_dir();
    let mut args = vec![
        "pipeline".to_string(),
        "--out-dir".into(),
        dir.path().display().to_string(),
    ];
    args.extend(w.setup_flags());
    Test::new()
        .args(args)
        .check(valid_pipeline_in(dir.path()))
        .expect_stdout_contains(format!(
            "AWS_ROLE_ARN = arn:aws:iam::{}:role/bitbucket-pipelines-deploy",
            w.moto.account_id()
        ))
        .run();
    let backend = std::fs::read_to_string(dir.path().join("backend.tf")).unwrap();
    assert!(backend.contains("\"tf-state-test\""), "{backend}");
}

/// Every script line of every step in the generated pipeline.
fn all_script_lines(doc: &Yaml) -> Vec<String> {
    doc["definitions"]["steps"]
        .as_sequence()
        .expect("definitions.steps")
        .iter()
        .flat_map(|s| script(&s["step"]))
        .collect()
}

#[test]
fn no_generated_value_reaches_a_script_line() {
    let dir = out_dir();
    let deployment = "Prod eu-1.x";
    let branch = "release/*";
    pipeline(
        dir.path(),
        &[
            "--environment-uuid",
            ENV_UUID,
            "--deployment",
            deployment,
            "--branch",
            branch,
            "--role-name",
            "deployer.prod",
            "--audience",
            "sts.amazonaws.com",
        ],
    )
    .run();
    let doc = read_yaml(dir.path());
    // The values are where they belong, exactly as given...
    let stage = doc["pipelines"]["branches"][branch]
        .as_sequence()
        .expect("the branch pipeline, keyed by the pattern")
        .iter()
        .find_map(|i| i.get("stage"))
        .expect("a deployment stage");
    assert_eq!(stage["deployment"].as_str(), Some(deployment));
    // ...and in no script line, where a shell would read them.
    let lines = all_script_lines(&doc);
    assert!(lines.len() >= 8, "{lines:?}");
    for value in [
        deployment,
        branch,
        "deployer.prod",
        ACCOUNT,
        "eu-west-1",
        "sts.amazonaws.com",
    ] {
        for line in &lines {
            assert!(
                !line.contains(value),
                "{value:?} in the script line {line:?}"
            );
        }
    }
}

#[test]
fn shell_in_values_and_branch_patterns_for_every_branch_are_refused() {
    let cases: [(&[&str], &[&str]); 9] = [
        (
            &["--deployment", "Prod$(touch x)"],
            &["--deployment", "letters, digits"],
        ),
        (&["--deployment", "Prod`touch x`"], &["--deployment"]),
        (&["--deployment", "Prod\"; touch x; \""], &["--deployment"]),
        (&["--branch", "**"], &["--branch", "matches every branch"]),
        (&["--branch", "*"], &["--branch", "matches every branch"]),
        (&["--branch", "**/*"], &["--branch", "matches every branch"]),
        (
            &["--branch", "{main,**}"],
            &["--branch", "matches every branch"],
        ),
        (&["--branch", "main$(touch x)"], &["--branch", "glob"]),
        (&["--branch", "main: {x: 1}"], &["--branch"]),
    ];
    for (extra, expect) in cases {
        let dir = out_dir();
        let mut args = vec!["--environment-uuid", ENV_UUID];
        if !extra.contains(&"--deployment") {
            args.extend(["--deployment", "Production"]);
        }
        args.extend_from_slice(extra);
        let out = pipeline(dir.path(), &args).expect_exit(64).run();
        let line = out.stderr.trim();
        assert_eq!(line.lines().count(), 1, "{out:?}");
        for e in expect {
            assert!(line.contains(e), "{extra:?}: lacks {e:?}\n{out:?}");
        }
        let written: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(written.is_empty(), "{extra:?}: nothing may be written");
    }
}

#[test]
fn links_in_the_out_dir_are_never_followed() {
    let dir = out_dir();
    let victim = dir.path().join("victim.txt");
    for (name, dangling) in [("bitbucket-pipelines.yml", true), ("backend.tf", false)] {
        if !dangling {
            std::fs::write(&victim, "keep me\n").unwrap();
        }
        let link = dir.path().join(name);
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        for force in [false, true] {
            pipeline(dir.path(), if force { &["--force"] } else { &[] })
                .expect_exit(64)
                .expect_stderr_contains("is a symbolic link")
                .expect_stderr_contains(name)
                .run();
        }
        if dangling {
            assert!(!victim.exists(), "a dangling link was followed");
        } else {
            assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me\n");
        }
        std::fs::remove_file(&link).unwrap();
    }
    // Without links, the files are written (and are regular files).
    pipeline(dir.path(), &[]).run();
    for name in ["bitbucket-pipelines.yml", "backend.tf"] {
        let meta = std::fs::symlink_metadata(dir.path().join(name)).unwrap();
        assert!(meta.is_file(), "{name}");
    }
}

// --- backend.tf ------------------------------------------------------------------------

/// The `terraform` binary on PATH. These checks are how backend.tf is proven valid, so a
/// machine without Terraform fails them rather than skipping them.
fn terraform() -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join("terraform"))
                .find(|p| p.is_file())
        })
        .expect("terraform is not on PATH: the backend.tf checks (fmt -check, init -backend=false, validate) need Terraform 1.11 or later")
}

fn terraform_ok(tf: &Path, dir: &Path, args: &[&str]) {
    let out = Command::new(tf)
        .args(args)
        .current_dir(dir)
        .env("TF_IN_AUTOMATION", "1")
        .env("CHECKPOINT_DISABLE", "1")
        .env("TF_DATA_DIR", dir.join(".terraform"))
        .output()
        .expect("run terraform");
    assert!(
        out.status.success(),
        "terraform {args:?} failed\n--- stdout\n{}\n--- stderr\n{}\n--- backend.tf\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(dir.join("backend.tf")).unwrap_or_default()
    );
}

/// backend.tf as written for `extra`, checked by terraform.
fn backend(extra: &[&str]) -> String {
    let dir = out_dir();
    pipeline(dir.path(), extra).run();
    // Only backend.tf in the directory Terraform checks.
    std::fs::remove_file(dir.path().join("bitbucket-pipelines.yml")).unwrap();
    let tf = terraform();
    terraform_ok(&tf, dir.path(), &["fmt", "-check", "-diff"]);
    terraform_ok(
        &tf,
        dir.path(),
        &["init", "-backend=false", "-input=false", "-no-color"],
    );
    terraform_ok(&tf, dir.path(), &["validate", "-no-color"]);
    std::fs::read_to_string(dir.path().join("backend.tf")).unwrap()
}

/// `name = value` pairs of the backend "s3" block, whitespace-insensitive.
fn attrs(hcl: &str) -> Vec<(String, String)> {
    let start = hcl.find("backend \"s3\" {").expect("an s3 backend block");
    hcl[start..]
        .lines()
        .skip(1)
        .take_while(|l| l.trim() != "}")
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

#[test]
fn backend_with_lock_table_and_kms_key() {
    let kms = format!("arn:aws:kms:eu-west-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab");
    let hcl = backend(&["--kms-key", &kms, "--state-key-prefix", "infra/prod"]);
    let a = attrs(&hcl);
    let get = |k: &str| a.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    // The default bucket name of a new setup: in the account regional namespace.
    assert_eq!(
        get("bucket"),
        Some(format!("\"terraform-state-{ACCOUNT}-eu-west-1-an\"").as_str())
    );
    assert_eq!(get("key"), Some("\"infra/prod/terraform.tfstate\""));
    // Other workspaces stay under the prefix the role may write (Terraform's default is
    // `env:` at the top of the bucket).
    assert_eq!(get("workspace_key_prefix"), Some("\"infra/prod/env:\""));
    assert_eq!(get("region"), Some("\"eu-west-1\""));
    assert_eq!(get("encrypt"), Some("true"));
    assert_eq!(get("use_lockfile"), Some("true"));
    assert_eq!(get("dynamodb_table"), Some("\"terraform-state-lock\""));
    assert_eq!(get("kms_key_id"), Some(format!("\"{kms}\"").as_str()));
}

#[test]
fn backend_without_lock_table() {
    let hcl = backend(&["--no-lock-table", "--state-bucket", "my-tf-state"]);
    let a = attrs(&hcl);
    let names: Vec<&str> = a.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "bucket",
            "key",
            "workspace_key_prefix",
            "region",
            "encrypt",
            "use_lockfile"
        ]
    );
    assert_eq!(a[0].1, "\"my-tf-state\"");
    assert_eq!(a[1].1, "\"terraform.tfstate\"");
    assert_eq!(a[2].1, "\"env:\"");
}

/// The `required_version` constraint of backend.tf.
fn required_version(hcl: &str) -> String {
    let line = hcl
        .lines()
        .find(|l| l.trim_start().starts_with("required_version"))
        .expect("backend.tf sets required_version");
    let (_, value) = line.split_once('=').expect("required_version = ...");
    value.trim().trim_matches('"').to_string()
}

fn version(v: &str) -> (u64, u64, u64) {
    let mut parts = v
        .trim()
        .split('.')
        .map(|p| p.parse::<u64>().expect("a number"));
    let mut next = || parts.next().unwrap_or(0);
    (next(), next(), next())
}

/// Whether `v` meets a Terraform/OpenTofu version constraint such as `>= 1.10.0, < 2.0.0`.
/// An operator this does not know fails the test rather than passing it.
fn satisfies(constraint: &str, v: &str) -> bool {
    constraint.split(',').all(|c| {
        let c = c.trim();
        let op_len = c.find(|ch: char| ch.is_ascii_digit()).expect("a version");
        let (op, want) = (c[..op_len].trim(), version(&c[op_len..]));
        let have = version(v);
        match op {
            ">=" => have >= want,
            ">" => have > want,
            "<=" => have <= want,
            "<" => have < want,
            "" | "=" => have == want,
            "!=" => have != want,
            other => panic!("constraint operator {other:?} not understood by this test"),
        }
    })
}

#[test]
fn backend_admits_opentofu_1_10_and_the_terraform_of_the_image() {
    let constraint = required_version(&backend(&[]));
    // OpenTofu 1.10 is its first release with use_lockfile; its version is what OpenTofu
    // checks required_version against.
    assert!(satisfies(&constraint, "1.10.0"), "{constraint}");
    assert!(satisfies(&constraint, "1.11.0"), "{constraint}");
    // Older releases do not know use_lockfile and must be refused by the constraint.
    assert!(!satisfies(&constraint, "1.9.1"), "{constraint}");
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
        let mut args: Vec<String> = [
            "pipeline",
            "--out-dir",
            &out_path.display().to_string(),
            "--account-id",
            ACCOUNT,
            "--region",
            "eu-west-1",
            "--workspace",
            "acme",
            "--workspace-uuid",
            WORKSPACE_UUID,
            "--config",
            &config.display().to_string(),
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        args.extend(extra.iter().map(ToString::to_string));
        Test::new().args(args)
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
