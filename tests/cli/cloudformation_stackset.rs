//! StackSets against moto: create the StackSet and its instances, report per account, a
//! no-op re-run, and adding an account later deploys to that account only.

use crate::common;
use crate::common::Test;

use crate::common::fixture::World;

pub const SET: &str = "bitbucket-oidc-org";
pub const A: &str = "111111111111";
pub const B: &str = "222222222222";
const C: &str = "333333333333";

/// `(account, region, status)` of every instance, read directly.
fn instances(w: &World) -> Vec<(String, String, String)> {
    let aws = w.clients();
    let out = aws
        .block_on(
            aws.cloudformation
                .list_stack_instances()
                .stack_set_name(SET)
                .send(),
        )
        .unwrap();
    let mut v: Vec<_> = out
        .summaries()
        .iter()
        .map(|s| {
            (
                s.account().unwrap().to_string(),
                s.region().unwrap().to_string(),
                s.status().unwrap().as_str().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

/// `bootstrap CMD` with the setup flags and the StackSet's (`--stackset SET --accounts
/// ACCOUNTS --regions eu-west-1`): no --state-bucket (each account gets its own bucket name).
pub fn stackset<'w>(w: &'w World, cmd: &str, accounts: &str, extra: &[&str]) -> Test<'w> {
    let mut args = vec![cmd.to_string()];
    let flags = w.setup_flags();
    let mut i = 0;
    while i < flags.len() {
        if flags[i] == "--state-bucket" {
            i += 2;
            continue;
        }
        args.push(flags[i].clone());
        i += 1;
    }
    for a in [
        "--stackset",
        SET,
        "--accounts",
        accounts,
        "--regions",
        "eu-west-1",
    ] {
        args.push(a.to_string());
    }
    args.extend(extra.iter().map(ToString::to_string));
    Test::new().args(args).moto(&w.moto)
}

#[test]
#[allow(clippy::too_many_lines, reason = "one scenario, in order")]
fn stackset_with_instances_reports_per_account_and_reruns_as_a_no_op() {
    let w = World::start();
    let accounts = format!("{A},{B}");
    stackset(&w, "plan", &accounts, &["--detailed-exitcode"])
        .expect_exit(2)
        .expect_stdout_contains(format!("StackSet {SET} (does not exist): create it"))
        .expect_stdout_contains(format!("+ instance {A} in eu-west-1"))
        .run();

    w.moto.start_recording();
    let out = stackset(&w, "init", &accounts, &["--yes", "--output", "json"]).run();
    let doc = out.json();
    let reported: Vec<(String, String, String)> = doc["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["account"].as_str().unwrap().to_string(),
                i["role_arn"].as_str().unwrap().to_string(),
                i["state_bucket"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        reported,
        [
            (
                A.to_string(),
                format!("arn:aws:iam::{A}:role/bitbucket-pipelines-deploy"),
                format!("terraform-state-{A}-eu-west-1-an")
            ),
            (
                B.to_string(),
                format!("arn:aws:iam::{B}:role/bitbucket-pipelines-deploy"),
                format!("terraform-state-{B}-eu-west-1-an")
            ),
        ]
    );
    let results = doc["result"]["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "one result per account: {doc}");
    assert!(results.iter().all(|r| r["status"] == "SUCCEEDED"), "{doc}");
    assert_eq!(
        instances(&w),
        [
            (A.into(), "eu-west-1".into(), "CURRENT".into()),
            (B.into(), "eu-west-1".into(), "CURRENT".into())
        ]
    );
    // What was sent: the StackSet with the account-neutral template, then the instances.
    let requests = w.moto.recorded_requests();
    let create = requests
        .iter()
        .find(|r| r.param("Action").as_deref() == Some("CreateStackSet"))
        .expect("CreateStackSet");
    assert_eq!(
        create.param("PermissionModel").as_deref(),
        Some("SELF_MANAGED")
    );
    assert_eq!(
        create.param("Capabilities.member.1").as_deref(),
        Some("CAPABILITY_NAMED_IAM")
    );
    let body = create.param("TemplateBody").unwrap();
    assert!(
        body.contains("terraform-state-${AWS::AccountId}-${AWS::Region}"),
        "{body}"
    );
    assert!(
        !body.contains("123456789012"),
        "no fixed account in a StackSet template"
    );
    let instances_req = requests
        .iter()
        .find(|r| r.param("Action").as_deref() == Some("CreateStackInstances"))
        .expect("CreateStackInstances");
    assert_eq!(instances_req.param("Accounts.member.1").as_deref(), Some(A));
    assert_eq!(instances_req.param("Accounts.member.2").as_deref(), Some(B));
    assert_eq!(
        instances_req.param("Regions.member.1").as_deref(),
        Some("eu-west-1")
    );

    w.moto.start_recording();
    stackset(&w, "init", &accounts, &["--yes"])
        .expect_stdout_contains("nothing to change")
        .run();
    assert_eq!(w.moto.mutating_calls(), Vec::<(String, String)>::new());

    // A third account later: only its instance is added; the template is not touched.
    w.moto.start_recording();
    let out = stackset(&w, "init", &format!("{A},{B},{C}"), &["--yes"]).run();
    let mutating: Vec<String> = w
        .moto
        .mutating_calls()
        .into_iter()
        .map(|(_, op)| op)
        .collect();
    assert_eq!(mutating, ["CreateStackInstances"], "{out:?}");
    let req = w
        .moto
        .recorded_requests()
        .into_iter()
        .find(|r| r.param("Action").as_deref() == Some("CreateStackInstances"))
        .unwrap();
    assert_eq!(req.param("Accounts.member.1").as_deref(), Some(C));
    assert_eq!(req.param("Accounts.member.2"), None);
    assert_eq!(instances(&w).len(), 3);

    let out = stackset(&w, "status", &format!("{A},{B},{C}"), &["--output", "json"]).run();
    assert_eq!(out.json()["in_sync"], true, "{out:?}");
}

#[test]
fn stackset_runs_need_nothing_outside_the_operator_policy() {
    let w = World::start();
    let accounts = format!("{A},{B}");
    let out = stackset(
        &w,
        "operator-policy",
        &accounts,
        &["--account-id", common::moto::ACCOUNT_ID],
    )
    .run();
    let policy: serde_json::Value = serde_json::from_str(&out.stdout).expect("the policy");
    // The stacks are created by each target account's execution role: no resource grants.
    let text = policy.to_string();
    assert!(
        !text.contains("iam:CreateRole") && !text.contains("s3:"),
        "{policy:#}"
    );
    assert!(
        text.contains("AWSCloudFormationStackSetAdministrationRole"),
        "{policy:#}"
    );

    for (cmd, extra, code) in [
        ("init", vec!["--yes"], 0),
        ("init", vec!["--yes"], 0),
        ("status", vec![], 0),
        ("plan", vec!["--detailed-exitcode"], 0),
    ] {
        w.moto.start_recording();
        stackset(&w, cmd, &accounts, &extra).expect_exit(code).run();
        w.moto.stop_recording();
        common::authz::assert_all_allowed(
            &policy,
            &w.moto.recorded_requests(),
            &common::authz::Env::moto(&w.region),
            &format!("bootstrap {cmd} --stackset"),
        );
    }
}

/// `bootstrap CMD` against the StackSet with `targets` (`--accounts A,B` or `--org-units OU`)
/// in `region`.
fn run_on<'w>(
    w: &'w World,
    cmd: &str,
    targets: [&str; 2],
    region: &str,
    extra: &[&str],
) -> Test<'w> {
    run_on_set(w, SET, cmd, targets, region, extra)
}

/// `bootstrap CMD` against StackSet `set` with `targets` in `region`.
pub fn run_on_set<'w>(
    w: &'w World,
    set: &str,
    cmd: &str,
    targets: [&str; 2],
    region: &str,
    extra: &[&str],
) -> Test<'w> {
    let mut args = vec![cmd.to_string()];
    args.extend(w.flags());
    let fixed = [
        "--workspace-uuid",
        common::fixture::WORKSPACE_UUID,
        "--repository-uuid",
        common::fixture::REPO_UUID,
        "--stackset",
        set,
        "--regions",
        region,
    ];
    args.extend(
        fixed
            .iter()
            .chain(&targets)
            .chain(extra)
            .map(ToString::to_string),
    );
    Test::new().args(args).moto(&w.moto)
}

