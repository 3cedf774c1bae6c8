//! The stack lifecycle of `--mode cloudformation` against moto: create, a no-op re-run with
//! zero mutating calls, an update through a change set shown before it runs, recovery of a
//! stack whose first create rolled back, and `plan`/`status` in this mode.
//!
//! What the tool sent is read from moto's request recorder; what the stack looks like
//! afterwards is read with the AWS SDK directly, not through the tool.

mod common;

use std::future::Future;

use aws_sdk_cloudformation::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_cloudformation::Client;
use common::fixture::World;
use common::{Issuer, Moto, Pki, RecordedRequest};

const STACK: &str = "bitbucket-oidc-bootstrap";

fn cfn(extra: &[&'static str]) -> Vec<&'static str> {
    let mut a = vec!["--mode", "cloudformation"];
    a.extend_from_slice(extra);
    a
}

fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn client(w: &World) -> Client {
    let conf = aws_sdk_cloudformation::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(w.moto.plain_endpoint())
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .build();
    Client::from_conf(conf)
}

/// `(status, termination protection, stack id)` of the stack, read directly.
fn stack(w: &World) -> (String, Option<bool>, String) {
    let out = block_on(client(w).describe_stacks().stack_name(STACK).send()).unwrap();
    let s = &out.stacks()[0];
    (
        s.stack_status().unwrap().as_str().to_string(),
        s.enable_termination_protection(),
        s.stack_id().unwrap().to_string(),
    )
}

fn deployed_template(w: &World) -> String {
    block_on(client(w).get_template().stack_name(STACK).send())
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

fn rendered(w: &World, extra: &[&str]) -> String {
    let out = w.run("render", extra);
    out.assert_success();
    out.stdout
}

#[test]
fn create_then_a_rerun_makes_no_mutating_call() {
    let w = World::start();
    let out = w.run("plan", &cfn(&["--detailed-exitcode"]));
    out.assert_code(2);
    assert!(
        out.stdout
            .contains(&format!("stack {STACK} (does not exist): create it")),
        "{out:?}"
    );

    w.moto.start_recording();
    let out = w.run("init", &cfn(&["--yes", "--output", "json"]));
    out.assert_success();
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
    w.moto.start_recording();
    let out = w.run("init", &cfn(&["--yes"]));
    out.assert_success();
    assert!(out.stdout.contains("nothing to change"), "{out:?}");
    assert_eq!(w.moto.mutating_calls(), Vec::<(String, String)>::new());
    assert_eq!(actions(&w), ["DescribeStacks", "GetTemplate"]);

    w.run("plan", &cfn(&["--detailed-exitcode"]))
        .assert_success();
    let out = w.run("status", &cfn(&["--output", "json", "--detailed-exitcode"]));
    out.assert_success();
    let doc = out.json();
    assert_eq!(doc["in_sync"], true, "{doc}");
    assert_eq!(doc["status"], "CREATE_COMPLETE");
}

#[test]
fn an_update_runs_through_a_change_set_that_is_shown_first() {
    let w = World::start();
    w.run("init", &cfn(&["--yes"])).assert_success();

    // Without --yes and without a terminal: the change set is created and shown, nothing is
    // executed, and the change set is removed again.
    w.moto.start_recording();
    let out = w.run("init", &cfn(&["--max-session-duration", "7200"]));
    out.assert_code(64);
    assert!(
        out.stderr.contains("change set bootstrap-"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("Modify"), "{}", out.stderr);
    assert!(
        out.stderr.contains("Properties.MaxSessionDuration"),
        "{}",
        out.stderr
    );
    let ops = actions(&w);
    assert!(ops.contains(&"CreateChangeSet".to_string()), "{ops:?}");
    assert!(ops.contains(&"DeleteChangeSet".to_string()), "{ops:?}");
    assert!(!ops.contains(&"ExecuteChangeSet".to_string()), "{ops:?}");
    assert!(deployed_template(&w).contains("MaxSessionDuration: 3600"));
    // The stack no longer matches these settings: drift for monitoring.
    let out = w.run(
        "status",
        &cfn(&["--max-session-duration", "7200", "--detailed-exitcode"]),
    );
    out.assert_code(2);
    assert!(
        out.stdout
            .contains("template differs from the rendered one"),
        "{out:?}"
    );

    // With --yes: executed, and the deployed template is the new one.
    w.moto.start_recording();
    let out = w.run("init", &cfn(&["--max-session-duration", "7200", "--yes"]));
    out.assert_success();
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

    w.moto.start_recording();
    w.run("init", &cfn(&["--max-session-duration", "7200", "--yes"]))
        .assert_success();
    assert_eq!(w.moto.mutating_calls(), Vec::<(String, String)>::new());
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

    let out = w.run("plan", &cfn(&[]));
    out.assert_success();
    assert!(out.stdout.contains("ROLLBACK_COMPLETE"), "{out:?}");
    assert!(
        out.stdout.contains("delete it and create it again"),
        "{out:?}"
    );
    assert!(
        out.stdout.contains("StateBucket (AWS::S3::Bucket) CREATE_FAILED: Resource handler returned message: \"Access Denied\""),
        "the first failed event's reason: {out:?}"
    );

    // Deleting needs a confirmation: none without a terminal.
    w.moto.start_recording();
    w.run("init", &cfn(&[])).assert_code(64);
    assert_eq!(w.moto.mutating_calls(), Vec::<(String, String)>::new());

    w.moto.start_recording();
    let out = w.run("init", &cfn(&["--yes"]));
    out.assert_success();
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
        let out = w.run("init", extra);
        out.assert_code(64);
        assert!(out.stderr.contains(needle), "{extra:?}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{extra:?}: {}", out.stderr);
    }
    assert!(w.moto.recorded_requests().is_empty());
}

#[test]
fn a_stack_is_not_created_over_resources_that_already_exist() {
    let w = World::start();
    w.run("init", &["--yes"]).assert_success(); // direct mode made them
    w.moto.start_recording();
    let out = w.run("init", &cfn(&["--yes"]));
    out.assert_code(1);
    assert!(
        out.stderr.contains("the role bitbucket-pipelines-deploy"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("the bucket tf-state-test"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("--mode direct"),
        "the hint names the way out: {}",
        out.stderr
    );
    assert_eq!(w.moto.mutating_calls(), Vec::<(String, String)>::new());
}
