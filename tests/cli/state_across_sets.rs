//! State across sets: default prefixes are unique within one configuration only, and
//! explicit ones may nest. A role of one set is never given a state place that a role of
//! another set holds in the same bucket (the same prefix, one inside the other, or both at the
//! top of the bucket): `plan` and `init` refuse it with exit 64 before any write, naming the
//! other role and its set.

use std::path::PathBuf;

use crate::common::fixture::{World, ENV_UUID, REPO_UUID, ROLE};
use crate::common::inspect::Inspect;
use crate::roles::with_config;

const B_REPO: &str = "{2b3c4d5e-6666-4f70-8a9b-0123456789ab}";

/// A bootstrap.toml of `set` whose roles (name, access, explicit state-key-prefix) trust
/// `repo`, written as `<dir>/<file>`.
fn config(
    dir: &tempfile::TempDir,
    file: &str,
    set: &str,
    repo: &str,
    roles: &[(&str, &str, Option<&str>)],
) -> PathBuf {
    let mut text = format!("set = \"{set}\"\n");
    for (name, access, prefix) in roles {
        text.push_str(&format!(
            "\n[[role]]\nname = \"{name}\"\naccess = \"{access}\"\nrepository-uuid = [\"{repo}\"]\nenvironment-uuid = [\"{ENV_UUID}\"]\n"
        ));
        if let Some(p) = prefix {
            text.push_str(&format!("state-key-prefix = \"{p}\"\n"));
        }
    }
    let path = dir.path().join(file);
    std::fs::write(&path, text).expect("write config");
    path
}

/// Set B's role `web` (prefix `web`) exists; set A's pair `web-plan`/`web-apply` would get the
/// default prefix `web` too. Refused in plan and init, with no write; with a prefix of their
/// own, set A converges, and each set's roles are confined to their own prefix.
#[test]
fn a_pair_s_default_prefix_is_refused_when_another_set_s_role_holds_it() {
    let w = World::start_with_managed_policies();
    let dir = tempfile::tempdir().expect("tempdir");
    let b = pair_refused_beside_team_b_web(&w, &dir, &[]);
    let aws = Inspect::new(&w.moto.endpoint());
    assert!(!aws.role_exists("web-plan") && !aws.role_exists("web-apply"));

    let own = [
        ("web-plan", "plan", Some("team-a/web")),
        ("web-apply", "apply", Some("team-a/web")),
    ];
    let a = config(&dir, "a.toml", "team-a", REPO_UUID, &own);
    with_config(&w, "init", &a).arg("--yes").run();
    assert_eq!(
        aws.role_tags("web-apply")
            .get("bootstrap-state-prefix")
            .map(String::as_str),
        Some("team-a/web")
    );
    // Set B's own re-run sees set A's roles in their own place: nothing to refuse, nothing to
    // write.
    with_config(&w, "init", &b)
        .arg("--yes")
        .expect_no_writes()
        .run();
}

/// Explicit prefixes that nest (`team` holds `team/app`) across sets are refused whichever
/// set comes second.
#[test]
fn nested_explicit_prefixes_of_two_sets_are_refused() {
    let w = World::start_with_managed_policies();
    let dir = tempfile::tempdir().expect("tempdir");
    let a = config(
        &dir,
        "a.toml",
        "team-a",
        REPO_UUID,
        &[("a", "apply", Some("team"))],
    );
    let b = config(
        &dir,
        "b.toml",
        "team-b",
        B_REPO,
        &[("b", "apply", Some("team/app"))],
    );
    with_config(&w, "init", &a).arg("--yes").run();
    with_config(&w, "plan", &b)
        .expect_exit(64)
        .expect_stderr_contains("role b")
        .expect_stderr_contains("would be shared with role a of set team-a")
        .expect_stderr_contains("s3://tf-state-test/team/")
        .expect_no_writes()
        .run();
}

/// Two single-role configurations of different sets on one bucket would both keep
/// `terraform.tfstate` at its top: the second is refused, and with `--state-key-prefix` it
/// converges beside the first.
#[test]
fn two_sets_never_share_the_top_of_the_bucket() {
    let w = World::start();
    w.test("init").args(["--set", "legacy-a", "--yes"]).run();
    let second = |extra: &[&str]| {
        w.test("init")
            .args(["--set", "legacy-b", "--role-name", "deploy-b", "--yes"])
            .args(extra)
    };
    second(&[])
        .expect_exit(64)
        .expect_stderr_contains("role deploy-b")
        .expect_stderr_contains(format!("would be shared with role {ROLE} of set legacy-a"))
        .expect_stderr_contains("s3://tf-state-test/terraform.tfstate")
        .expect_no_writes()
        .run();
    second(&["--state-key-prefix", "legacy-b"]).run();
    let aws = Inspect::new(&w.moto.endpoint());
    assert!(aws.role_exists("deploy-b"));
}

/// The same holds for a CloudFormation stack's roles: set A's stack of the pair
/// `web-plan`/`web-apply` is refused while set B's role `web` keeps its state at `web/`,
/// before any stack is made.
#[test]
fn a_stack_s_roles_are_refused_a_prefix_another_set_s_role_holds() {
    let w = World::start_with_managed_policies();
    let dir = tempfile::tempdir().expect("tempdir");
    pair_refused_beside_team_b_web(&w, &dir, &["--mode", "cloudformation"]);
}

/// Set B's role `web` made; set A's pair `web-plan`/`web-apply` (default prefix `web`) then
/// refused by `plan` and `init` with `extra`, before any write. Set B's configuration.
fn pair_refused_beside_team_b_web(w: &World, dir: &tempfile::TempDir, extra: &[&str]) -> PathBuf {
    let b = config(dir, "b.toml", "team-b", B_REPO, &[("web", "apply", None)]);
    with_config(w, "init", &b).arg("--yes").run();
    let pair = [("web-plan", "plan", None), ("web-apply", "apply", None)];
    let a = config(dir, "a.toml", "team-a", REPO_UUID, &pair);
    for (cmd, flag) in [("plan", "--detailed-exitcode"), ("init", "--yes")] {
        with_config(w, cmd, &a)
            .args(extra)
            .arg(flag)
            .expect_exit(64)
            .expect_stderr_contains("role web-plan")
            .expect_stderr_contains("would be shared with role web of set team-b")
            .expect_stderr_contains("s3://tf-state-test/web/")
            .expect_stderr_contains("state-key-prefix")
            .expect_no_writes()
            .run();
    }
    b
}
