//! `init` on an account that already has some of the pieces (made by hand before), without
//! a lock table, and outside us-east-1. Hand-made roles and policies, and what adoption never
//! does on its own, are in `init_adopt_roles.rs`.

use crate::common;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, PointInTimeRecoverySpecification,
    PointInTimeRecoveryStatus, ProvisionedThroughput, ScalarAttributeType, SseSpecification,
    SseStatus,
};
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketLocationConstraint, BucketVersioningStatus,
    ExpirationStatus, LifecycleExpiration, LifecycleRule, LifecycleRuleFilter, ObjectOwnership,
    OwnershipControls, OwnershipControlsRule, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    VersioningConfiguration,
};
use serde_json::Value;

use crate::common::aws::{policy_json, Clients};
use crate::common::fixture::{World, BUCKET, ROLE, TABLE};
use crate::common::resource;

/// Create a table by hand: hash key `key` (S); `on_demand` = pay-per-request with deletion
/// protection, else provisioned without; `sse` = encrypted with the AWS-managed KMS key.
fn create_table(aws: &Clients, name: &str, key: &str, on_demand: bool, sse: bool) {
    let mut req = aws
        .dynamodb
        .create_table()
        .table_name(name)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(key)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(key)
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        );
    req = if on_demand {
        req.billing_mode(BillingMode::PayPerRequest)
            .deletion_protection_enabled(true)
    } else {
        req.billing_mode(BillingMode::Provisioned)
            .provisioned_throughput(
                ProvisionedThroughput::builder()
                    .read_capacity_units(1)
                    .write_capacity_units(1)
                    .build()
                    .unwrap(),
            )
    };
    if sse {
        req = req.sse_specification(SseSpecification::builder().enabled(true).build());
    }
    aws.block_on(req.send()).expect("create the table by hand");
}

