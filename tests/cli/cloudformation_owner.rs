//! CloudFormation mode touches only its own stacks and StackSets: a stack or StackSet whose
//! template does not carry bootstrap's marker (`Metadata.bootstrap.template-version`) is
//! refused by plan, init, status and destroy (exit 64, nothing written), and read back exactly
//! as it was. The unrelated stack and StackSet are made through moto without the tool.

use serde_json::json;

use crate::cloudformation_stackset::run_on_set;
use crate::common::fixture::World;

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
        let out = w.run(cmd, &args);
        out.assert_code(64);
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
        let out = run_on_set(&w, SET, cmd, targets, "us-east-1", &[extra]);
        out.assert_code(64);
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
    let out = w.run(
        "init",
        &["--mode", "cloudformation", "--stack-name", STACK, "--yes"],
    );
    out.assert_code(64);
    assert!(out.stderr.contains("was not made by bootstrap"), "{out:?}");
    assert!(w.moto.mutating_calls().is_empty());
    let s = aws
        .block_on(
            aws.cloudformation
                .describe_stacks()
                .stack_name(STACK)
                .send(),
        )
        .unwrap();
    assert_eq!(
        s.stacks()[0].stack_status().unwrap().as_str(),
        "REVIEW_IN_PROGRESS"
    );
}
