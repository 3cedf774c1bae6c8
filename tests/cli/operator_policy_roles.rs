//! `bootstrap operator-policy` for configured roles (see `operator_policy.rs`): three roles
//! need nothing outside the policy, and `--include-prune` deletes only the roles of this set.

use crate::common::authz::{assert_all_allowed, Env};
use crate::common::fixture::World;
use crate::operator_policy::{allowed, assert_not_trivially_permissive, ACCOUNT};
use crate::roles::{three_roles, with_config};
use bootstrap::iam::Access;
use serde_json::{json, Value};

/// `bootstrap operator-policy --config FILE <extra>` with the three-role configuration.
fn roles_policy(w: &World, config: &std::path::Path, extra: &[&str]) -> Value {
    let out = with_config(w, "operator-policy", config)
        .args(["--account-id", ACCOUNT])
        .args(extra)
        .run();
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("not a policy: {e}\n{out:?}"))
}

/// Run `bootstrap <cmd> --config FILE <extra>` while recording and judge every request.
fn judged_config(w: &World, policy: &Value, config: &std::path::Path, cmd: &str, extra: &[&str]) {
    w.moto.start_recording();
    with_config(w, cmd, config).args(extra).run();
    w.moto.stop_recording();
    assert_all_allowed(
        policy,
        &w.moto.recorded_requests(),
        &Env::moto(&w.region),
        &format!("bootstrap {cmd} --config (three roles) {}", extra.join(" ")),
    );
}

#[test]
fn three_configured_roles_need_nothing_outside_the_operator_policy() {
    let w = World::start_with_managed_policies();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = three_roles(&dir);
    let role = |name: &str| format!("arn:aws:iam::{ACCOUNT}:role/{name}");
    let names = ["infra-plan", "infra-apply", "app-cdk"];

    let json = with_config(&w, "operator-policy", &config)
        .args(["--account-id", ACCOUNT, "--output", "json"])
        .run();
    assert_eq!(
        json.json()["roles"],
        json!(names.iter().map(|n| role(n)).collect::<Vec<_>>())
    );
    let policy = roles_policy(&w, &config, &[]);
    assert_not_trivially_permissive(&policy);
    for name in names {
        assert!(
            allowed(
                &policy,
                Access::new("iam:UpdateAssumeRolePolicy", role(name))
            ),
            "{name} cannot be written: {policy:#}"
        );
    }

    judged_config(&w, &policy, &config, "init", &["--yes"]);
    judged_config(&w, &policy, &config, "init", &["--yes"]);
    judged_config(&w, &policy, &config, "status", &["--detailed-exitcode"]);
    judged_config(&w, &policy, &config, "plan", &["--detailed-exitcode"]);

    // Each role may be given its own managed policies only: ReadOnlyAccess to the plan role.
    let read_only = ["arn:aws:iam::aws:policy/ReadOnlyAccess"];
    let attach = |name: &str, arns: [&str; 1]| {
        allowed(
            &policy,
            Access::new("iam:AttachRolePolicy", role(name)).with("iam:PolicyARN", arns),
        )
    };
    assert!(attach("infra-plan", read_only));
    assert!(!attach("infra-apply", read_only));
    assert!(!attach("app-cdk", read_only));
    assert!(!attach(
        "infra-plan",
        ["arn:aws:iam::aws:policy/AdministratorAccess"]
    ));
    assert!(!allowed(
        &policy,
        Access::new("iam:PutRolePolicy", role("other"))
    ));
}

#[test]
fn include_prune_deletes_only_the_roles_of_this_set() {
    let w = World::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = three_roles(&dir);
    let stale = format!("arn:aws:iam::{ACCOUNT}:role/stale");
    let tagged = |set: &str, managed_by: &str| {
        Access::new("iam:DeleteRole", &stale)
            .with("iam:ResourceTag/bootstrap-set", [set])
            .with("iam:ResourceTag/managed-by", [managed_by])
    };

    let without = roles_policy(&w, &config, &["--set", "team-a"]);
    assert!(!allowed(&without, tagged("team-a", "bootstrap")));

    let policy = roles_policy(&w, &config, &["--set", "team-a", "--include-prune"]);
    assert_not_trivially_permissive(&policy);
    for action in [
        "iam:DeleteRole",
        "iam:DeleteRolePolicy",
        "iam:DetachRolePolicy",
    ] {
        let mut access = tagged("team-a", "bootstrap");
        access.action = action.to_string();
        assert!(allowed(&policy, access), "{action}: {policy:#}");
    }
    assert!(!allowed(&policy, tagged("team-b", "bootstrap")));
    assert!(!allowed(&policy, tagged("team-a", "someone")));
    assert!(!allowed(&policy, Access::new("iam:DeleteRole", &stale)));
    // Reading any role's tags is how the roles of this set are told from the others.
    assert!(allowed(&policy, Access::new("iam:ListRoleTags", &stale)));

    // In CloudFormation mode, init --prune lets the stack update delete such a role, with
    // the caller's permissions: the same grant, for the same roles only.
    let stack = roles_policy(
        &w,
        &config,
        &[
            "--set",
            "team-a",
            "--include-prune",
            "--mode",
            "cloudformation",
        ],
    );
    assert!(allowed(&stack, tagged("team-a", "bootstrap")), "{stack:#}");
    assert!(!allowed(&stack, tagged("team-b", "bootstrap")));

    let covers = with_config(&w, "operator-policy", &config)
        .args(["--include-prune", "--output", "json"])
        .run();
    assert!(covers.json()["covers"]
        .as_array()
        .expect("covers")
        .iter()
        .any(|c| c == "init --prune"));
}

/// From ten roles on, the roles are read with account-wide listings
/// (`iam:GetAccountAuthorizationDetails`): the operator policy of such a configuration grants
/// them, and every call of `init`, `status` and `plan` is within it.
#[test]
fn twelve_configured_roles_read_in_bulk_need_nothing_outside_the_operator_policy() {
    let w = World::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = crate::scale::roles_config(&dir, 12);
    let policy = roles_policy(&w, &config, &[]);
    assert_not_trivially_permissive(&policy);
    assert!(allowed(
        &policy,
        Access::new("iam:GetAccountAuthorizationDetails", "*")
    ));
    judged_config(&w, &policy, &config, "init", &["--yes"]);
    w.moto.start_recording();
    with_config(&w, "plan", &config).run();
    w.moto.stop_recording();
    let bulk = w
        .moto
        .recorded_requests()
        .iter()
        .any(|r| crate::common::moto::classify(r).1 == "GetAccountAuthorizationDetails");
    assert!(bulk, "plan of twelve roles did not read them in bulk");
    judged_config(&w, &policy, &config, "status", &["--detailed-exitcode"]);
    judged_config(&w, &policy, &config, "plan", &["--detailed-exitcode"]);
}
