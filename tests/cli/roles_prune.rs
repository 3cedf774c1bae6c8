//! Many roles over time: `--role` narrowing, `destroy --role`, and stale roles (roles of this
//! set no longer in bootstrap.toml) shown by `plan` and `status` and deleted only by
//! `init --prune`. The end state is read with the AWS SDK.

use std::path::PathBuf;

use crate::common::fixture::{World, BUCKET, ENV_UUID, REPO_UUID};
use crate::common::inspect::Inspect;
use crate::roles::with_config;

/// The [[role]] tables this file's configurations choose from.
fn table(name: &str) -> String {
    match name {
        "infra-plan" => format!(
            "[[role]]\nname = \"infra-plan\"\naccess = \"plan\"\nrepository-uuid = [\"{REPO_UUID}\"]\n"
        ),
        "infra-apply" => format!(
            "[[role]]\nname = \"infra-apply\"\nrepository-uuid = [\"{REPO_UUID}\"]\nenvironment-uuid = [\"{ENV_UUID}\"]\n"
        ),
        _ => format!(
            "[[role]]\nname = \"{name}\"\naccess = \"cdk\"\nrepository-uuid = [\"{REPO_UUID}\"]\n"
        ),
    }
}

/// Write bootstrap.toml with these roles into `dir` (replacing what was there).
fn config(dir: &tempfile::TempDir, roles: &[&str]) -> PathBuf {
    let text: Vec<String> = roles.iter().map(|r| table(r)).collect();
    let path = dir.path().join("bootstrap.toml");
    let text = format!("set = \"infra\"\n\n{}", text.join("\n"));
    std::fs::write(&path, text).expect("write config");
    path
}

const THREE: [&str; 3] = ["infra-plan", "infra-apply", "app-cdk"];

pub(crate) fn sorted_roles(aws: &Inspect) -> Vec<String> {
    let mut names = aws.role_names();
    names.sort();
    names
}

