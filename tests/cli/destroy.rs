//! `bootstrap destroy` against moto: the state and every version of it survive, refusals
//! touch nothing, and a re-run makes no change. End state is read with the AWS SDK
//! directly and writes are counted by moto's recorder, not by the tool. CloudFormation mode is
//! in `destroy_stack.rs`.

use crate::common::fixture::World;
use crate::common::inspect::Inspect;
use serde_json::json;

pub const ROLE: &str = "bitbucket-pipelines-deploy";
pub const BUCKET: &str = "tf-state-test";
pub const TABLE: &str = "terraform-state-lock";

fn provider_arn(w: &World) -> String {
    format!(
        "arn:aws:iam::{}:oidc-provider/{}",
        w.moto.account_id(),
        w.issuer.host_path()
    )
}

pub fn init(w: &World, extra: &[&str]) {
    let mut args = vec!["--yes"];
    args.extend_from_slice(extra);
    w.test("init").args(&args).run();
}

fn sorted(mut v: Vec<(String, String)>) -> Vec<(String, String)> {
    v.sort();
    v
}

#[test]
#[allow(clippy::too_many_lines, reason = "one scenario, in order")]
fn destroy_keeps_every_state_version_and_refuses_to_delete_a_non_empty_bucket() {
    let w = World::start();
    let aws = Inspect::new(&w.moto.plain_endpoint());
    let extra_policy = aws.create_policy(
        "deploy-extra",
        &json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]}),
    );
    init(&w, &["--policy-arn", &extra_policy]);
    assert_eq!(aws.attached_policy_arns(ROLE), vec![extra_policy.clone()]);

    // Terraform state with history: three versions of one key, and a deleted key (one
    // version plus a delete marker).
    let bodies = aws.without_bucket_policy(BUCKET, || {
        let mut bodies = Vec::new();
        for serial in 1..=3 {
            let body = format!("{{\"version\": 4, \"serial\": {serial}}}");
            let id = aws.put_object(BUCKET, "env/prod.tfstate", &body);
            bodies.push(("env/prod.tfstate".to_string(), id, body));
        }
        let old = aws.put_object(BUCKET, "old.tfstate", "{\"serial\": 9}");
        bodies.push((
            "old.tfstate".to_string(),
            old,
            "{\"serial\": 9}".to_string(),
        ));
        aws.delete_object(BUCKET, "old.tfstate");
        bodies
    });
    let before = aws.versions(BUCKET);
    assert_eq!(before.len(), 5, "{before:?}");
    assert_eq!(before.iter().filter(|v| v.delete_marker).count(), 1);

    // --delete-state on a bucket that holds anything: refused, nothing touched.
    w.moto.start_recording();
    let out = w
        .test("destroy")
        .args(["--yes", "--delete-state"])
        .expect_exit(64)
        .run();
    let line = out
        .stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| panic!("no error line\n{out:?}"));
    assert!(line.contains(BUCKET), "{out:?}");
    assert!(line.contains("4 object versions"), "{out:?}");
    assert!(line.contains("1 delete marker"), "{out:?}");
    assert!(line.contains("env/prod.tfstate (3)"), "{out:?}");
    assert!(line.contains("old.tfstate (2)"), "{out:?}");
    assert_eq!(
        out.stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .count(),
        1,
        "{out:?}"
    );
    assert_eq!(w.moto.mutating_calls(), vec![], "a refusal must not write");
    assert!(aws.role_exists(ROLE));
    assert_eq!(aws.provider_arns(), vec![provider_arn(&w)]);
    // The same refusal for scripts: one JSON document on stdout.
    let out = w
        .test("destroy")
        .args(["--yes", "--delete-state", "--output", "json"])
        .expect_exit(64)
        .run();
    let doc = out.json();
    assert_eq!(doc["exit_code"], json!(64), "{out:?}");
    assert_eq!(doc["error"]["kind"], json!("usage"), "{out:?}");
    assert!(
        doc["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("env/prod.tfstate (3)")),
        "{out:?}"
    );
    assert_eq!(w.moto.mutating_calls(), vec![]);

    // Plain destroy: role and provider go, state stays.
    w.moto.start_recording();
    let out = w.test("destroy").args(["--yes", "--output", "json"]).run();
    let doc = out.json();
    assert_eq!(doc["deleted"], json!(true), "{out:?}");
    let writes = sorted(w.moto.mutating_calls());
    assert_eq!(
        writes,
        sorted(vec![
            ("iam".into(), "DeleteRolePolicy".into()),
            ("iam".into(), "DetachRolePolicy".into()),
            ("iam".into(), "DeleteRole".into()),
            ("iam".into(), "DeleteOpenIDConnectProvider".into()),
        ]),
        "only the role and the provider may be touched"
    );
    assert!(!aws.role_exists(ROLE));
    assert_eq!(aws.provider_arns(), Vec::<String>::new());
    assert!(
        aws.policy_exists(&extra_policy),
        "a detached managed policy is not deleted"
    );
    assert!(aws.bucket_exists(BUCKET));
    assert!(aws.table_exists(TABLE));
    assert_eq!(aws.versions(BUCKET), before, "every version survives");
    aws.without_bucket_policy(BUCKET, || {
        for (key, id, body) in &bodies {
            assert_eq!(&aws.object_version_body(BUCKET, key, id), body);
        }
    });

    // A re-run has nothing to do and makes no write.
    w.test("destroy")
        .arg("--yes")
        .expect_stdout_contains("nothing to delete")
        .expect_no_writes()
        .run();

    // Even now, --delete-state does not touch the bucket or the table.
    w.test("destroy")
        .args(["--yes", "--delete-state"])
        .expect_exit(64)
        .expect_no_writes()
        .run();
    assert_eq!(aws.versions(BUCKET), before);
}

