//! `--mode cloudformation` with several roles: one stack holds them all, its outputs name each
//! role's ARN, a re-run writes nothing; a role left out of the settings leaves the stack with
//! `init --prune` (refused without it), and one that would move to another logical id is
//! refused before anything changes. The roles are read back with the AWS SDK.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::fixture::{World, BUCKET, ENV_UUID, REPO_UUID, WORKSPACE_UUID};
use crate::common::inspect::Inspect;
use crate::common::Test;

const STACK: &str = "bitbucket-oidc-bootstrap";
/// `init --prune` needs an explicit set.
const SET_LINE: &str = "set = \"infra\"\n";

/// A bootstrap.toml with the given `[[role]]` tables, in `dir`.
fn config(dir: &Path, tables: &str) -> PathBuf {
    let path = dir.join("bootstrap.toml");
    std::fs::write(&path, tables).expect("write config");
    path
}

fn plan_role() -> String {
    format!("[[role]]\nname = \"infra-plan\"\naccess = \"plan\"\nrepository-uuid = [\"{REPO_UUID}\"]\n\n")
}

fn apply_role() -> String {
    format!(
        "[[role]]\nname = \"infra-apply\"\nrepository-uuid = [\"{REPO_UUID}\"]\nenvironment-uuid = [\"{ENV_UUID}\"]\n\n"
    )
}

/// `bootstrap CMD --mode MODE` against this world with `--config FILE`.
fn in_mode<'a>(w: &'a World, cmd: &str, mode: &str, config: &Path) -> Test<'a> {
    Test::new()
        .arg(cmd)
        .args(w.flags())
        .args(["--workspace-uuid", WORKSPACE_UUID, "--state-bucket", BUCKET])
        .args(["--mode", mode])
        .arg("--config")
        .arg(config)
        .moto(&w.moto)
}

fn cfn<'a>(w: &'a World, cmd: &str, config: &Path) -> Test<'a> {
    in_mode(w, cmd, "cloudformation", config)
}

/// The stack's template as CloudFormation holds it.
fn deployed_template(w: &World) -> Value {
    let clients = w.clients();
    let body = clients
        .block_on(
            clients
                .cloudformation
                .get_template()
                .stack_name(STACK)
                .send(),
        )
        .expect("GetTemplate")
        .template_body()
        .unwrap_or_default()
        .to_string();
    serde_norway::from_str(&body).expect("YAML template")
}

