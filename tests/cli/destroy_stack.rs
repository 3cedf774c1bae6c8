//! `bootstrap destroy --mode cloudformation` against moto: the stack is deleted and the
//! retained state kept, the text report names what remains, and without a stack there is
//! nothing to do. moto lacks UpdateTerminationProtection and deletes protected stacks;
//! `Moto::start_with_faults` plays the first and refuses the second as AWS does
//! (tests/moto_faults.py), so these runs prove protection is turned off before DeleteStack.

use crate::cloudformation_stack::{cfn, STACK};
use crate::common::fixture::World;
use crate::common::inspect::Inspect;
use crate::destroy::{BUCKET, ROLE, TABLE};
use serde_json::json;

/// `(status, termination protection)` of the stack named `STACK`, read with the SDK; `None`
/// when CloudFormation has no such stack.
fn stack_now(w: &World) -> Option<(String, Option<bool>)> {
    use aws_sdk_cloudformation::config::{BehaviorVersion, Credentials, Region};
    let conf = aws_sdk_cloudformation::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(w.moto.plain_endpoint())
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .build();
    let client = aws_sdk_cloudformation::Client::from_conf(conf);
    let out = w
        .clients()
        .block_on(client.describe_stacks().stack_name(STACK).send());
    match out {
        Ok(o) => o.stacks().first().map(|s| {
            (
                s.stack_status().unwrap().as_str().to_string(),
                s.enable_termination_protection(),
            )
        }),
        Err(e) => {
            let msg = format!("{e:?}");
            assert!(msg.contains("does not exist"), "{msg}");
            None
        }
    }
}

#[test]
#[allow(clippy::too_many_lines, reason = "one scenario, in order")]
fn destroy_cloudformation_deletes_the_stack_and_keeps_the_retained_state() {
    let w = World::start_with_faults();
    let aws = Inspect::new(&w.moto.plain_endpoint());
    w.test("init").args(cfn(&["--yes"])).run();
    assert_eq!(
        stack_now(&w),
        Some(("CREATE_COMPLETE".to_string(), Some(true)))
    );
    assert!(aws.role_exists(ROLE));
    assert!(aws.bucket_exists(BUCKET));
    assert!(aws.table_exists(TABLE));

    // Without --yes and without a terminal: shown, refused, nothing written.
    w.moto.start_recording();
    let out = w
        .test("destroy")
        .args(cfn(&[]))
        .expect_exit(64)
        .expect_stderr_contains("--yes")
        .expect_stderr_contains(format!("stack {STACK}"))
        .expect_stderr_contains("deleted with the stack")
        .run();
    assert!(
        out.stderr
            .lines()
            .any(|l| l.contains(BUCKET) && l.contains("retained (DeletionPolicy: Retain)")),
        "the bucket is listed as retained by its physical id\n{out:?}"
    );
    assert!(
        out.stderr
            .lines()
            .any(|l| l.contains(TABLE) && l.contains("retained")),
        "{out:?}"
    );
    assert_eq!(w.moto.mutating_calls(), vec![], "a refusal must not write");
    assert_eq!(
        stack_now(&w),
        Some(("CREATE_COMPLETE".to_string(), Some(true)))
    );

    // --delete-state, --force and --stackset: refused before any AWS call.
    w.moto.start_recording();
    for (extra, needle) in [
        (cfn(&["--yes", "--delete-state"]), "--delete-state"),
        (cfn(&["--yes", "--force"]), "--force"),
        (vec!["--yes", "--stackset", "org"], "not supported"),
    ] {
        let out = w.test("destroy").args(&extra).expect_exit(64).run();
        let errors: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .collect();
        assert_eq!(errors.len(), 1, "{extra:?}: {out:?}");
        assert!(errors[0].contains(needle), "{extra:?}: {out:?}");
    }
    assert_eq!(w.moto.calls(), vec![], "refused before any AWS call");

    // With --yes: protection off, then DeleteStack; the stack is gone, the state stays.
    w.moto.start_recording();
    let out = w
        .test("destroy")
        .args(cfn(&["--yes", "--output", "json"]))
        .run();
    let writes = w.moto.mutating_calls();
    assert_eq!(
        writes,
        vec![
            (
                "cloudformation".to_string(),
                "UpdateTerminationProtection".to_string()
            ),
            ("cloudformation".to_string(), "DeleteStack".to_string()),
        ],
        "only the stack is touched, protection first\n{out:?}"
    );
    let off = w
        .moto
        .recorded_requests()
        .into_iter()
        .find(|r| r.action.as_deref() == Some("UpdateTerminationProtection"))
        .unwrap();
    assert_eq!(
        off.param("EnableTerminationProtection").as_deref(),
        Some("false")
    );
    assert_eq!(stack_now(&w), None, "the stack is gone");
    assert!(!aws.role_exists(ROLE), "the role went with the stack");
    // moto honours DeletionPolicy: Retain (it skips those resources on delete), so this
    // is the real retain semantics, read back with the SDK.
    assert!(aws.bucket_exists(BUCKET), "the bucket is retained");
    assert!(aws.table_exists(TABLE), "the table is retained");
    let doc = out.json();
    assert_eq!(doc["deleted"], json!(true), "{doc}");
    assert_eq!(doc["result"]["status"], json!("DELETE_COMPLETE"), "{doc}");
    let mut retained: Vec<(String, bool)> = doc["retained"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["physical_id"].as_str().unwrap().to_string(),
                r["exists"].as_bool().unwrap(),
            )
        })
        .collect();
    retained.sort();
    assert_eq!(
        retained,
        vec![(TABLE.to_string(), true), (BUCKET.to_string(), true)],
        "{doc}"
    );

    // Again: nothing to do, exit 0, no write.
    w.test("destroy")
        .args(cfn(&["--yes"]))
        .expect_stdout_contains("nothing to delete")
        .expect_no_writes()
        .run();
}

#[test]
fn destroy_cloudformation_text_report_names_what_remains() {
    let w = World::start_with_faults();
    w.test("init").args(cfn(&["--yes"])).run();
    let out = w
        .test("destroy")
        .args(cfn(&["--yes"]))
        .expect_stdout_contains(format!("stack {STACK}: deleted (DELETE_COMPLETE)"))
        .expect_stdout_contains("retained by their DeletionPolicy")
        .run();
    assert!(
        out.stdout
            .lines()
            .any(|l| l.contains(BUCKET) && l.contains("still in the account")),
        "{out:?}"
    );
    assert!(out.stdout.contains("aws s3api delete-bucket"), "{out:?}");
    assert!(
        out.stderr.contains("DELETE_COMPLETE"),
        "events are streamed: {out:?}"
    );
}

#[test]
fn destroy_cloudformation_without_a_stack_has_nothing_to_do() {
    let w = World::start();
    w.moto.start_recording();
    w.test("destroy")
        .args(cfn(&["--stack-name", "no-such-stack"]))
        .expect_stdout_contains(
            "stack no-such-stack does not exist in us-east-1: nothing to delete",
        )
        .run();
    assert_eq!(w.moto.mutating_calls(), vec![]);
}