#[test]
fn a_provider_another_role_trusts_is_kept_even_when_forced() {
    let w = World::start();
    let aws = Inspect::new(&w.moto.plain_endpoint());
    init(&w, &[]);
    let hp = w.issuer.host_path();
    aws.create_role(
        "other-team-deploy",
        &json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn(&w)},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {format!("{hp}:aud"): w.audience()}}
            }]
        }),
    );

    // The role goes without --force; the provider stays for the role that still trusts it,
    // and the output says so.
    w.test("destroy")
        .args(["--yes"])
        .expect_stdout_contains("oidc provider kept")
        .expect_stdout_contains("other-team-deploy outside these settings")
        .expect_stdout_contains("destroy those roles first")
        .run();
    assert!(!aws.role_exists(ROLE));
    assert_eq!(aws.provider_arns(), vec![provider_arn(&w)]);

    // --force only lets destroy delete what bootstrap did not create: the provider still
    // stays, with the state bucket and table, while another role trusts it.
    let out = w
        .test("destroy")
        .args(["--yes", "--force", "--delete-state"])
        .expect_stdout_contains("oidc provider kept")
        .run();
    assert_eq!(aws.provider_arns(), vec![provider_arn(&w)]);
    assert!(aws.bucket_exists(BUCKET), "{out:?}");
    assert!(aws.table_exists(TABLE), "{out:?}");
    assert!(
        aws.role_exists("other-team-deploy"),
        "never deletes other roles"
    );

    // With the last role that trusts it gone, the provider goes too.
    aws.block(aws.iam.delete_role().role_name("other-team-deploy").send())
        .expect("DeleteRole");
    w.test("destroy").args(["--yes"]).run();
    assert_eq!(aws.provider_arns(), Vec::<String>::new());
}

