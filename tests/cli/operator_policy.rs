//! `bootstrap operator-policy`, proven on the tool's own runs: every AWS request `init`
//! (first run and re-run), `plan`, `status` and `destroy` make in direct and CloudFormation
//! mode is recorded by moto and judged against the printed policy with the project's IAM
//! evaluator (tests/common/authz.rs). Nothing outside the policy may be needed, and the
//! policy is not trivially permissive. Configured roles are in `operator_policy_roles.rs`.

use serde_json::{json, Value};

use crate::common::authz::{assert_all_allowed, Env};
use crate::common::aws::{create_kms_key, strings};
use crate::common::fixture::{World, ROLE};
use bootstrap::iam::{evaluate_access, Access};

pub const ACCOUNT: &str = "123456789012";

/// `bootstrap operator-policy <setup flags> <extra>`: the policy on stdout (text output).
fn operator_policy(w: &World, extra: &[&str]) -> Value {
    let out = w.test("operator-policy").args(extra).run();
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("text output is not the policy document: {e}\n{out:?}"))
}

/// Run `bootstrap <cmd>` while recording, expect `code`, and judge every request it made.
fn judged(w: &World, policy: &Value, cmd: &str, extra: &[&str], code: i32) {
    w.moto.start_recording();
    w.test(cmd).args(extra).expect_exit(code).run();
    w.moto.stop_recording();
    assert_all_allowed(
        policy,
        &w.moto.recorded_requests(),
        &Env::moto(&w.region),
        &format!("bootstrap {cmd} {}", extra.join(" ")),
    );
}

/// No `*` action anywhere; `Resource: "*"` only on read-only listing actions IAM cannot
/// scope; every iam write names a resource.
pub fn assert_not_trivially_permissive(policy: &Value) {
    for st in policy["Statement"].as_array().expect("statements") {
        assert_eq!(st["Effect"], "Allow", "{st}");
        assert!(
            st.get("NotAction").is_none() && st.get("NotResource").is_none(),
            "{st}"
        );
        let actions = strings(&st["Action"]);
        assert!(
            actions.iter().all(|a| !a.contains('*')),
            "wildcard action in {st}"
        );
        let resources = strings(&st["Resource"]);
        if resources.iter().any(|r| r == "*") {
            assert!(
                actions
                    .iter()
                    .all(|a| a.starts_with("iam:List") || a == "iam:GetAccountAuthorizationDetails"),
                "Resource \"*\" on more than listing: {st}"
            );
        }
        // Every role: only to read its tags and state policy, or to prune the roles of this set.
        let this_set = st["Condition"]["StringEquals"]
            .get("iam:ResourceTag/bootstrap-set")
            .is_some();
        let reads_tags = actions == ["iam:ListRoleTags", "iam:GetRolePolicy"];
        for r in &resources {
            assert!(
                !r.ends_with(":*:*") && (!r.ends_with(":role/*") || this_set || reads_tags),
                "resource {r} names no resource of this setup: {st}"
            );
        }
    }
}

pub fn allowed(policy: &Value, access: Access) -> bool {
    evaluate_access(policy, &access).allowed
}