#[test]
fn an_account_that_fails_within_the_tolerance_fails_init_and_is_deployed_again() {
    let w = World::start();
    let accounts = format!("{A},{B}");
    w.moto.fail_stackset_account(
        B,
        Some("Account 222222222222 should have 'AWSCloudFormationStackSetExecutionRole' role"),
    );
    stackset(&w, "init", &accounts, &["--yes"])
        .expect_exit(1)
        .expect_stderr_contains(
            "SUCCEEDED (within the failure tolerance), but 1 of 2 accounts failed: 222222222222;",
        )
        .expect_stdout_lacks("deployed to")
        .run();
    stackset(&w, "status", &accounts, &["--detailed-exitcode"])
        .expect_exit(2)
        .run();

    // Fixed: init deploys to that account again, and then there is nothing to do.
    w.moto.fail_stackset_account(B, None);
    w.moto.start_recording();
    stackset(&w, "init", &accounts, &["--yes"]).run();
    let ops: Vec<String> = w
        .moto
        .mutating_calls()
        .into_iter()
        .map(|(_, op)| op)
        .collect();
    assert_eq!(ops, ["UpdateStackInstances"]);
    w.moto.start_recording();
    stackset(&w, "init", &accounts, &["--yes"]).run();
    assert_eq!(w.moto.mutating_calls(), Vec::<(String, String)>::new());
}