#[test]
#[allow(clippy::too_many_lines, reason = "one scenario, in order")]
fn resources_bootstrap_did_not_create_are_deleted_only_with_force() {
    let w = World::start();
    let aws = Inspect::new(&w.moto.plain_endpoint());
    let clients = w.clients();
    // Made by hand, no managed-by tag: a provider for this issuer, a role that trusts it,
    // an empty bucket and a lock table.
    clients
        .block_on(
            clients
                .iam
                .create_open_id_connect_provider()
                .url(w.issuer.url())
                .client_id_list(w.audience())
                .thumbprint_list("a".repeat(40))
                .send(),
        )
        .unwrap();
    aws.create_role(
        ROLE,
        &json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn(&w)},
            "Action": "sts:AssumeRoleWithWebIdentity"
        }]}),
    );
    clients
        .block_on(clients.s3.create_bucket().bucket(BUCKET).send())
        .unwrap();
    let key = aws_sdk_dynamodb::types::KeySchemaElement::builder()
        .attribute_name("LockID")
        .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
        .build()
        .unwrap();
    let attr = aws_sdk_dynamodb::types::AttributeDefinition::builder()
        .attribute_name("LockID")
        .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
        .build()
        .unwrap();
    clients
        .block_on(
            clients
                .dynamodb
                .create_table()
                .table_name(TABLE)
                .key_schema(key)
                .attribute_definitions(attr)
                .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
                .send(),
        )
        .unwrap();

    w.moto.start_recording();
    let out = w
        .test("destroy")
        .args(["--yes", "--delete-state"])
        .expect_exit(64)
        .run();
    let error = out
        .stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| panic!("{out:?}"));
    for part in [
        format!("role {ROLE}: it has no managed-by=bootstrap tag"),
        format!(
            "oidc provider {}: it has no managed-by=bootstrap tag",
            provider_arn(&w)
        ),
        format!("state bucket {BUCKET}: it has no managed-by=bootstrap tag"),
        format!("lock table {TABLE}: it has no managed-by=bootstrap tag"),
        "--force".to_string(),
    ] {
        let part = part.as_str();
        assert!(error.contains(part), "{part}\n{out:?}");
    }
    assert_eq!(w.moto.mutating_calls(), vec![], "a refusal must not write");
    assert!(aws.role_exists(ROLE));
    assert_eq!(aws.provider_arns(), vec![provider_arn(&w)]);
    assert!(aws.bucket_exists(BUCKET));
    assert!(aws.table_exists(TABLE));

    let out = w
        .test("destroy")
        .args(["--yes", "--delete-state", "--force"])
        .run();
    assert!(
        out.stderr.contains("deleted anyway: --force"),
        "the plan says they were not the tool's\n{out:?}"
    );
    assert!(!aws.role_exists(ROLE));
    assert_eq!(aws.provider_arns(), Vec::<String>::new());
    assert!(!aws.bucket_exists(BUCKET));
    assert!(!aws.table_exists(TABLE));
}

#[test]
fn delete_state_removes_an_empty_bucket_and_an_idle_table_only() {
    let w = World::start();
    let aws = Inspect::new(&w.moto.plain_endpoint());
    init(&w, &[]);
    assert!(aws.table_protection(TABLE).0, "init protects the table");

    // A held lock (Terraform writes LockID = <bucket>/<key> with Info while it runs).
    let lock = format!("{BUCKET}/env/prod.tfstate");
    aws.put_lock_item(TABLE, &lock, Some("{\"Operation\":\"OperationTypeApply\"}"));
    w.moto.start_recording();
    w.test("destroy")
        .args(["--yes", "--delete-state"])
        .expect_exit(64)
        .expect_stderr_contains(&lock)
        .run();
    assert_eq!(w.moto.mutating_calls(), vec![]);

    // Released; only a digest item left (not a lock).
    aws.delete_lock_item(TABLE, &lock);
    aws.put_lock_item(TABLE, &format!("{lock}-md5"), None);
    w.moto.start_recording();
    w.test("destroy").args(["--yes", "--delete-state"]).run();
    let writes = w.moto.mutating_calls();
    let pos = |op: &str| writes.iter().position(|(_, o)| o == op);
    let unprotect = pos("UpdateTable").expect("deletion protection turned off");
    let delete = pos("DeleteTable").expect("table deleted");
    assert!(unprotect < delete, "{writes:?}");
    assert!(pos("DeleteBucket").is_some(), "{writes:?}");
    assert!(
        !writes
            .iter()
            .any(|(_, o)| o.starts_with("DeleteObject") || o == "PutObject"),
        "never touches objects: {writes:?}"
    );
    assert!(!aws.bucket_exists(BUCKET));
    assert!(!aws.table_exists(TABLE));
    assert!(!aws.role_exists(ROLE));
}

#[test]
fn destroy_without_yes_and_without_a_terminal_shows_the_plan_and_changes_nothing() {
    let w = World::start();
    let aws = Inspect::new(&w.moto.plain_endpoint());
    init(&w, &[]);
    w.moto.start_recording();
    let out = w.test("destroy").expect_exit(64).run();
    assert!(
        out.stderr.contains(ROLE),
        "the plan names the role\n{out:?}"
    );
    assert!(out.stderr.contains("keep"), "{out:?}");
    assert!(out.stderr.contains("--yes"), "{out:?}");
    assert_eq!(w.moto.mutating_calls(), vec![]);
    assert!(aws.role_exists(ROLE));
}
