//! The template's Terraform state resources: the bucket, its policy and the lock table, each
//! retained when the stack goes, with the comments that explain them.

use serde_json::{json, Map, Value};

use super::ids::{BUCKET_ID, BUCKET_POLICY_ID, TABLE_ID};
use super::refs::{tags, Refs};
use super::yaml::Comments;
use crate::model::state::{ABORT_MULTIPART_DAYS, LIFECYCLE_RULE_ID};
use crate::model::{namespace, DesiredBucket, DesiredState, DesiredTable};

/// Default encryption: SSE-KMS with a bucket key for `--kms-key`, SSE-S3 otherwise (as
/// direct mode configures it).
fn encryption_rule(b: &DesiredBucket, refs: &Refs) -> Value {
    let mut by_default = Map::new();
    match &b.kms_key {
        Some(k) => {
            by_default.insert("SSEAlgorithm".into(), json!("aws:kms"));
            by_default.insert("KMSMasterKeyID".into(), refs.string(k));
        }
        None => {
            by_default.insert("SSEAlgorithm".into(), json!("AES256"));
        }
    }
    let mut rule = Map::new();
    rule.insert(
        "ServerSideEncryptionByDefault".into(),
        Value::Object(by_default),
    );
    if b.kms_key.is_some() {
        rule.insert("BucketKeyEnabled".into(), json!(true));
    }
    Value::Object(rule)
}

/// The `AWS::S3::Bucket` resource.
pub(super) fn bucket(d: &DesiredState, refs: &Refs, c: &mut Comments) -> Value {
    let b = &d.bucket;
    let skips = json!([{
        "id": "CKV_AWS_18",
        "comment": "Access logging needs a second bucket to receive the logs, which was not asked for; CloudTrail data events are the usual audit trail for state access.",
    }]);
    bucket_comments(d, c);
    json!({
        "Type": "AWS::S3::Bucket",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Metadata": { "checkov": { "skip": skips } },
        "Properties": {
            "BucketName": refs.string(&b.name),
            "VersioningConfiguration": { "Status": "Enabled" },
            "BucketEncryption": { "ServerSideEncryptionConfiguration": [encryption_rule(b, refs)] },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": true,
                "BlockPublicPolicy": true,
                "IgnorePublicAcls": true,
                "RestrictPublicBuckets": true,
            },
            "OwnershipControls": { "Rules": [{ "ObjectOwnership": "BucketOwnerEnforced" }] },
            "LifecycleConfiguration": {
                "Rules": [{
                    "Id": LIFECYCLE_RULE_ID,
                    "Status": "Enabled",
                    "NoncurrentVersionExpiration": { "NoncurrentDays": b.noncurrent_days },
                    "AbortIncompleteMultipartUpload": { "DaysAfterInitiation": ABORT_MULTIPART_DAYS },
                }]
            },
            "Tags": tags(&b.tags),
        }
    })
}

fn bucket_comments(d: &DesiredState, c: &mut Comments) {
    let props = |k: &'static str| ["Resources", BUCKET_ID, "Properties", k];
    c.add(
        &["Resources", BUCKET_ID, "DeletionPolicy"],
        "Retain: deleting the stack, or a change that replaces the bucket, never deletes\n\
         Terraform state. (bootstrap also deploys with RetainExceptOnCreate, so a failed\n\
         first create leaves nothing behind.)",
    );
    // The default name holds the account placeholders, which no --state-bucket can. A
    // template keeps the global default name: a stack deployed with it would replace its
    // bucket (and leave the state behind) were the name to change.
    if d.bucket.name == namespace::global_default(&d.account) {
        c.add(
            &props("BucketName"),
            "Bucket names are global: account and region make this one unique.",
        );
    }
    c.add(
        &props("VersioningConfiguration"),
        "Every state write keeps the previous version, so a bad apply can be undone.",
    );
    c.add(
        &props("OwnershipControls"),
        "ACLs disabled: the bucket policy and IAM alone decide access.",
    );
    c.add(
        &props("LifecycleConfiguration"),
        &format!(
            "Old state versions are kept {} days (--noncurrent-days); unfinished uploads are\n\
             removed after {ABORT_MULTIPART_DAYS}.",
            d.bucket.noncurrent_days
        ),
    );
}

/// The `AWS::S3::BucketPolicy` resource: the statements the tool owns, the whole policy.
pub(super) fn bucket_policy(d: &DesiredState, refs: &Refs, c: &mut Comments) -> Value {
    let confined = d
        .bucket
        .policy_statements
        .iter()
        .any(|s| s["Sid"] == crate::model::policy::STATE_PREFIX_SID);
    c.add(
        &["Resources", BUCKET_POLICY_ID],
        if confined {
            "Refuses every request that is not made over TLS, and keeps every role tagged\n\
             bootstrap-state-prefix to the objects under its own prefix (ReadOnlyAccess included).\n\
             The stack owns the whole bucket policy: add statements here, not in the console,\n\
             or the next update removes them."
        } else {
            "Refuses every request that is not made over TLS. The stack owns the whole bucket\n\
             policy: add statements here, not in the console, or the next update removes them."
        },
    );
    json!({
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "Bucket": { "Ref": BUCKET_ID },
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": refs.value(&Value::Array(d.bucket.policy_statements.clone())),
            }
        }
    })
}

/// The `AWS::DynamoDB::Table` resource.
pub(super) fn table(t: &DesiredTable, c: &mut Comments) -> Value {
    c.add(
        &["Resources", TABLE_ID],
        "Terraform before 1.11 locks state here (dynamodb_table); 1.11 and later can lock\n\
         in the bucket instead (use_lockfile = true) and need no table (--no-lock-table).",
    );
    json!({
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Metadata": { "checkov": { "skip": [{
            "id": "CKV_AWS_119",
            "comment": "The lock table holds lock entries and state checksums, never state; it is encrypted at rest with the AWS managed key, as in direct mode. A customer-managed key was not asked for.",
        }] } },
        "Properties": {
            "TableName": t.name,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{ "AttributeName": "LockID", "AttributeType": "S" }],
            "KeySchema": [{ "AttributeName": "LockID", "KeyType": "HASH" }],
            "SSESpecification": { "SSEEnabled": true },
            "PointInTimeRecoverySpecification": { "PointInTimeRecoveryEnabled": true },
            "DeletionProtectionEnabled": true,
            "Tags": tags(&t.tags),
        }
    })
}