#[test]
fn a_bare_bucket_and_a_provisioned_table_are_adopted_and_hardened() {
    let w = World::start();
    let aws = w.clients();
    aws.block_on(aws.s3.create_bucket().bucket(BUCKET).send())
        .unwrap();
    // Encrypted (moto ignores SSESpecification in UpdateTable; see the plan test below),
    // but provisioned, without deletion protection or point-in-time recovery.
    create_table(&aws, TABLE, "LockID", false, true);

    let out = w.test("plan").args(["--output", "json"]).run();
    let doc = out.json();
    let actions: Vec<&str> = doc["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["create", "create", "update", "update"], "{doc:#}");

    w.moto.start_recording();
    w.test("init").args(["--yes", "-q"]).run();
    let ops = w.moto.mutating_ops();
    assert!(!ops.contains(&"CreateBucket".to_string()), "{ops:?}");
    assert!(!ops.contains(&"CreateTable".to_string()), "{ops:?}");

    // Hardened now.
    let v = aws
        .block_on(aws.s3.get_bucket_versioning().bucket(BUCKET).send())
        .unwrap();
    assert_eq!(v.status(), Some(&BucketVersioningStatus::Enabled));
    let pab = aws
        .block_on(aws.s3.get_public_access_block().bucket(BUCKET).send())
        .unwrap();
    assert_eq!(
        pab.public_access_block_configuration()
            .unwrap()
            .restrict_public_buckets(),
        Some(true)
    );
    let t = aws
        .block_on(aws.dynamodb.describe_table().table_name(TABLE).send())
        .unwrap()
        .table
        .unwrap();
    assert_eq!(
        t.billing_mode_summary().unwrap().billing_mode(),
        Some(&BillingMode::PayPerRequest)
    );
    assert_eq!(t.deletion_protection_enabled(), Some(true));
    assert_eq!(
        t.sse_description().unwrap().status(),
        Some(&SseStatus::Enabled)
    );
    let backups = aws
        .block_on(
            aws.dynamodb
                .describe_continuous_backups()
                .table_name(TABLE)
                .send(),
        )
        .unwrap();
    assert_eq!(
        backups
            .continuous_backups_description()
            .unwrap()
            .point_in_time_recovery_description()
            .unwrap()
            .point_in_time_recovery_status(),
        Some(&PointInTimeRecoveryStatus::Enabled)
    );
    let out = w.test("status").args(["--output", "json"]).run();
    assert_eq!(out.json()["in_sync"], true, "{out:?}");
}

#[test]
fn an_unencrypted_table_is_planned_for_encryption() {
    let w = World::start();
    let aws = w.clients();
    create_table(&aws, TABLE, "LockID", true, false);
    let out = w.test("plan").args(["--output", "json"]).run();
    let doc = out.json();
    let table = resource(&doc, "lock-table");
    assert_eq!(table["action"], "update");
    assert_eq!(
        table["ops"],
        serde_json::json!([
            { "op": "enable_table_settings", "on_demand": false, "sse": true, "deletion_protection": false },
            { "op": "enable_point_in_time_recovery" },
            // Made by hand: adopted, so tagged as the tool's.
            { "op": "tag_table", "tags": {
                "bootstrap-set": w.issuer.host_path(),
                "bootstrap-version": env!("CARGO_PKG_VERSION"),
                "managed-by": "bootstrap"
            } }
        ])
    );
}

#[test]
#[allow(clippy::too_many_lines, reason = "one scenario, in order")]
fn a_well_configured_bucket_and_table_are_adopted_with_only_what_is_missing() {
    let w = World::start();
    let aws = w.clients();
    let s3 = &aws.s3;
    // A careful admin made the bucket by hand, with their own lifecycle rule...
    aws.block_on(s3.create_bucket().bucket(BUCKET).send())
        .unwrap();
    aws.block_on(
        s3.put_bucket_versioning()
            .bucket(BUCKET)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send(),
    )
    .unwrap();
    let sse = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::Aes256)
        .build()
        .unwrap();
    aws.block_on(
        s3.put_bucket_encryption()
            .bucket(BUCKET)
            .server_side_encryption_configuration(
                ServerSideEncryptionConfiguration::builder()
                    .rules(
                        ServerSideEncryptionRule::builder()
                            .apply_server_side_encryption_by_default(sse)
                            .build(),
                    )
                    .build()
                    .unwrap(),
            )
            .send(),
    )
    .unwrap();
    aws.block_on(
        s3.put_public_access_block()
            .bucket(BUCKET)
            .public_access_block_configuration(
                PublicAccessBlockConfiguration::builder()
                    .block_public_acls(true)
                    .ignore_public_acls(true)
                    .block_public_policy(true)
                    .restrict_public_buckets(true)
                    .build(),
            )
            .send(),
    )
    .unwrap();
    aws.block_on(
        s3.put_bucket_ownership_controls()
            .bucket(BUCKET)
            .ownership_controls(
                OwnershipControls::builder()
                    .rules(
                        OwnershipControlsRule::builder()
                            .object_ownership(ObjectOwnership::BucketOwnerEnforced)
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .send(),
    )
    .unwrap();
    let theirs = LifecycleRule::builder()
        .id("expire-scratch")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("scratch/").build())
        .expiration(LifecycleExpiration::builder().days(30).build())
        .build()
        .unwrap();
    aws.block_on(
        s3.put_bucket_lifecycle_configuration()
            .bucket(BUCKET)
            .lifecycle_configuration(
                BucketLifecycleConfiguration::builder()
                    .rules(theirs)
                    .build()
                    .unwrap(),
            )
            .send(),
    )
    .unwrap();
    // ... and the table with every setting right.
    create_table(&aws, TABLE, "LockID", true, true);
    aws.block_on(
        aws.dynamodb
            .update_continuous_backups()
            .table_name(TABLE)
            .point_in_time_recovery_specification(
                PointInTimeRecoverySpecification::builder()
                    .point_in_time_recovery_enabled(true)
                    .build()
                    .unwrap(),
            )
            .send(),
    )
    .unwrap();

    w.moto.start_recording();
    let out = w.test("init").args(["--yes", "--output", "json"]).run();
    let doc = out.json();
    let table = resource(&doc, "lock-table");
    // Every setting of the table is right; it is only adopted (tagged as the tool's).
    assert_eq!(table["action"], "update", "{doc:#}");
    assert_eq!(table["adopt"], true, "{doc:#}");
    assert_eq!(
        table["ops"],
        serde_json::json!([{"op": "tag_table", "tags": {
            "bootstrap-set": w.issuer.host_path(),
            "bootstrap-version": env!("CARGO_PKG_VERSION"),
            "managed-by": "bootstrap"
        }}]),
        "{doc:#}"
    );
    // Only what was missing on the bucket (the TLS-only policy, the retention rule and the
    // tool's tags, merged into the bucket's own), the table's tags; the provider and role
    // are new.
    let s3_and_db: Vec<(String, String)> = w
        .moto
        .mutating_calls()
        .into_iter()
        .filter(|(s, _)| s != "iam")
        .collect();
    let mut ops: Vec<&str> = s3_and_db.iter().map(|(_, o)| o.as_str()).collect();
    ops.sort();
    assert_eq!(
        ops,
        [
            "PutBucketLifecycleConfiguration",
            "PutBucketPolicy",
            "PutBucketTagging",
            "TagResource"
        ],
        "{s3_and_db:?}"
    );
    // Their lifecycle rule is kept next to the tool's.
    let lc = aws
        .block_on(
            s3.get_bucket_lifecycle_configuration()
                .bucket(BUCKET)
                .send(),
        )
        .unwrap();
    let mut ids: Vec<&str> = lc.rules().iter().filter_map(|r| r.id()).collect();
    ids.sort();
    assert_eq!(ids, ["bootstrap-state-retention", "expire-scratch"]);
    let scratch = lc
        .rules()
        .iter()
        .find(|r| r.id() == Some("expire-scratch"))
        .unwrap();
    assert_eq!(scratch.filter().and_then(|f| f.prefix()), Some("scratch/"));
    assert_eq!(
        scratch.expiration().and_then(LifecycleExpiration::days),
        Some(30)
    );
}

#[test]
fn a_table_with_the_wrong_key_schema_is_refused_before_any_write() {
    let w = World::start();
    let aws = w.clients();
    create_table(&aws, TABLE, "id", true, true);
    // init refuses before any write.
    let out = w
        .test("init")
        .args(["--yes", "-q"])
        .expect_exit(1)
        .expect_no_writes()
        .run();
    let line = out.stderr.lines().last().unwrap_or_default();
    assert!(line.starts_with("error: "), "{out:?}");
    assert!(line.contains(TABLE), "{out:?}");
    assert!(line.contains("LockID"), "{out:?}");
    assert!(line.contains("--lock-table"), "{out:?}");
    assert!(line.contains("--no-lock-table"), "{out:?}");

    // The JSON error names the resource.
    let out = w
        .test("init")
        .args(["--yes", "--output", "json"])
        .expect_exit(1)
        .run();
    assert_eq!(out.json()["error"]["resource"], TABLE);
}

#[test]
fn without_a_lock_table() {
    let w = World::start();
    let aws = w.clients();
    let out = w
        .test("init")
        .args(["--yes", "--no-lock-table", "--output", "json"])
        .run();
    let doc = out.json();
    assert_eq!(doc["outputs"]["lock_table"], Value::Null);
    assert!(doc["resources"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["kind"] != "lock-table"));
    let backend = doc["next_steps"]["backend"].as_str().unwrap();
    // Aligned as `terraform fmt` aligns it: compare with the spacing folded.
    let folded = backend.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(folded.contains("use_lockfile = true"), "{backend}");
    assert!(!backend.contains("dynamodb_table"), "{backend}");

    let tables = aws.block_on(aws.dynamodb.list_tables().send()).unwrap();
    assert!(tables.table_names().is_empty(), "{tables:?}");
    let inline = aws.inline_policy(ROLE, "terraform-state-access");
    assert!(!inline.to_string().contains("dynamodb"), "{inline:#}");

    w.assert_rerun_writes_nothing("init", &["--yes", "--no-lock-table", "-q"]);
}

#[test]
fn outside_us_east_1_the_bucket_gets_a_location_constraint() {
    let w = World::start_in("eu-west-1");
    let aws = w.clients();
    w.moto.start_recording();
    let out = w.test("init").args(["--yes", "--output", "json"]).run();
    assert_eq!(out.json()["outputs"]["region"], "eu-west-1");
    let create = w
        .moto
        .recorded_requests()
        .into_iter()
        .find(|r| common::classify(r).1 == "CreateBucket")
        .expect("a CreateBucket request");
    assert!(
        create
            .body_str()
            .contains("<LocationConstraint>eu-west-1</LocationConstraint>"),
        "{}",
        create.body_str()
    );
    let location = aws
        .block_on(aws.s3.get_bucket_location().bucket(BUCKET).send())
        .unwrap();
    assert_eq!(
        location
            .location_constraint()
            .map(BucketLocationConstraint::as_str),
        Some("eu-west-1")
    );
    // The table lives in eu-west-1 and the role's policy names it there.
    let t = aws
        .block_on(aws.dynamodb.describe_table().table_name(TABLE).send())
        .unwrap()
        .table
        .unwrap();
    let arn = t.table_arn().unwrap();
    assert!(arn.starts_with("arn:aws:dynamodb:eu-west-1:"), "{arn}");
    let inline = aws
        .block_on(
            aws.iam
                .get_role_policy()
                .role_name(ROLE)
                .policy_name("terraform-state-access")
                .send(),
        )
        .unwrap();
    assert!(policy_json(inline.policy_document())
        .to_string()
        .contains(arn));

    w.assert_rerun_writes_nothing("init", &["--yes", "-q"]);
}
