//! The stack lifecycle of `--mode cloudformation` against moto: create, a no-op re-run with
//! zero mutating calls, an update through a change set shown before it runs, recovery of a
//! stack whose first create rolled back, and `plan`/`status` in this mode. Thumbprint
//! rotation keeping the ones in use, and the KMS grant for each form of `--kms-key`, are in
//! `cloudformation_stack_resources.rs`.
//!
//! What the tool sent is read from moto's request recorder; what the stack looks like
//! afterwards is read with the AWS SDK directly, not through the tool.

use crate::common;

use crate::common::fixture::World;
use crate::common::{Issuer, Moto, Pki, RecordedRequest};
use serde_json::json;

pub const STACK: &str = "bitbucket-oidc-bootstrap";

/// `--mode cloudformation` and `extra`.
pub fn cfn(extra: &[&'static str]) -> Vec<&'static str> {
    let mut a = vec!["--mode", "cloudformation"];
    a.extend_from_slice(extra);
    a
}

/// `(status, termination protection, stack id)` of the stack, read directly.
pub fn stack(w: &World) -> (String, Option<bool>, String) {
    stack_named(w, STACK)
}

/// `(status, termination protection, stack id)` of the stack `name`, read directly.
pub fn stack_named(w: &World, name: &str) -> (String, Option<bool>, String) {
    let aws = w.clients();
    let out = aws
        .block_on(aws.cloudformation.describe_stacks().stack_name(name).send())
        .unwrap();
    let s = &out.stacks()[0];
    (
        s.stack_status().unwrap().as_str().to_string(),
        s.enable_termination_protection(),
        s.stack_id().unwrap().to_string(),
    )
}

pub fn deployed_template(w: &World) -> String {
    let aws = w.clients();
    aws.block_on(aws.cloudformation.get_template().stack_name(STACK).send())
        .unwrap()
        .template_body()
        .unwrap()
        .to_string()
}

/// CloudFormation requests the tool sent, in order: `(action, request)`.
fn cfn_requests(w: &World) -> Vec<(String, RecordedRequest)> {
    w.moto
        .recorded_requests()
        .into_iter()
        .filter_map(|r| {
            let (service, op, _) = common::classify(&r);
            (service == "cloudformation").then_some((op, r))
        })
        .collect()
}

fn actions(w: &World) -> Vec<String> {
    cfn_requests(w).into_iter().map(|(op, _)| op).collect()
}

pub fn rendered(w: &World, extra: &[&str]) -> String {
    let out = w.test("render").args(extra).run();
    out.stdout
}

#[test]
fn create_then_a_rerun_makes_no_mutating_call() {
    let w = World::start();
    w.test("plan")
        .args(cfn(&["--detailed-exitcode"]))
        .expect_exit(2)
        .expect_stdout_contains(format!("stack {STACK} (does not exist): create it"))
        .run();

    w.moto.start_recording();
    let out = w
        .test("init")
        .args(cfn(&["--yes", "--output", "json"]))
        .run();
    let doc = out.json();
    assert_eq!(doc["applied"], true);
    assert_eq!(doc["result"]["status"], "CREATE_COMPLETE");
    assert_eq!(
        doc["outputs"]["role_arn"],
        "arn:aws:iam::123456789012:role/bitbucket-pipelines-deploy"
    );
    // One CreateStack: the rendered template, named IAM allowed, termination protection on,
    // nothing left behind if it fails.
    let creates: Vec<RecordedRequest> = cfn_requests(&w)
        .into_iter()
        .filter(|(op, _)| op == "CreateStack")
        .map(|(_, r)| r)
        .collect();
    assert_eq!(creates.len(), 1);
    let c = &creates[0];
    assert_eq!(c.param("StackName").as_deref(), Some(STACK));
    assert_eq!(
        c.param("EnableTerminationProtection").as_deref(),
        Some("true")
    );
    assert_eq!(c.param("RetainExceptOnCreate").as_deref(), Some("true"));
    assert_eq!(
        c.param("Capabilities.member.1").as_deref(),
        Some("CAPABILITY_NAMED_IAM")
    );
    assert_eq!(c.param("TemplateBody"), Some(rendered(&w, &[])));
    let (status, protection, _) = stack(&w);
    assert_eq!(status, "CREATE_COMPLETE");
    assert_eq!(protection, Some(true));
    assert!(
        out.stderr.contains("CREATE_COMPLETE"),
        "events are streamed: {}",
        out.stderr
    );

    // The same settings again: the deployed template and parameters are compared first.
    let out = w.assert_rerun_writes_nothing("init", &cfn(&["--yes"]));
    assert!(out.stdout.contains("nothing to change"), "{out:?}");
    assert_eq!(actions(&w), ["DescribeStacks", "GetTemplate"]);

    w.test("plan").args(cfn(&["--detailed-exitcode"])).run();
    let out = w
        .test("status")
        .args(cfn(&["--output", "json", "--detailed-exitcode"]))
        .run();
    let doc = out.json();
    assert_eq!(doc["in_sync"], true, "{doc}");
    assert_eq!(doc["status"], "CREATE_COMPLETE");
}

#[test]
fn an_update_runs_through_a_change_set_that_is_shown_first() {
    let w = World::start();
    w.test("init").args(cfn(&["--yes"])).run();

    // Without --yes and without a terminal: the change set is created and shown, nothing is
    // executed, and the change set is removed again.
    w.moto.start_recording();
    w.test("init")
        .args(cfn(&["--max-session-duration", "7200"]))
        .expect_exit(64)
        .expect_stderr_contains("change set bootstrap-")
        .expect_stderr_contains("Modify")
        .expect_stderr_contains("Properties.MaxSessionDuration")
        .run();
    let ops = actions(&w);
    assert!(ops.contains(&"CreateChangeSet".to_string()), "{ops:?}");
    assert!(ops.contains(&"DeleteChangeSet".to_string()), "{ops:?}");
    assert!(!ops.contains(&"ExecuteChangeSet".to_string()), "{ops:?}");
    assert!(deployed_template(&w).contains("MaxSessionDuration: 3600"));
    // The stack no longer matches these settings: drift for monitoring.
    w.test("status")
        .args(cfn(&[
            "--max-session-duration",
            "7200",
            "--detailed-exitcode",
        ]))
        .expect_exit(2)
        .expect_stdout_contains("template differs from the rendered one")
        .run();

    // With --yes: executed, and the deployed template is the new one.
    w.moto.start_recording();
    let out = w
        .test("init")
        .args(cfn(&["--max-session-duration", "7200", "--yes"]))
        .run();
    let ops = actions(&w);
    let pos = |op: &str| ops.iter().position(|o| o == op);
    assert!(pos("CreateChangeSet") < pos("ExecuteChangeSet"), "{ops:?}");
    assert!(
        pos("DescribeChangeSet") < pos("ExecuteChangeSet"),
        "{ops:?}"
    );
    assert!(
        !ops.iter().any(|o| o == "UpdateStack" || o == "DeleteStack"),
        "{ops:?}"
    );
    let change_set = cfn_requests(&w)
        .into_iter()
        .find(|(op, _)| op == "CreateChangeSet")
        .unwrap()
        .1;
    assert_eq!(change_set.param("ChangeSetType").as_deref(), Some("UPDATE"));
    assert_eq!(
        change_set.param("TemplateBody"),
        Some(rendered(&w, &["--max-session-duration", "7200"]))
    );
    assert!(out.stderr.contains("UPDATE_COMPLETE"), "{}", out.stderr);
    assert_eq!(stack(&w).0, "UPDATE_COMPLETE");
    assert!(deployed_template(&w).contains("MaxSessionDuration: 7200"));

    w.assert_rerun_writes_nothing("init", &cfn(&["--max-session-duration", "7200", "--yes"]));
}

#[test]
fn a_stack_whose_first_create_rolled_back_is_deleted_and_created_again() {
    let pki = Pki::new();
    let issuer = Issuer::start(&pki);
    let w = World {
        moto: Moto::start_with_faults(),
        pki,
        issuer,
        region: "us-east-1".to_string(),
    };
    w.moto.fail_stack_create(
        "us-east-1",
        STACK,
        "StateBucket",
        "AWS::S3::Bucket",
        "Resource handler returned message: \"Access Denied\"",
    );
    let (status, _, old_id) = stack(&w);
    assert_eq!(status, "ROLLBACK_COMPLETE");

    let out = w
        .test("plan")
        .args(cfn(&[]))
        .expect_stdout_contains("ROLLBACK_COMPLETE")
        .expect_stdout_contains("delete it and create it again")
        .run();
    assert!(
        out.stdout.contains("StateBucket (AWS::S3::Bucket) CREATE_FAILED: Resource handler returned message: \"Access Denied\""),
        "the first failed event's reason: {out:?}"
    );

    // Deleting needs a confirmation: none without a terminal.
    w.test("init")
        .args(cfn(&[]))
        .expect_exit(64)
        .expect_no_writes()
        .run();

    w.moto.start_recording();
    let out = w.test("init").args(cfn(&["--yes"])).run();
    let mutating: Vec<String> = w
        .moto
        .mutating_calls()
        .into_iter()
        .map(|(_, op)| op)
        .collect();
    assert_eq!(mutating, ["DeleteStack", "CreateStack"], "{out:?}");
    let (status, protection, new_id) = stack(&w);
    assert_eq!(status, "CREATE_COMPLETE");
    assert_eq!(protection, Some(true));
    assert_ne!(new_id, old_id);
}

#[test]
fn cloudformation_inputs_are_checked_before_any_aws_call() {
    let w = World::start();
    w.moto.start_recording();
    let cases: &[(&[&str], &str)] = &[
        (
            &["--mode", "cloudformation", "--stack-name", "9lives"],
            "--stack-name",
        ),
        (&["--accounts", "123456789012"], "--stackset"),
        (
            &[
                "--stackset",
                "org",
                "--mode",
                "direct",
                "--accounts",
                "123456789012",
                "--regions",
                "eu-west-1",
            ],
            "--mode",
        ),
        (
            &[
                "--stackset",
                "org",
                "--accounts",
                "12345",
                "--regions",
                "eu-west-1",
            ],
            "--accounts",
        ),
        (
            &[
                "--stackset",
                "org",
                "--org-units",
                "ou-x",
                "--regions",
                "eu-west-1",
            ],
            "--org-units",
        ),
        (
            &["--stackset", "org", "--accounts", "123456789012"],
            "--regions",
        ),
        (
            &[
                "--stackset",
                "org",
                "--accounts",
                "123456789012",
                "--regions",
                "eu-west-1,eu-central-1",
            ],
            "one region",
        ),
        (
            &[
                "--stackset",
                "org",
                "--accounts",
                "123456789012",
                "--regions",
                "eu-west-1",
                "--state-bucket",
                "b-123",
            ],
            "--state-bucket",
        ),
    ];
    for (extra, needle) in cases {
        let out = w.test("init").args(*extra).expect_exit(64).run();
        assert!(out.stderr.contains(needle), "{extra:?}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{extra:?}: {}", out.stderr);
    }
    assert!(w.moto.recorded_requests().is_empty());
}

#[test]
fn policies_put_on_the_stacks_role_by_hand_are_shown_as_foreign() {
    let w = World::start();
    w.test("init").args(cfn(&["--yes"])).run();
    let role = "bitbucket-pipelines-deploy";
    // Out of band, as someone with console access would: an admin inline policy and an
    // attached customer-managed one.
    let aws = w.clients();
    aws.put_role_policy(
        role,
        "hand-made",
        json!({"Effect": "Allow", "Action": "*", "Resource": "*"}),
    );
    let read_only = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:GetQueueUrl", "Resource": "*"}]});
    let managed = aws.attach_new_policy(role, "hand-attached", &read_only);

    let out = w
        .test("status")
        .args(cfn(&["--detailed-exitcode"]))
        .expect_exit(2)
        .expect_stdout_contains("CloudFormation does not remove them")
        .expect_no_writes()
        .run();
    let inline_line = out
        .stdout
        .lines()
        .find(|l| l.contains("inline policy hand-made"))
        .unwrap_or_else(|| panic!("the inline policy is not named: {out:?}"));
    assert!(inline_line.contains("ADMIN-EQUIVALENT"), "{out:?}");
    let managed_line = out
        .stdout
        .lines()
        .find(|l| l.contains(&format!("managed policy {managed}")))
        .unwrap_or_else(|| panic!("the managed policy is not named: {out:?}"));
    assert!(!managed_line.contains("ADMIN-EQUIVALENT"), "{out:?}");
    for removal in [
        format!("aws iam delete-role-policy --role-name {role} --policy-name hand-made"),
        format!("aws iam detach-role-policy --role-name {role} --policy-arn {managed}"),
    ] {
        assert!(out.stdout.contains(&removal), "{removal} missing: {out:?}");
    }

    let doc = w
        .test("status")
        .args(cfn(&["--output", "json"]))
        .run()
        .json();
    assert_eq!(doc["in_sync"], false, "{doc}");
    assert_eq!(doc["template_in_sync"], true, "{doc}");
    let names: Vec<&str> = doc["foreign_policies"]
        .as_array()
        .expect("foreign_policies")
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert_eq!(names, ["hand-made", managed.as_str()], "{doc}");
    w.test("plan")
        .args(cfn(&["--detailed-exitcode"]))
        .expect_exit(2)
        .run();
    // Its JSON agrees: the template has nothing to change, the role's policies need a person.
    let doc = w
        .test("plan")
        .args(cfn(&["--output", "json", "--detailed-exitcode"]))
        .expect_exit(2)
        .run()
        .json();
    assert_eq!(doc["changes"], false, "{doc}");
    assert_eq!(doc["needs_attention"], true, "{doc}");

    // Removed as the output says: in sync again.
    aws.block_on(
        aws.iam
            .delete_role_policy()
            .role_name(role)
            .policy_name("hand-made")
            .send(),
    )
    .expect("DeleteRolePolicy");
    aws.block_on(
        aws.iam
            .detach_role_policy()
            .role_name(role)
            .policy_arn(&managed)
            .send(),
    )
    .expect("DetachRolePolicy");
    w.test("status").args(cfn(&["--detailed-exitcode"])).run();
    w.test("plan").args(cfn(&["--detailed-exitcode"])).run();
}
