//! Sets own their roles: two teams' configurations (explicit `set`s) in one account, on one
//! provider and one state bucket. Neither team's plan, init, destroy or prune ever writes,
//! adopts or deletes the other's role, whatever `--force` or the role's other tags say; a role
//! a CloudFormation stack owns is never touched from direct mode; a team removes all of its
//! own roles without `--force` while the shared resources stay for the other. The end state is
//! read back with the AWS SDK.

use std::path::PathBuf;

use aws_sdk_iam::types::Tag;

use crate::common::fixture::{World, ENV_UUID, REPO_UUID, ROLE};
use crate::common::inspect::Inspect;
use crate::roles::with_config;
use crate::roles_prune::sorted_roles;

const B_REPO: &str = "{2b3c4d5e-6666-4f70-8a9b-0123456789ab}";

/// A bootstrap.toml of `set` with these roles (a name ending in `-plan` is a plan role, any
/// other an apply role), written as `<dir>/<file>`.
fn team(dir: &tempfile::TempDir, file: &str, set: &str, roles: &[&str]) -> PathBuf {
    let repo = if set == "team-a" { REPO_UUID } else { B_REPO };
    let mut text = format!("set = \"{set}\"\n");
    for name in roles {
        if name.ends_with("-plan") {
            text.push_str(&format!(
                "\n[[role]]\nname = \"{name}\"\naccess = \"plan\"\nrepository-uuid = [\"{repo}\"]\n"
            ));
        } else {
            text.push_str(&format!(
                "\n[[role]]\nname = \"{name}\"\nrepository-uuid = [\"{repo}\"]\nenvironment-uuid = [\"{ENV_UUID}\"]\n"
            ));
        }
    }
    let path = dir.path().join(file);
    std::fs::write(&path, text).expect("write config");
    path
}

fn tag_role(aws: &Inspect, role: &str, key: &str, value: &str) {
    let tag = Tag::builder().key(key).value(value).build().expect("tag");
    aws.block(aws.iam.tag_role().role_name(role).tags(tag).send())
        .expect("TagRole");
}

/// The reproduction: team B names team A's role `a-apply` in its own file.
#[test]
fn a_set_never_destroys_nor_adopts_another_sets_role_even_with_force() {
    let w = World::start_with_managed_policies();
    let dir = tempfile::tempdir().expect("tempdir");
    let a = team(&dir, "a.toml", "team-a", &["a-plan", "a-apply"]);
    let b = team(&dir, "b.toml", "team-b", &["b-plan", "a-apply"]);
    with_config(&w, "init", &a).arg("--yes").run();
    let aws = Inspect::new(&w.moto.endpoint());

    for force in [&[][..], &["--force"][..]] {
        with_config(&w, "destroy", &b)
            .args(["--role", "a-apply", "--yes"])
            .args(force)
            .expect_exit(64)
            .expect_stderr_contains("belongs to another set (tag bootstrap-set=team-a)")
            .expect_stderr_contains("set = ")
            .expect_no_writes()
            .run();
    }
    // Plain destroy of team B's settings: b-plan does not exist, a-apply is refused.
    with_config(&w, "destroy", &b)
        .args(["--yes", "--force", "--delete-state"])
        .expect_exit(64)
        .expect_stderr_contains("bootstrap-set=team-a")
        .expect_no_writes()
        .run();
    assert!(aws.role_exists("a-apply"));

    // Someone edits the managed-by tag: the set tag still says whose role it is.
    tag_role(&aws, "a-apply", "managed-by", "terraform");
    for (cmd, flag) in [
        ("plan", "--detailed-exitcode"),
        ("init", "--yes"),
        ("status", "--detailed-exitcode"),
    ] {
        with_config(&w, cmd, &b)
            .arg(flag)
            .expect_exit(1)
            .expect_stderr_contains("a-apply")
            .expect_stderr_contains("belongs to another set (tag bootstrap-set=team-a)")
            .expect_stdout_lacks("adopt")
            .expect_no_writes()
            .run();
    }
    let tags = aws.role_tags("a-apply");
    assert_eq!(tags["bootstrap-set"], "team-a", "{tags:?}");
    assert_eq!(tags["managed-by"], "terraform", "{tags:?}");
}