#[test]
fn an_empty_organizational_unit_converges() {
    let w = World::start();
    let ou = ["--org-units", "ou-abcd-12345678"];
    run_on(&w, "init", ou, "eu-west-1", &["--yes"]).run();
    w.moto.start_recording();
    run_on(&w, "init", ou, "eu-west-1", &["--yes"])
        .expect_stdout_contains("nothing to change")
        .run();
    assert_eq!(w.moto.mutating_calls(), Vec::<(String, String)>::new());
    run_on(&w, "plan", ou, "eu-west-1", &["--detailed-exitcode"]).run();
    run_on(&w, "status", ou, "eu-west-1", &["--detailed-exitcode"]).run();
}

#[test]
fn another_region_is_refused_never_a_second_instance_per_account() {
    let w = World::start();
    let accounts = ["--accounts", A];
    run_on(&w, "init", accounts, "eu-west-1", &["--yes"]).run();
    w.moto.start_recording();
    for (cmd, extra) in [("plan", "--detailed-exitcode"), ("init", "--yes")] {
        let out = run_on(&w, cmd, accounts, "us-east-1", &[extra])
            .expect_exit(64)
            .run();
        assert!(
            out.stderr.contains(&format!(
                "StackSet {SET} has account {A} in eu-west-1, and --regions us-east-1 would give that account a second instance"
            )) && out.stderr.contains("delete-stack-instances"),
            "{out:?}"
        );
    }
    assert_eq!(w.moto.mutating_calls(), Vec::<(String, String)>::new());
    assert_eq!(
        instances(&w),
        [(A.into(), "eu-west-1".into(), "CURRENT".into())]
    );
}

#[test]
fn a_template_that_drops_a_role_from_every_account_needs_prune_and_shows_plus_and_minus() {
    let w = World::start();
    let accounts = format!("{A},{B}");
    // --prune needs an explicit set: every run is of the one set.
    stackset(&w, "init", &accounts, &["--yes", "--set", "infra"]).run();
    let env = [
        "--set",
        "infra",
        "--environment-uuid",
        common::fixture::ENV_UUID,
        "--plan-apply",
    ];
    let plan = [&env[..], &["--no-lock-table", "--detailed-exitcode"]].concat();
    let out = stackset(&w, "plan", &accounts, &plan).expect_exit(2).run();
    for line in [
        "  - DeployRole AWS::IAM::Role",
        "  + DeployRoleBitbucketPipelinesDeployPlan AWS::IAM::Role",
        "  - LockTable AWS::DynamoDB::Table",
        "the update deletes the role bitbucket-pipelines-deploy",
    ] {
        assert!(out.stdout.contains(line), "{line}: {out:?}");
    }
    assert!(!out.stdout.contains("  ~ LockTable"), "{out:?}");
    w.moto.start_recording();
    let out = stackset(&w, "init", &accounts, &[&env[..], &["--yes"]].concat())
        .expect_exit(64)
        .run();
    assert!(
        out.stderr.contains(&format!(
            "{SET}: the StackSet holds the role bitbucket-pipelines-deploy, which these settings no longer have"
        )) && out.stderr.contains("--prune"),
        "{out:?}"
    );
    assert_eq!(w.moto.mutating_calls(), Vec::<(String, String)>::new());
    stackset(
        &w,
        "init",
        &accounts,
        &[&env[..], &["--yes", "--prune"]].concat(),
    )
    .run();
}

/// A StackSet an earlier version deployed names each account's bucket
/// `terraform-state-ACCOUNT-REGION`: the template keeps that name (a new one would replace
/// every account's bucket), so a re-run plans nothing and reports those names.
#[test]
fn a_stackset_deployed_with_the_earlier_global_name_keeps_it() {
    let w = World::start();
    stackset(&w, "init", A, &["--yes"]).run();
    let body = crate::cloudformation_bucket::earlier_template(&w, &["--stackset"]);
    let aws = w.clients();
    let op = aws
        .block_on(
            aws.cloudformation
                .update_stack_set()
                .stack_set_name(SET)
                .template_body(body)
                .capabilities(aws_sdk_cloudformation::types::Capability::CapabilityNamedIam)
                .send(),
        )
        .unwrap();
    assert!(op.operation_id().is_some());
    stackset(&w, "plan", A, &["--detailed-exitcode"]).run();
    let out = stackset(&w, "status", A, &["--output", "json"]).run();
    let doc = out.json();
    assert_eq!(
        doc["instances"][0]["state_bucket"],
        format!("terraform-state-{A}-eu-west-1"),
        "{doc}"
    );
}
