//! CloudFormation mode touches only its own stacks and StackSets: a stack or StackSet whose
//! template does not carry bootstrap's marker (`Metadata.bootstrap.template-version`) is
//! refused by plan, init, status and destroy (exit 64, nothing written), and read back exactly
//! as it was. The unrelated stack and StackSet are made through moto without the tool. A set
//! owns its stack: one whose template records another set (`Metadata.bootstrap.set`) is refused
//! the same way; one without a recorded set (an earlier version's) is accepted. A stack is not
//! destroyed while roles outside it trust its provider; `init --prune` needs an explicit set.

use serde_json::json;

use crate::cloudformation_stack::stack_named;
use crate::cloudformation_stackset::run_on_set;
use crate::common::fixture::World;
use crate::common::inspect::Inspect;
use crate::common::Test;

const STACK: &str = "prod-network";
const SET: &str = "org-guardrails";

fn queue_template() -> String {
    json!({
        "Description": "the network team's queue",
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "prod-events"}}},
        "Outputs": {"TemplateVersion": {"Value": "bootstrap/1"}}
    })
    .to_string()
}

/// Everything that can be read about the unrelated stack and StackSet.
fn snapshot(w: &World) -> String {
    let aws = w.clients();
    let cfn = &aws.cloudformation;
    let s = aws
        .block_on(cfn.describe_stacks().stack_name(STACK).send())
        .unwrap();
    let t = aws
        .block_on(cfn.get_template().stack_name(STACK).send())
        .unwrap();
    let r = aws
        .block_on(cfn.describe_stack_resources().stack_name(STACK).send())
        .unwrap();
    let ss = aws
        .block_on(cfn.describe_stack_set().stack_set_name(SET).send())
        .unwrap();
    let si = aws
        .block_on(cfn.list_stack_instances().stack_set_name(SET).send())
        .unwrap();
    let stack = &s.stacks()[0];
    let set = ss.stack_set().unwrap();
    let resources: Vec<String> = r
        .stack_resources()
        .iter()
        .map(|r| format!("{:?} {:?}", r.physical_resource_id(), r.resource_status()))
        .collect();
    let instances: Vec<String> = si
        .summaries()
        .iter()
        .map(|i| format!("{:?} {:?} {:?}", i.account(), i.region(), i.status()))
        .collect();
    format!(
        "{:?} {:?} {:?} {:?} | {:?} | {resources:?} | {:?} {:?} | {instances:?}",
        stack.stack_id(),
        stack.stack_status(),
        stack.enable_termination_protection(),
        stack.last_updated_time(),
        t.template_body(),
        set.template_body(),
        set.status(),
    )
}

#[test]
fn an_unrelated_stack_and_stackset_are_refused_and_left_exactly_as_they_were() {
    let w = World::start();
    let aws = w.clients();
    let cfn = &aws.cloudformation;
    aws.block_on(
        cfn.create_stack()
            .stack_name(STACK)
            .template_body(queue_template())
            .enable_termination_protection(true)
            .send(),
    )
    .unwrap();
    aws.block_on(
        cfn.create_stack_set()
            .stack_set_name(SET)
            .template_body(queue_template())
            .send(),
    )
    .unwrap();
    aws.block_on(
        cfn.create_stack_instances()
            .stack_set_name(SET)
            .accounts(w.moto.account_id())
            .regions("us-east-1")
            .send(),
    )
    .unwrap();
    let before = snapshot(&w);
    assert!(before.contains("prod-events"), "{before}");

    w.moto.start_recording();
    let stack_flags = ["--mode", "cloudformation", "--stack-name", STACK];
    let runs: [(&str, Vec<&str>); 6] = [
        ("destroy", vec!["--yes"]),
        ("init", vec!["--yes"]),
        ("plan", vec!["--detailed-exitcode"]),
        ("status", vec!["--detailed-exitcode"]),
        ("init", vec!["--yes", "--output", "json"]),
        ("destroy", vec!["--yes", "--output", "json"]),
    ];
    for (cmd, extra) in runs {
        let mut args = stack_flags.to_vec();
        args.extend(extra);
        let out = w.test(cmd).args(&args).expect_exit(64).run();
        let said = format!("{}{}", out.stdout, out.stderr);
        assert!(
            said.contains("stack prod-network was not made by bootstrap")
                && said.contains("Metadata.bootstrap.template-version"),
            "{cmd}: {out:?}"
        );
    }
    let account = w.moto.account_id();
    for (cmd, extra) in [
        ("plan", "--detailed-exitcode"),
        ("init", "--yes"),
        ("status", "-q"),
    ] {
        let targets = ["--accounts", account];
        let out = run_on_set(&w, SET, cmd, targets, "us-east-1", &[extra])
            .expect_exit(64)
            .run();
        assert!(
            out.stderr
                .contains("StackSet org-guardrails was not made by bootstrap"),
            "{cmd}: {out:?}"
        );
    }
    let writes = w.moto.mutating_calls();
    assert!(writes.is_empty(), "nothing written: {writes:?}");
    assert_eq!(snapshot(&w), before);
}