#[test]
fn a_set_removes_all_of_its_roles_without_force_and_the_shared_resources_stay() {
    let w = World::start_with_managed_policies();
    let dir = tempfile::tempdir().expect("tempdir");
    let a = team(&dir, "a.toml", "team-a", &["a-plan", "a-apply"]);
    let b = team(&dir, "b.toml", "team-b", &["b-plan", "b-apply"]);
    with_config(&w, "init", &a).arg("--yes").run();
    with_config(&w, "init", &b).arg("--yes").run();
    let aws = Inspect::new(&w.moto.endpoint());

    // One role, then the rest: no --force, and the output says why the provider stays.
    with_config(&w, "destroy", &a)
        .args(["--role", "a-apply", "--yes"])
        .run();
    with_config(&w, "destroy", &a)
        .args(["--yes", "--delete-state"])
        .expect_stdout_contains("deleted  a-plan")
        .expect_stdout_contains("kept     ")
        .expect_stdout_contains("b-apply, b-plan outside these settings")
        .run();
    assert_eq!(sorted_roles(&aws), ["b-apply", "b-plan"]);
    assert_eq!(aws.provider_arns(), vec![w.provider_arn()]);
    assert!(aws.bucket_exists(crate::common::fixture::BUCKET));
    assert!(aws.table_exists("terraform-state-lock"));
    // Again: nothing of team A's is left, nothing is written.
    with_config(&w, "destroy", &a)
        .args(["--yes", "--delete-state"])
        .expect_no_writes()
        .run();
    // Team B's roles still converge with nothing to change.
    with_config(&w, "plan", &b)
        .arg("--detailed-exitcode")
        .expect_no_writes()
        .run();
    // The last set takes the provider with it.
    with_config(&w, "destroy", &b).arg("--yes").run();
    assert!(aws.role_names().is_empty());
    assert!(aws.provider_arns().is_empty());
}

#[test]
fn prune_needs_an_explicit_set() {
    let w = World::start();
    w.test("init")
        .args(["--yes", "--prune"])
        .expect_exit(64)
        .expect_stderr_contains("--prune needs an explicit set")
        .expect_stderr_contains("set = \"<team>\"")
        .expect_no_writes()
        .run();
    w.test("init")
        .args(["--yes", "--prune", "--set", "team-a"])
        .run();
}

/// Everything of a role that a write could change, read through plain moto. The inline
/// policies as stored: moto keeps a stack's as text that is not JSON.
fn role_state(aws: &Inspect, role: &str) -> serde_json::Value {
    let inline: Vec<serde_json::Value> = aws
        .inline_policy_names(role)
        .iter()
        .map(|name| {
            let call = aws.iam.get_role_policy().role_name(role).policy_name(name);
            let out = aws.block(call.send()).expect("GetRolePolicy");
            serde_json::json!([name, out.policy_document()])
        })
        .collect();
    serde_json::json!({
        "trust": aws.trust_policy(role),
        "settings": format!("{:?}", aws.role_settings(role)),
        "inline": inline,
        "attached": aws.attached_policy_arns(role),
        "tags": aws.role_tags(role),
    })
}