/// The statement ids of the inline policy of the role `id` in `template`.
fn statement_ids(template: &Value, id: &str) -> Vec<String> {
    let doc = &template["Resources"][id]["Properties"]["Policies"][0]["PolicyDocument"];
    let st = doc["Statement"].as_array().cloned().unwrap_or_default();
    st.iter()
        .filter_map(|s| s["Sid"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn one_stack_creates_two_roles_and_a_rerun_writes_nothing() {
    let w = World::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let two = config(dir.path(), &(plan_role() + &apply_role()));
    let out = cfn(&w, "init", &two)
        .args(["--yes", "--output", "json"])
        .run();
    let doc = out.json();
    assert_eq!(doc["result"]["status"], "CREATE_COMPLETE", "{doc}");
    let account = w.moto.account_id();
    let arn = |name: &str| format!("arn:aws:iam::{account}:role/{name}");
    assert_eq!(
        doc["outputs"]["role_arns"],
        serde_json::json!({ "infra-apply": arn("infra-apply"), "infra-plan": arn("infra-plan") })
    );
    assert!(doc["outputs"].get("role_arn").is_none(), "{doc}");

    // Both roles exist, each with its own trust and permissions.
    let aws = Inspect::new(&w.moto.endpoint());
    let mut names = aws.role_names();
    names.sort();
    assert_eq!(names, ["infra-apply", "infra-plan"]);
    // The plan role reads state and writes only the lock, beside ReadOnlyAccess. (moto's
    // CloudFormation attaches no ManagedPolicyArns and keeps inline documents in a form IAM
    // never returns, so those are read from the stack's template.)
    for role in ["infra-plan", "infra-apply"] {
        assert_eq!(aws.inline_policy_names(role), ["terraform-state-access"]);
    }
    let deployed = deployed_template(&w);
    let sids = |id: &str| statement_ids(&deployed, id);
    assert_eq!(
        deployed["Resources"]["DeployRoleInfraPlan"]["Properties"]["ManagedPolicyArns"],
        serde_json::json!([{ "Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/ReadOnlyAccess" }])
    );
    assert_eq!(
        sids("DeployRoleInfraPlan"),
        [
            "ListStateBucket",
            "ReadState",
            "WriteLocksOnly",
            "StateLockTable"
        ]
    );
    assert!(sids("DeployRoleInfraApply").contains(&"ReadWriteState".to_string()));
    assert!(deployed["Resources"]["DeployRoleInfraApply"]["Properties"]
        .get("ManagedPolicyArns")
        .is_none());
    let trust = aws.trust_policy("infra-apply");
    let sub = format!("{}:sub", w.issuer.host_path());
    assert_eq!(
        trust["Statement"][0]["Condition"]["StringLike"][sub.as_str()],
        format!("{REPO_UUID}:{ENV_UUID}:*")
    );
    assert_eq!(
        aws.role_tags("infra-plan")
            .get("bootstrap-set")
            .map(String::as_str),
        Some(w.issuer.host_path().as_str())
    );

    // Converged: init and plan again write nothing, and status names both roles in sync.
    cfn(&w, "init", &two)
        .arg("--yes")
        .expect_stdout_contains("nothing to change")
        .expect_no_writes()
        .run();
    cfn(&w, "plan", &two)
        .arg("--detailed-exitcode")
        .expect_no_writes()
        .run();
    let out = cfn(&w, "status", &two)
        .args(["--output", "json", "--detailed-exitcode"])
        .expect_no_writes()
        .run();
    let doc = out.json();
    assert_eq!(doc["in_sync"], true, "{doc}");
    assert_eq!(doc["outputs"]["role_arns"]["infra-plan"], arn("infra-plan"));

    assert_eq!(aws.role_names().len(), 2);
}

fn third_role() -> String {
    format!("[[role]]\nname = \"app-deploy\"\nrepository-uuid = [\"{REPO_UUID}\"]\n\n")
}

#[test]
fn a_role_left_out_of_the_settings_leaves_the_stack_with_prune() {
    let w = World::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let three = config(
        dir.path(),
        &(SET_LINE.to_string() + &plan_role() + &apply_role() + &third_role()),
    );
    cfn(&w, "init", &three).arg("--yes").run();
    let aws = Inspect::new(&w.moto.endpoint());
    assert_eq!(aws.role_names().len(), 3);

    // The plan shows the role leaving, and what init needs to do it.
    let two = config(
        dir.path(),
        &(SET_LINE.to_string() + &plan_role() + &apply_role()),
    );
    cfn(&w, "plan", &two)
        .arg("--detailed-exitcode")
        .expect_exit(2)
        .expect_stdout_contains("- DeployRoleAppDeploy")
        .expect_stdout_contains("the update deletes the role app-deploy, which these settings no longer have: init needs --prune")
        .expect_no_writes()
        .run();
    // Without --prune: refused, naming the flag that does it.
    cfn(&w, "init", &two)
        .arg("--yes")
        .expect_exit(64)
        .expect_stderr_contains(
            "the stack holds the role app-deploy, which these settings no longer have",
        )
        .expect_stderr_contains("`bootstrap init --mode cloudformation --prune`")
        .expect_no_writes()
        .run();
    assert!(aws.role_exists("app-deploy"));
    // With --prune: the stack update removes it; the others stay.
    cfn(&w, "init", &two).args(["--yes", "--prune"]).run();
    let mut names = aws.role_names();
    names.sort();
    assert_eq!(names, ["infra-apply", "infra-plan"]);
    assert!(deployed_template(&w)["Resources"]
        .get("DeployRoleAppDeploy")
        .is_none());
    cfn(&w, "init", &two)
        .args(["--yes", "--prune"])
        .expect_stdout_contains("nothing to change")
        .expect_no_writes()
        .run();

    // One role left out: the other would move to the one-role id, which CloudFormation
    // cannot do (it creates the new resource first, on the name the old one holds). Refused
    // before anything changes, with or without --prune, with a hint that works.
    let one = config(dir.path(), &(SET_LINE.to_string() + &plan_role()));
    cfn(&w, "init", &one)
        .args(["--yes", "--prune"])
        .expect_exit(64)
        .expect_stderr_contains(format!(
            "{STACK}: role infra-plan is DeployRoleInfraPlan in the stack and would become DeployRole"
        ))
        .expect_stderr_contains("give role infra-plan a new name")
        .expect_stderr_lacks("destroy --role")
        .expect_no_writes()
        .run();
    assert_eq!(aws.role_names().len(), 2);
}

#[test]
fn the_role_of_a_one_role_stack_is_renamed_with_prune() {
    let w = World::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let old = config(dir.path(), &(SET_LINE.to_string() + &apply_role()));
    cfn(&w, "init", &old).arg("--yes").run();
    let renamed = config(
        dir.path(),
        &(SET_LINE.to_string() + &apply_role().replace("infra-apply", "infra-deploy")),
    );
    cfn(&w, "init", &renamed)
        .arg("--yes")
        .expect_exit(64)
        .expect_stderr_contains("holds the role infra-apply")
        .expect_stderr_contains("--prune")
        .expect_no_writes()
        .run();
    let out = cfn(&w, "init", &renamed)
        .args(["--yes", "--prune", "--output", "json"])
        .run();
    let doc = out.json();
    let account = w.moto.account_id();
    assert_eq!(
        doc["outputs"]["role_arn"],
        format!("arn:aws:iam::{account}:role/infra-deploy"),
        "{doc}"
    );
    let aws = Inspect::new(&w.moto.endpoint());
    assert_eq!(aws.role_names(), ["infra-deploy"]);
}

#[test]
fn a_stack_is_not_created_over_roles_that_already_exist() {
    let w = World::start_with_managed_policies();
    let dir = tempfile::tempdir().expect("tempdir");
    let two = config(dir.path(), &(plan_role() + &apply_role()));
    in_mode(&w, "init", "direct", &two).arg("--yes").run();
    cfn(&w, "init", &two)
        .arg("--yes")
        .expect_exit(1)
        .expect_stderr_contains("the roles infra-plan, infra-apply")
        .expect_no_writes()
        .run();
}

#[test]
fn a_stackset_gives_each_account_every_role() {
    let w = World::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let two = config(dir.path(), &(plan_role() + &apply_role()));
    let (a, b) = ("111111111111", "222222222222");
    let stackset = |cmd: &str| {
        Test::new()
            .arg(cmd)
            .args(w.flags())
            .args(["--workspace-uuid", WORKSPACE_UUID])
            .args(["--stackset", "bitbucket-oidc-org", "--regions", "eu-west-1"])
            .args(["--accounts", &format!("{a},{b}")])
            .arg("--config")
            .arg(&two)
            .moto(&w.moto)
    };
    let out = stackset("init").args(["--yes", "--output", "json"]).run();
    let doc = out.json();
    let rows = doc["instances"].as_array().expect("instances");
    assert_eq!(rows.len(), 2, "{doc}");
    for row in rows {
        let account = row["account"].as_str().expect("account");
        let arn = |name: &str| format!("arn:aws:iam::{account}:role/{name}");
        assert_eq!(
            row["role_arns"],
            serde_json::json!({ "infra-apply": arn("infra-apply"), "infra-plan": arn("infra-plan") }),
            "{doc}"
        );
        assert!(row.get("role_arn").is_none(), "{doc}");
    }
    stackset("init")
        .arg("--yes")
        .expect_stdout_contains("In each account: roles infra-plan, infra-apply, bucket")
        .expect_no_writes()
        .run();
}
