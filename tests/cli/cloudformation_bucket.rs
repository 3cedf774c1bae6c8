//! The default state bucket of `--mode cloudformation`: a new stack creates it in the account
//! regional namespace (`BucketNamePrefix` + `BucketNamespace`), or under the global name
//! where the region has no such namespace; a stack deployed with the global default name of
//! earlier versions keeps it, with zero writes and no bucket replacement planned; a
//! `--state-bucket` of the account regional form goes to the namespace.
//!
//! moto's CloudFormation ignores `BucketNamePrefix` and `BucketNamespace`; the test harness
//! (tests/moto_faults.py, `bucket_name_prefix`) names such a bucket as CloudFormation does.

use crate::cloudformation_stack::{cfn, STACK};
use crate::common::fixture::World;
use crate::common::inspect::Inspect;
use crate::common::Test;
use crate::state_bucket::default_bucket as settings;
use serde_json::{json, Value};

/// `bootstrap <cmd> --mode cloudformation` for `w` without `--state-bucket`.
fn default_bucket<'a>(w: &'a World, cmd: &str) -> Test<'a> {
    settings(w, cmd).args(cfn(&[]))
}

/// The tool's own inline policy on the stack's role, as text with `"` quotes (moto keeps a
/// policy a stack created in Python's notation, with `'`).
fn role_policy(w: &World) -> String {
    let c = w.clients();
    let out = c
        .block_on(
            c.iam
                .get_role_policy()
                .role_name("bitbucket-pipelines-deploy")
                .policy_name("terraform-state-access")
                .send(),
        )
        .unwrap();
    percent_encoding::percent_decode_str(out.policy_document())
        .decode_utf8()
        .unwrap()
        .replace('\'', "\"")
}

#[test]
fn a_new_stack_creates_its_default_bucket_in_the_account_regional_namespace() {
    let w = World::start_in("eu-west-1");
    let account = w.moto.account_id();
    let name = format!("terraform-state-{account}-eu-west-1-an");
    let out = default_bucket(&w, "init")
        .args(["--yes", "--output", "json"])
        .run();
    let doc = out.json();
    assert_eq!(doc["result"]["status"], "CREATE_COMPLETE", "{doc}");
    let aws = Inspect::new(&w.moto.plain_endpoint());
    assert_eq!(aws.bucket_names(), vec![name.clone()]);
    // The stack hands on that name, and the role is granted that bucket (by reference in
    // the template, so the ARN direct mode grants), not the global name.
    assert!(doc.to_string().contains(&name), "{doc}");
    let policy = role_policy(&w);
    assert!(
        policy.contains(&format!("arn:aws:s3:::{name}\"")),
        "{policy}"
    );
    assert!(
        policy.contains(&format!("arn:aws:s3:::{name}/*")),
        "{policy}"
    );
    let global = format!("arn:aws:s3:::terraform-state-{account}-eu-west-1\"");
    assert!(!policy.contains(&global), "{policy}");
    // A re-run writes nothing, and status finds the stack in sync.
    default_bucket(&w, "init")
        .args(["--yes"])
        .expect_stdout_contains("nothing to change")
        .expect_no_writes()
        .run();
    let out = default_bucket(&w, "status")
        .args(["--output", "json", "--detailed-exitcode"])
        .run();
    assert_eq!(out.json()["in_sync"], true, "{out:?}");
}

#[test]
fn a_new_stack_in_a_region_without_the_namespace_gets_the_global_name() {
    let w = World::start_in("me-south-1");
    let account = w.moto.account_id();
    default_bucket(&w, "init").args(["--yes"]).run();
    let aws = Inspect::new(&w.moto.plain_endpoint());
    assert_eq!(
        aws.bucket_names(),
        vec![format!("terraform-state-{account}-me-south-1")]
    );
}

/// The template an earlier version deployed: today's, with the bucket named as it was then
/// (`BucketName: terraform-state-${AWS::AccountId}-${AWS::Region}`, no condition).
pub fn earlier_template(w: &World, extra: &[&str]) -> String {
    let out = settings(w, "render")
        .args(["--format", "json"])
        .args(extra.iter().copied())
        .run();
    let mut t: Value = serde_json::from_str(&out.stdout).unwrap();
    t.as_object_mut().unwrap().remove("Conditions");
    let props = t["Resources"]["StateBucket"]["Properties"]
        .as_object_mut()
        .unwrap();
    props.remove("BucketNamePrefix");
    props.remove("BucketNamespace");
    props.insert(
        "BucketName".into(),
        json!({ "Fn::Sub": "terraform-state-${AWS::AccountId}-${AWS::Region}" }),
    );
    serde_json::to_string_pretty(&t).unwrap()
}

#[test]
fn a_stack_deployed_with_the_earlier_global_name_keeps_its_bucket_with_zero_writes() {
    let w = World::start_in("eu-west-1");
    let account = w.moto.account_id();
    let global = format!("terraform-state-{account}-eu-west-1");
    let body = earlier_template(&w, &[]);
    let c = w.clients();
    c.block_on(
        c.cloudformation
            .create_stack()
            .stack_name(STACK)
            .template_body(body)
            .capabilities(aws_sdk_cloudformation::types::Capability::CapabilityNamedIam)
            .enable_termination_protection(true)
            .send(),
    )
    .unwrap();
    let status = || {
        let out = c
            .block_on(c.cloudformation.describe_stacks().stack_name(STACK).send())
            .unwrap();
        out.stacks()[0].stack_status().unwrap().as_str().to_string()
    };
    for _ in 0..100 {
        if !status().ends_with("IN_PROGRESS") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(status(), "CREATE_COMPLETE");
    let aws = Inspect::new(&w.moto.plain_endpoint());
    assert_eq!(aws.bucket_names(), vec![global.clone()]);

    // The plan keeps the bucket: nothing to change (a renamed bucket would be replaced).
    default_bucket(&w, "plan")
        .args(["--detailed-exitcode"])
        .expect_stdout_lacks("StateBucket")
        .expect_no_writes()
        .run();
    default_bucket(&w, "init")
        .args(["--yes"])
        .expect_stdout_contains("nothing to change")
        .expect_no_writes()
        .run();
    assert_eq!(aws.bucket_names(), vec![global.clone()]);
    assert!(role_policy(&w).contains(&format!("arn:aws:s3:::{global}\"")));
}

#[test]
fn an_account_regional_state_bucket_goes_to_the_namespace() {
    let w = World::start_in("eu-west-1");
    let account = w.moto.account_id();
    let name = format!("acme-state-{account}-eu-west-1-an");
    default_bucket(&w, "init")
        .args(["--yes", "--state-bucket", &name])
        .run();
    let aws = Inspect::new(&w.moto.plain_endpoint());
    assert_eq!(aws.bucket_names(), vec![name.clone()]);
    assert!(role_policy(&w).contains(&format!("arn:aws:s3:::{name}\"")));
    // Another account's or region's name: refused before any write, naming the fix.
    let other = "acme-state-210987654321-eu-west-1-an";
    default_bucket(&w, "init")
        .args(["--yes", "--state-bucket", other])
        .expect_exit(64)
        .expect_stderr_contains("only that account can create it")
        .expect_no_writes()
        .run();
}