/// The document of a customer-managed policy (reads in another bucket): a `--policy-arn` or
/// `--permissions-boundary` for the runs, or a policy attached by hand.
fn app_policy() -> Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::app/*"}]})
}

fn create_policy(w: &World, name: &str) -> String {
    w.clients().create_policy(name, &app_policy())
}

#[test]
fn direct_mode_runs_need_nothing_outside_the_operator_policy() {
    let w = World::start();
    let deploy = create_policy(&w, "deploy-app");
    let boundary = create_policy(&w, "deploy-boundary");
    let settings = [
        "--policy-arn",
        deploy.as_str(),
        "--permissions-boundary",
        boundary.as_str(),
    ];
    let with = |extra: &[&str]| joined(&settings, extra);

    let policy = operator_policy(&w, &as_strs(&with(&["--account-id", ACCOUNT])));
    assert_not_trivially_permissive(&policy);
    let destroy_policy = operator_policy(
        &w,
        &as_strs(&with(&["--account-id", ACCOUNT, "--include-destroy"])),
    );
    let delete_state_policy = operator_policy(
        &w,
        &as_strs(&with(&["--account-id", ACCOUNT, "--include-delete-state"])),
    );
    assert_not_trivially_permissive(&delete_state_policy);

    // A first run with another setting, so that the lifecycle's first init converges a
    // changed setting under the same policy.
    judged(
        &w,
        &policy,
        "init",
        &as_strs(&with(&["--yes", "--max-session-duration", "7200"])),
        0,
    );
    judged_lifecycle(&w, &settings, &policy, &destroy_policy, &[]);
    judged(
        &w,
        &delete_state_policy,
        "destroy",
        &as_strs(&with(&["--yes", "--delete-state"])),
        0,
    );

    // The escalation paths stay closed: no role without the boundary, no other policy
    // attached, no other role written, nothing deleted without --include-destroy.
    let role = format!("arn:aws:iam::{ACCOUNT}:role/{ROLE}");
    assert!(allowed(
        &policy,
        Access::new("iam:CreateRole", &role).with("iam:PermissionsBoundary", [boundary.as_str()])
    ));
    assert!(!allowed(&policy, Access::new("iam:CreateRole", &role)));
    assert!(!allowed(
        &policy,
        Access::new("iam:DeleteRolePermissionsBoundary", &role)
    ));
    assert!(!allowed(
        &policy,
        Access::new("iam:AttachRolePolicy", &role).with(
            "iam:PolicyARN",
            ["arn:aws:iam::aws:policy/AdministratorAccess"]
        )
    ));
    assert!(!allowed(
        &policy,
        Access::new(
            "iam:PutRolePolicy",
            format!("arn:aws:iam::{ACCOUNT}:role/other")
        )
    ));
    assert!(!allowed(&policy, Access::new("iam:DeleteRole", &role)));
    assert!(allowed(
        &destroy_policy,
        Access::new("iam:DeleteRole", &role)
    ));
    assert!(!allowed(
        &destroy_policy,
        Access::new("s3:DeleteBucket", "arn:aws:s3:::tf-state-test")
    ));
}

/// Put a hand-made inline policy on the tool's role and attach a customer-managed one, out
/// of band (the adoption case: what someone else put on the role).
fn hand_made_policies(w: &World) -> String {
    let aws = w.clients();
    let managed = aws.attach_new_policy(ROLE, "hand-attached", &app_policy());
    aws.put_role_policy(
        ROLE,
        "hand-made",
        json!({"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}),
    );
    managed
}

#[test]
fn a_role_with_hand_made_policies_needs_nothing_outside_the_operator_policy() {
    let w = World::start();
    let policy = operator_policy(&w, &["--account-id", ACCOUNT]);
    assert_not_trivially_permissive(&policy);
    w.test("init").args(["--yes"]).run();
    let managed = hand_made_policies(&w);

    // plan and status read every policy on the role (the managed one's document too);
    // init then removes both.
    judged(&w, &policy, "plan", &["--detailed-exitcode"], 2);
    assert!(
        w.moto
            .recorded_requests()
            .iter()
            .any(|r| r.param("PolicyArn").as_deref() == Some(managed.as_str())),
        "plan did not read the hand-attached policy {managed}"
    );
    judged(&w, &policy, "status", &[], 0);
    judged(&w, &policy, "init", &["--yes"], 0);
    judged(&w, &policy, "status", &["--detailed-exitcode"], 0);

    // Reading any policy is not writing one.
    let any = format!("arn:aws:iam::{ACCOUNT}:policy/any");
    assert!(allowed(&policy, Access::new("iam:GetPolicyVersion", &any)));
    assert!(!allowed(
        &policy,
        Access::new("iam:CreatePolicyVersion", &any)
    ));
    assert!(!allowed(
        &policy,
        Access::new("iam:GetPolicy", "arn:aws:iam::210987654321:policy/any")
    ));
}

#[test]
fn a_stacks_role_with_hand_made_policies_needs_nothing_outside_the_operator_policy() {
    let w = World::start();
    let settings = ["--mode", "cloudformation"];
    let policy = operator_policy(&w, &["--mode", "cloudformation", "--account-id", ACCOUNT]);
    w.test("init")
        .args(["--mode", "cloudformation", "--yes"])
        .run();
    hand_made_policies(&w);
    // status and plan read every policy on the stack's role to show the foreign ones.
    judged(&w, &policy, "status", &settings, 0);
    judged(
        &w,
        &policy,
        "plan",
        &["--mode", "cloudformation", "--detailed-exitcode"],
        2,
    );
}

/// `init`, a no-op re-run, `status` and `plan` judged against `policy`, then `destroy`
/// (with `destroy_extra`) against `destroy_policy`.
fn judged_lifecycle(
    w: &World,
    settings: &[&str],
    policy: &Value,
    destroy_policy: &Value,
    destroy_extra: &[&str],
) {
    let with = |extra: &[&str]| joined(settings, extra);
    judged(w, policy, "init", &as_strs(&with(&["--yes"])), 0);
    judged(w, policy, "init", &as_strs(&with(&["--yes"])), 0);
    judged(w, policy, "status", &as_strs(&with(&[])), 0);
    judged(
        w,
        policy,
        "plan",
        &as_strs(&with(&["--detailed-exitcode"])),
        0,
    );
    let mut destroy = vec!["--yes"];
    destroy.extend(destroy_extra);
    judged(w, destroy_policy, "destroy", &as_strs(&with(&destroy)), 0);
}

/// `settings` then `extra`, as owned arguments.
fn joined(settings: &[&str], extra: &[&str]) -> Vec<String> {
    settings
        .iter()
        .chain(extra)
        .map(ToString::to_string)
        .collect()
}

fn as_strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn direct_mode_without_table_with_kms_and_prefix_needs_nothing_outside_the_operator_policy() {
    let w = World::start();
    let key = create_kms_key(&w.moto, &w.region);
    let settings = [
        "--no-lock-table",
        "--kms-key",
        key.as_str(),
        "--state-key-prefix",
        "team/app",
    ];
    let with = |extra: &[&str]| joined(&settings, extra);
    // Without --account-id the ARNs match any account; the runs need nothing more.
    let policy = operator_policy(&w, &as_strs(&with(&["--include-delete-state"])));
    assert_not_trivially_permissive(&policy);
    assert!(
        !policy.to_string().contains("dynamodb:"),
        "no table, no DynamoDB grant: {policy:#}"
    );
    judged_lifecycle(&w, &settings, &policy, &policy, &["--delete-state"]);
}

#[test]
fn cloudformation_mode_runs_need_nothing_outside_the_operator_policy() {
    let w = World::start_with_faults();
    let key = create_kms_key(&w.moto, &w.region);
    // The stack's --policy-arn and --permissions-boundary are read (iam:GetPolicy) before
    // any stack call, as in direct mode.
    let deploy = create_policy(&w, "deploy-app");
    let boundary = create_policy(&w, "deploy-boundary");
    let settings = [
        "--mode",
        "cloudformation",
        "--kms-key",
        key.as_str(),
        "--policy-arn",
        deploy.as_str(),
        "--permissions-boundary",
        boundary.as_str(),
    ];
    let with = |extra: &[&str]| joined(&settings, extra);
    let policy = operator_policy(&w, &as_strs(&with(&["--account-id", ACCOUNT])));
    assert_not_trivially_permissive(&policy);
    assert!(allowed(&policy, Access::new("iam:GetPolicy", &boundary)));
    let stack =
        format!("arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/bitbucket-oidc-bootstrap/x");
    assert!(allowed(
        &policy,
        Access::new("cloudformation:CreateChangeSet", &stack)
    ));
    assert!(!allowed(
        &policy,
        Access::new(
            "cloudformation:CreateChangeSet",
            format!("arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/other/x")
        )
    ));
    let destroy_policy = operator_policy(
        &w,
        &as_strs(&with(&["--account-id", ACCOUNT, "--include-destroy"])),
    );

    judged_lifecycle(&w, &settings, &policy, &destroy_policy, &[]);
}

#[test]
fn the_policy_is_the_whole_text_output_and_wrapped_in_json() {
    let w = World::start();
    let text = w
        .test("operator-policy")
        .args(["--account-id", ACCOUNT])
        .run();
    let doc: Value = serde_json::from_str(&text.stdout).expect("text output is the policy");
    assert_eq!(doc["Version"], "2012-10-17");

    let json = w
        .test("operator-policy")
        .args(["--account-id", ACCOUNT, "--output", "json"])
        .run();
    let wrapped = json.json();
    assert_eq!(wrapped["policy"], doc);
    assert_eq!(wrapped["mode"], "direct");
    assert_eq!(wrapped["account"], ACCOUNT);
    assert_eq!(
        wrapped["roles"],
        json!([format!("arn:aws:iam::{ACCOUNT}:role/{ROLE}")])
    );
    assert!(!wrapped["covers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c == "destroy"));

    // No account id: "*" in the ARNs, said on stderr; no AWS call either way.
    w.moto.start_recording();
    let any = w.test("operator-policy").run();
    assert!(w.moto.recorded_requests().is_empty());
    assert!(any.stderr.contains("--account-id"), "{any:?}");
    assert!(
        any.stdout.contains(&format!("arn:aws:iam::*:role/{ROLE}")),
        "{any:?}"
    );

    // A bad account id is a usage error.
    w.test("operator-policy")
        .args(["--account-id", "12"])
        .expect_exit(64)
        .run();
}