#[test]
fn a_stack_started_by_someone_elses_change_set_is_not_deleted() {
    let w = World::start();
    let aws = w.clients();
    aws.block_on(
        aws.cloudformation
            .create_change_set()
            .stack_name(STACK)
            .change_set_name("review")
            .change_set_type(aws_sdk_cloudformation::types::ChangeSetType::Create)
            .template_body(queue_template())
            .send(),
    )
    .unwrap();
    w.moto.start_recording();
    w.test("init")
        .args(["--mode", "cloudformation", "--stack-name", STACK, "--yes"])
        .expect_exit(64)
        .expect_stderr_contains("was not made by bootstrap")
        .run();
    assert!(w.moto.mutating_calls().is_empty());
    assert_eq!(stack_named(&w, STACK).0, "REVIEW_IN_PROGRESS");
}

/// `bootstrap CMD --mode cloudformation --set SET EXTRA` (the default stack name) in `w`.
fn as_set<'w>(w: &'w World, set: &str, cmd: &str, extra: &[&str]) -> Test<'w> {
    let mut args = vec!["--mode", "cloudformation", "--set", set];
    args.extend(extra);
    w.test(cmd).args(&args)
}

/// The template of the default stack as CloudFormation holds it.
fn default_stack_template(w: &World) -> serde_json::Value {
    let aws = w.clients();
    let t = aws
        .block_on(
            aws.cloudformation
                .get_template()
                .stack_name("bitbucket-oidc-bootstrap")
                .send(),
        )
        .unwrap();
    let body = t.template_body().unwrap();
    serde_json::from_str(body)
        .or_else(|_| serde_norway::from_str(body))
        .unwrap()
}

#[test]
fn another_sets_stack_of_the_same_name_is_refused_by_every_command() {
    let w = World::start();
    as_set(&w, "team-a", "init", &["--yes"]).run();
    let t = default_stack_template(&w);
    assert_eq!(t["Metadata"]["bootstrap"]["set"], "team-a", "{t}");

    w.moto.start_recording();
    for (cmd, extra) in [
        ("plan", vec!["--detailed-exitcode"]),
        ("init", vec!["--yes"]),
        ("status", vec!["--detailed-exitcode"]),
        ("destroy", vec!["--yes"]),
    ] {
        let out = as_set(&w, "team-b", cmd, &extra).expect_exit(64).run();
        for said in [
            "stack bitbucket-oidc-bootstrap belongs to set team-a",
            "these settings are set team-b",
            "--stack-name",
            "set = \"team-a\"",
        ] {
            assert!(out.stderr.contains(said), "{cmd}: {said}: {out:?}");
        }
    }
    let writes = w.moto.mutating_calls();
    assert!(writes.is_empty(), "nothing written: {writes:?}");
    // Team A's stack, roles and provider are all still there; team A still owns them.
    as_set(&w, "team-a", "status", &["--detailed-exitcode"]).run();
}