/// The stack's role carries only what the template gives it: CloudFormation puts no
/// `aws:cloudformation:*` tags on IAM roles (cloudformation-coverage-roadmap #277, #1159,
/// #1966), so direct mode knows it by the template's `bootstrap-stack` tag, which moto applies
/// from the role's `Tags` as CloudFormation does.
#[test]
fn direct_mode_never_touches_a_role_a_stack_owns() {
    let w = World::start();
    let stack = "bitbucket-oidc-bootstrap";
    w.test("init")
        .args(["--yes", "--set", "infra", "--mode", "cloudformation"])
        .run();
    let aws = Inspect::new(&w.moto.plain_endpoint());
    let tags = aws.role_tags(ROLE);
    assert_eq!(tags.get("bootstrap-stack").map(String::as_str), Some(stack));
    assert!(
        !tags.keys().any(|k| k.starts_with("aws:")),
        "the test must not rely on aws:cloudformation:* tags: {tags:?}"
    );
    let before = role_state(&aws, ROLE);
    let owned = format!("CloudFormation stack {stack} (tag bootstrap-stack)");
    let fix = format!("--mode cloudformation --stack-name {stack}");

    // The same set and role name in direct mode: not written, not adopted.
    w.test("plan")
        .args(["--set", "infra", "--mode", "direct"])
        .expect_exit(1)
        .expect_stderr_contains(format!("not written: it belongs to the {owned}"))
        .expect_stderr_contains(&fix)
        .expect_no_writes()
        .run();
    // Not destroyed, by name or with every role, even with --force.
    for args in [
        &["--role", ROLE][..],
        &["--role", ROLE, "--force"][..],
        &["--force"][..],
    ] {
        w.test("destroy")
            .args(["--set", "infra", "--mode", "direct", "--yes"])
            .args(args)
            .expect_exit(64)
            .expect_stderr_contains(&owned)
            .expect_stderr_contains(&fix)
            .expect_no_writes()
            .run();
    }
    // Not pruned: a role of this set, but the stack's, so not stale; said, naming the stack.
    w.test("init")
        .args(["--set", "infra", "--mode", "direct"])
        .args(["--role-name", "direct-deploy", "--yes", "--prune"])
        .expect_stdout_lacks("pruned")
        .expect_stderr_contains(format!(
            "role {ROLE} (tagged bootstrap-set=infra) is not stale and left alone: it belongs to the {owned}"
        ))
        .expect_stderr_contains(&fix)
        .run();
    assert_eq!(sorted_roles(&aws), [ROLE, "direct-deploy"]);
    assert_eq!(role_state(&aws, ROLE), before);
}

/// Team A keeps noncurrent versions 30 days, team B says nothing (90): B is told whose
/// settings stand, and neither run flips the other's (each `status` stays in sync).
#[test]
fn the_set_that_configures_the_shared_bucket_keeps_its_settings() {
    let w = World::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let a = team(&dir, "a.toml", "team-a", &["a-apply"]);
    let text = std::fs::read_to_string(&a).expect("read");
    std::fs::write(&a, format!("noncurrent-days = 30\n{text}")).expect("write");
    let b = team(&dir, "b.toml", "team-b", &["b-apply"]);
    let bucket = crate::common::fixture::BUCKET;
    with_config(&w, "init", &a).arg("--yes").run();
    let aws = Inspect::new(&w.moto.endpoint());
    assert_eq!(aws.bucket_tags(bucket)["bootstrap-set"], "team-a");

    let told = "state bucket tf-state-test: configured by set team-a (tag bootstrap-set=team-a), whose settings stand: noncurrent versions expire after 30 days (these settings say 90, noncurrent-days)";
    with_config(&w, "init", &b)
        .arg("--yes")
        .expect_stderr_contains(told)
        .run();
    assert_eq!(aws.lifecycle_noncurrent_days(bucket), [Some(30)]);
    assert_eq!(aws.bucket_tags(bucket)["bootstrap-set"], "team-a");
    for config in [&a, &b] {
        with_config(&w, "status", config)
            .arg("--detailed-exitcode")
            .expect_no_writes()
            .run();
        with_config(&w, "init", config)
            .arg("--yes")
            .expect_no_writes()
            .run();
    }
    // The owner changes its own setting; the plan line shows days, never `Some(..)`.
    let text = std::fs::read_to_string(&a).expect("read");
    std::fs::write(
        &a,
        text.replace("noncurrent-days = 30", "noncurrent-days = 45"),
    )
    .expect("write");
    with_config(&w, "plan", &a)
        .arg("--detailed-exitcode")
        .expect_exit(2)
        .expect_stdout_contains("noncurrent 30 days, abort uploads 7 days -> ")
        .expect_stdout_contains("noncurrent 45 days")
        .expect_stdout_lacks("Some(")
        .expect_no_writes()
        .run();
}
