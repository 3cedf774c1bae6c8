//! Plans a reviewer can read, and trust policies judged for what they let in: policy changes
//! as short structural diffs (documents as JSON objects in `--output json`), an inline
//! policy's contents on create, and a trust policy that lets in any repository, any branch
//! or any network flagged by `plan`, `status` and the `init` confirmation, exit 2 under
//! `--detailed-exitcode`.

use serde_json::Value;

use crate::common::fixture::{World, ROLE};
use crate::common::inspect::Inspect;
use crate::common::resource;

/// The live trust policy of the role with the condition operator `op` removed, as someone
/// editing it by hand would.
fn remove_condition(w: &World, op: &str) {
    let mut trust = Inspect::new(&w.moto.plain_endpoint()).trust_policy(ROLE);
    let condition = trust["Statement"][0]["Condition"].as_object_mut().unwrap();
    assert!(condition.remove(op).is_some(), "{op} not in {trust}");
    put_trust(w, &trust);
}

/// Replace the role's trust policy out of band.
fn put_trust(w: &World, trust: &Value) {
    let aws = w.clients();
    aws.block_on(
        aws.iam
            .update_assume_role_policy()
            .role_name(ROLE)
            .policy_document(trust.to_string())
            .send(),
    )
    .unwrap();
}

#[test]
fn a_hand_removed_sub_condition_is_flagged_by_status_plan_and_the_init_confirmation() {
    let w = World::start();
    w.test("init").args(["--yes", "-q"]).run();
    remove_condition(&w, "StringLike");
    let says = format!("ANY-REPOSITORY: every repository of the workspace can assume role {ROLE}");
    w.test("status")
        .args(["--detailed-exitcode"])
        .expect_exit(2)
        .expect_stdout_contains(says.clone())
        .expect_stdout_contains("; the live trust policy, which `bootstrap init` replaces")
        .expect_stdout_contains("trust policy (- as it is, + as it should be):")
        .expect_no_writes()
        .run();
    let doc = w
        .test("status")
        .args(["--output", "json"])
        .expect_no_writes()
        .run()
        .json();
    let verdict = &doc["trust_verdicts"][0];
    assert_eq!(verdict["breadth"], "any-repository", "{doc}");
    assert_eq!(verdict["policy"], "live");
    // The drift carries both documents as objects, and the lines that differ.
    let drift = &resource(&doc, "role")["drift"][0];
    assert_eq!(drift["field"], "trust policy");
    assert!(drift["from"]["Statement"].is_array(), "{drift}");
    assert!(drift["to"]["Statement"].is_array(), "{drift}");
    let diff: Vec<&str> = drift["diff"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(
        diff.iter()
            .any(|l| l.starts_with('+') && l.contains(":sub")),
        "{diff:?}"
    );
    assert!(
        !diff
            .iter()
            .any(|l| l.starts_with('-') && l.contains(":sub")),
        "{diff:?}"
    );
    w.test("plan")
        .args(["--detailed-exitcode"])
        .expect_exit(2)
        .expect_stdout_contains(says.clone())
        .run();
    // Without --yes (and no terminal) init shows what it would do, verdict first, and
    // writes nothing.
    w.test("init")
        .expect_exit(64)
        .expect_stderr_contains(says)
        .expect_no_writes()
        .run();
    w.test("init").args(["--yes", "-q"]).run();
    w.test("status")
        .args(["--detailed-exitcode"])
        .expect_stdout_lacks("ANY-")
        .expect_no_writes()
        .run();
}

#[test]
fn a_hand_removed_source_range_is_flagged_as_any_network() {
    let w = World::start();
    w.test("init")
        .args(["--yes", "-q", "--source-ip", "10.0.0.0/8"])
        .run();
    remove_condition(&w, "IpAddress");
    w.test("status")
        .args(["--detailed-exitcode", "--source-ip", "10.0.0.0/8"])
        .expect_exit(2)
        .expect_stdout_contains(format!(
            "ANY-NETWORK: a step from any network (here 203.0.113.7) can assume role {ROLE}, though it is limited to source ranges 10.0.0.0/8"
        ))
        .expect_no_writes()
        .run();
}

#[test]
fn a_planned_trust_for_any_repository_is_flagged_and_exits_2() {
    let w = World::start();
    let flags: Vec<String> = w
        .flags()
        .into_iter()
        .chain(
            [
                "--workspace-uuid",
                crate::common::fixture::WORKSPACE_UUID,
                "--allow-any-repository",
                "--state-bucket",
                crate::common::fixture::BUCKET,
            ]
            .map(String::from),
        )
        .collect();
    let bootstrap = |cmd: &str, extra: &[&str]| {
        crate::common::Test::new()
            .arg(cmd)
            .args(flags.clone())
            .args(extra.iter().map(ToString::to_string))
            .moto(&w.moto)
    };
    bootstrap("init", &["--yes", "-q"]).run();
    bootstrap("plan", &["--detailed-exitcode"])
        .expect_exit(2)
        .expect_stdout_contains(format!(
            "ANY-REPOSITORY: every repository of the workspace can assume role {ROLE}"
        ))
        .expect_stdout_contains("; the trust policy init writes, as configured")
        .expect_stdout_contains("nothing to change")
        .expect_no_writes()
        .run();
}

fn repository(i: usize) -> String {
    format!("{{0f6b3c1d-2222-4e5f-8a9b-{i:012}}}")
}

#[test]
fn a_trust_change_with_forty_repositories_reads_as_a_short_diff() {
    let w = World::start();
    let forty: Vec<String> = (0..40)
        .flat_map(|i| ["--repository-uuid".to_string(), repository(i)])
        .collect();
    let forty: Vec<&str> = forty.iter().map(String::as_str).collect();
    w.test("init")
        .args([&["--yes", "-q"], &forty[..]].concat())
        .run();
    let out = w
        .test("plan")
        .args(forty.clone())
        .args(["--repository-uuid", &repository(99)])
        .expect_no_writes()
        .run();
    // The trust policy's part of the plan: the field, then its diff lines.
    let lines: Vec<&str> = out
        .stdout
        .lines()
        .skip_while(|l| l.trim() != "trust policy:")
        .skip(1)
        .take_while(|l| l.starts_with("        "))
        .collect();
    let changed: Vec<&&str> = lines
        .iter()
        .filter(|l| l.trim_start().starts_with(['+', '-']))
        .collect();
    assert!(
        changed.iter().any(|l| l.contains(&repository(99))),
        "{}",
        out.stdout
    );
    assert!(changed.len() <= 3, "{}", out.stdout);
    assert!(lines.len() <= 12, "{}", out.stdout);
    assert!(out.stdout.lines().all(|l| l.len() < 120), "{}", out.stdout);
}

#[test]
fn a_new_roles_inline_policy_is_shown_on_create_and_json_carries_objects() {
    let w = World::start();
    let out = w.test("plan").run();
    let text = &out.stdout;
    let at = text
        .find("inline policy terraform-state-access:")
        .unwrap_or_else(|| panic!("{text}"));
    assert!(text[at..].contains("+ "), "{text}");
    assert!(text[at..].contains("\"s3:GetObject\""), "{text}");
    let doc = w.test("plan").args(["--output", "json"]).run().json();
    let changes = resource(&doc, "role")["changes"]
        .as_array()
        .unwrap()
        .clone();
    let inline = changes
        .iter()
        .find(|c| c["field"] == "inline policy terraform-state-access")
        .unwrap();
    assert_eq!(inline["from"], Value::Null);
    assert!(inline["to"]["Statement"].is_array(), "{inline}");
    let trust = changes
        .iter()
        .find(|c| c["field"] == "trust policy")
        .unwrap();
    assert!(trust["to"]["Statement"].is_array(), "{trust}");
}

#[test]
fn a_hand_removed_sub_condition_on_a_stacks_role_is_flagged_by_status_and_plan() {
    let w = World::start();
    w.test("init")
        .args(["--mode", "cloudformation", "--yes", "-q"])
        .run();
    // moto's CloudFormation skips AWS::IAM::OIDCProvider, so the stack's role trusts no
    // principal there; in AWS it trusts the provider. The hand edit, as it would be in AWS:
    // the provider's trust without its sub condition.
    let widened = w.widened_trust();
    put_trust(&w, &widened);
    let says = format!("ANY-REPOSITORY: every repository of the workspace can assume role {ROLE}");
    // CloudFormation does not revert a change made outside the stack: the line says so.
    for cmd in ["status", "plan"] {
        w.test(cmd)
            .args(["--mode", "cloudformation", "--detailed-exitcode"])
            .expect_exit(2)
            .expect_stdout_contains(says.clone())
            .expect_stdout_contains("which CloudFormation does not revert")
            .expect_no_writes()
            .run();
    }
    let doc = w
        .test("status")
        .args(["--mode", "cloudformation", "--output", "json"])
        .run()
        .json();
    assert_eq!(doc["in_sync"], false, "{doc}");
    assert_eq!(
        doc["trust_verdicts"][0]["breadth"], "any-repository",
        "{doc}"
    );
}