#[test]
fn another_sets_stackset_is_refused() {
    let w = World::start();
    let account = w.moto.account_id();
    let targets = ["--accounts", account];
    let on = |cmd, set, extra: &[&str]| {
        let mut args = vec!["--set", set];
        args.extend(extra);
        run_on_set(&w, "bootstrap", cmd, targets, "us-east-1", &args)
    };
    on("init", "team-a", &["--yes"]).run();
    w.moto.start_recording();
    for (cmd, extra) in [
        ("plan", "--detailed-exitcode"),
        ("init", "--yes"),
        ("status", "-q"),
    ] {
        let out = on(cmd, "team-b", &[extra]).expect_exit(64).run();
        assert!(
            out.stderr
                .contains("StackSet bootstrap belongs to set team-a")
                && out.stderr.contains("--stackset"),
            "{cmd}: {out:?}"
        );
    }
    assert!(w.moto.mutating_calls().is_empty());
}

/// A stack an earlier version deployed records no set: accepted, and in sync (CloudFormation
/// does not update the Metadata section by itself; the set is recorded with the next change).
#[test]
fn a_stack_without_a_recorded_set_is_accepted() {
    let w = World::start();
    as_set(&w, "team-a", "init", &["--yes"]).run();
    let mut t = default_stack_template(&w);
    t["Metadata"]["bootstrap"]
        .as_object_mut()
        .unwrap()
        .remove("set");
    let aws = w.clients();
    aws.block_on(
        aws.cloudformation
            .update_stack()
            .stack_name("bitbucket-oidc-bootstrap")
            .template_body(t.to_string())
            .capabilities(aws_sdk_cloudformation::types::Capability::CapabilityNamedIam)
            .send(),
    )
    .unwrap();
    as_set(&w, "team-a", "plan", &["--detailed-exitcode"]).run();
    as_set(&w, "team-a", "status", &["--detailed-exitcode"]).run();
}

/// The stack's provider is still trusted by a role outside the stack (another set's, made in
/// direct mode or by hand): destroying the stack would delete the provider under it, so the
/// destroy is refused, naming the role; once the role is gone the stack goes.
#[test]
fn a_stack_whose_provider_other_roles_trust_is_not_destroyed() {
    let w = World::start();
    as_set(&w, "team-a", "init", &["--yes"]).run();
    let aws = w.clients();
    let arn = w.provider_arn();
    let trust = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
    }]});
    aws.block_on(
        aws.iam
            .create_role()
            .role_name("b-apply")
            .assume_role_policy_document(trust.to_string())
            .send(),
    )
    .unwrap();

    w.moto.start_recording();
    let out = as_set(&w, "team-a", "destroy", &["--yes"])
        .expect_exit(64)
        .run();
    assert!(
        out.stderr
            .contains("stack bitbucket-oidc-bootstrap is not deleted")
            && out.stderr.contains(&arn)
            && out.stderr.contains("still trusted by role(s) b-apply"),
        "{out:?}"
    );
    // --force does not get through.
    as_set(&w, "team-a", "destroy", &["--yes", "--force"])
        .expect_exit(64)
        .run();
    assert!(w.moto.mutating_calls().is_empty());
    // The stack and its role are still there (moto's CloudFormation makes no provider).
    let stack = aws
        .block_on(
            aws.cloudformation
                .describe_stacks()
                .stack_name("bitbucket-oidc-bootstrap")
                .send(),
        )
        .unwrap();
    assert_eq!(stack.stacks().len(), 1);
    assert!(Inspect::new(&w.moto.endpoint()).role_exists("bitbucket-pipelines-deploy"));

    aws.block_on(aws.iam.delete_role().role_name("b-apply").send())
        .unwrap();
    as_set(&w, "team-a", "destroy", &["--yes"]).run();
}

#[test]
fn init_prune_in_cloudformation_mode_needs_an_explicit_set() {
    let w = World::start();
    w.moto.start_recording();
    let out = w
        .test("init")
        .args(["--mode", "cloudformation", "--yes", "--prune"])
        .expect_exit(64)
        .run();
    assert!(
        out.stderr.contains("--prune needs an explicit set") && out.stderr.contains("--set NAME"),
        "{out:?}"
    );
    let account = w.moto.account_id();
    run_on_set(
        &w,
        "bootstrap",
        "init",
        ["--accounts", account],
        "us-east-1",
        &["--yes", "--prune"],
    )
    .expect_exit(64)
    .expect_stderr_contains("--prune needs an explicit set")
    .run();
    assert!(w.moto.mutating_calls().is_empty());
}