/// `plan` and `status` show app-cdk as stale (status --detailed-exitcode exits 2), never the
/// other set's role, and not at all when `--role` narrows; none of them writes.
fn shows_the_stale_role(w: &World, two: &std::path::Path) {
    with_config(w, "plan", two)
        .expect_stdout_contains("stale: role app-cdk, deleted by `init --prune`")
        .expect_stdout_lacks("other-deploy")
        .expect_no_writes()
        .run();
    // Something awaits `init --prune`: plan exits 2 as status does, and never says that
    // nothing changes.
    with_config(w, "plan", two)
        .arg("--detailed-exitcode")
        .expect_exit(2)
        .expect_stdout_contains("1 stale role(s) to delete with `init --prune`")
        .expect_stdout_lacks("nothing to change")
        .expect_no_writes()
        .run();
    // The JSON says what the exit code says: nothing to change, yet something to do.
    let doc = with_config(w, "plan", two)
        .args(["--output", "json", "--detailed-exitcode"])
        .expect_exit(2)
        .expect_no_writes()
        .run()
        .json();
    assert_eq!(doc["changes"], false, "{doc}");
    assert_eq!(doc["needs_attention"], true, "{doc}");
    with_config(w, "status", two)
        .arg("--detailed-exitcode")
        .expect_exit(2)
        .expect_stdout_contains("stale: role app-cdk")
        .expect_stdout_contains("init --prune")
        .expect_stdout_lacks("other-deploy")
        .expect_no_writes()
        .run();
    let doc = with_config(w, "status", two)
        .args(["--output", "json"])
        .expect_no_writes()
        .run()
        .json();
    assert_eq!(doc["in_sync"], false, "{doc}");
    let stale: Vec<&str> = doc["stale_roles"]
        .as_array()
        .map(|a| a.iter().filter_map(|r| r["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(stale, ["app-cdk"], "{doc}");
    // --role narrows: the other configured role and the stale one are not shown.
    with_config(w, "plan", two)
        .args(["--role", "infra-plan", "--detailed-exitcode"])
        .expect_stdout_contains("infra-plan")
        .expect_stdout_lacks("infra-apply")
        .expect_stdout_lacks("stale")
        .expect_no_writes()
        .run();
}

#[test]
fn a_role_dropped_from_the_config_is_stale_until_init_prune_deletes_it() {
    let w = World::start_with_managed_policies();
    // Another configuration's role in the same account, on the same provider.
    w.test("init")
        .args(["--yes", "--set", "other", "--role-name", "other-deploy"])
        .run();
    let dir = tempfile::tempdir().expect("tempdir");
    let three = config(&dir, &THREE);
    with_config(&w, "init", &three).arg("--yes").run();
    let aws = Inspect::new(&w.moto.endpoint());
    assert_eq!(
        sorted_roles(&aws),
        ["app-cdk", "infra-apply", "infra-plan", "other-deploy"]
    );
    // Nothing is stale while every role is configured.
    with_config(&w, "status", &three)
        .arg("--detailed-exitcode")
        .expect_stdout_lacks("stale")
        .expect_no_writes()
        .run();

    let two = config(&dir, &["infra-plan", "infra-apply"]);
    shows_the_stale_role(&w, &two);

    // init without --prune leaves the stale role alone, and says so.
    with_config(&w, "init", &two)
        .arg("--yes")
        .expect_stdout_contains("stale: role app-cdk is no longer configured; left alone")
        .expect_no_writes()
        .run();
    assert!(aws.role_exists("app-cdk"));

    let doc = with_config(&w, "init", &two)
        .args(["--yes", "--prune", "--output", "json"])
        .run()
        .json();
    assert_eq!(doc["pruned"], serde_json::json!(["app-cdk"]), "{doc}");
    assert_eq!(doc["applied"], true, "{doc}");
    assert_eq!(
        sorted_roles(&aws),
        ["infra-apply", "infra-plan", "other-deploy"]
    );
    assert_eq!(aws.provider_arns(), vec![w.provider_arn()]);

    // Converged: nothing stale, nothing written.
    with_config(&w, "init", &two)
        .args(["--yes", "--prune"])
        .expect_stdout_lacks("stale")
        .expect_stdout_lacks("pruned")
        .expect_no_writes()
        .run();
    with_config(&w, "status", &two)
        .arg("--detailed-exitcode")
        .expect_no_writes()
        .run();
    // Seen from the other set, this set's roles are not stale either.
    w.test("plan")
        .args(["--set", "other", "--role-name", "other-deploy"])
        .expect_stdout_lacks("stale")
        .expect_no_writes()
        .run();
    assert!(aws.role_exists("other-deploy"));
}

#[test]
fn destroy_role_deletes_that_role_alone_and_keeps_what_the_others_use() {
    let w = World::start_with_managed_policies();
    let dir = tempfile::tempdir().expect("tempdir");
    let three = config(&dir, &THREE);
    with_config(&w, "init", &three).arg("--yes").run();
    let aws = Inspect::new(&w.moto.endpoint());

    // CloudFormation mode holds every role in one stack: --role is refused; --prune is
    // accepted (it lets a stack update delete the roles the stack no longer has), and no
    // stack is created over these roles.
    with_config(&w, "plan", &three)
        .args(["--mode", "cloudformation", "--role", "infra-plan"])
        .expect_exit(64)
        .expect_stderr_contains("--role narrows direct mode only")
        .expect_no_writes()
        .run();
    with_config(&w, "init", &three)
        .args(["--mode", "cloudformation", "--prune", "--yes"])
        .expect_exit(1)
        .expect_stderr_contains("already exist outside it")
        .expect_no_writes()
        .run();

    with_config(&w, "destroy", &three)
        .args(["--role", "nope", "--yes"])
        .expect_exit(64)
        .expect_stderr_contains("--role nope: no such role")
        .expect_no_writes()
        .run();

    with_config(&w, "destroy", &three)
        .args(["--role", "app-cdk", "--yes", "--delete-state"])
        .expect_stdout_contains("deleted")
        .run();
    assert_eq!(sorted_roles(&aws), ["infra-apply", "infra-plan"]);
    assert!(aws.inline_policy_names("infra-plan").len() == 1);
    assert_eq!(aws.provider_arns(), vec![w.provider_arn()]);
    assert!(aws.bucket_exists(BUCKET));
    assert!(aws.table_exists("terraform-state-lock"));

    // Again: nothing left to delete. Without --delete-state the state is kept for the same
    // reason, the roles that remain, and nothing suggests --delete-state would delete it.
    with_config(&w, "destroy", &three)
        .args(["--role", "app-cdk", "--yes"])
        .expect_stdout_lacks("--delete-state")
        .expect_no_writes()
        .run();

    // Every role, then the provider; the state stays.
    with_config(&w, "destroy", &three).arg("--yes").run();
    assert!(sorted_roles(&aws).is_empty());
    assert!(aws.provider_arns().is_empty());
    assert!(aws.bucket_exists(BUCKET));
}
