//! The template's Terraform state resources: the bucket, its policy and the lock table, each
//! retained when the stack goes, with the comments that explain them.

use serde_json::{json, Map, Value};

use super::account::DEFAULT_BUCKET;
use super::ids::{BUCKET_ID, BUCKET_POLICY_ID, TABLE_ID};
use super::refs::{tags, Refs};
use super::yaml::Comments;
use crate::model::namespace::{self, Namespace};
use crate::model::state::{ABORT_MULTIPART_DAYS, LIFECYCLE_RULE_ID};
use crate::model::{DesiredBucket, DesiredState, DesiredTable};

/// The condition that holds where S3 has the account regional namespace (the `aws`
/// partition, but for the regions [`namespace::REGIONS_WITHOUT`]).
pub(super) const REGIONAL_CONDITION: &str = "AccountRegionalNamespace";

/// The global default name as the template writes it (before account and region resolve).
const GLOBAL_DEFAULT_SUB: &str = "terraform-state-${AWS::AccountId}-${AWS::Region}";

/// The template's conditions: the namespace condition when the default bucket is named per
/// account and region.
pub(super) fn conditions(d: &DesiredState) -> Option<Map<String, Value>> {
    if d.bucket.name != DEFAULT_BUCKET {
        return None;
    }
    let mut all =
        vec![json!({ "Fn::Equals": [{ "Ref": "AWS::Partition" }, namespace::PARTITION] })];
    all.extend(
        namespace::REGIONS_WITHOUT
            .iter()
            .map(|r| json!({ "Fn::Not": [{ "Fn::Equals": [{ "Ref": "AWS::Region" }, r] }] })),
    );
    let mut m = Map::new();
    m.insert(REGIONAL_CONDITION.into(), json!({ "Fn::And": all }));
    Some(m)
}

/// Whether a deployed template names its bucket with the global default name of earlier
/// versions (`terraform-state-${AWS::AccountId}-${AWS::Region}`, no namespace).
pub fn names_global_default(template: &Value) -> bool {
    let props = &template["Resources"][BUCKET_ID]["Properties"];
    let name = &props["BucketName"];
    props.get("BucketNamePrefix").is_none()
        && (name["Fn::Sub"] == GLOBAL_DEFAULT_SUB || name["Fn::Sub"][0] == GLOBAL_DEFAULT_SUB)
}

/// The properties that name the bucket: per account and region for the default name (in
/// the account regional namespace where the condition holds: S3 appends
/// `-<account>-<region>-an` to `BucketNamePrefix`), `BucketNamePrefix` with the namespace for
/// a `--state-bucket` of the account regional form, `BucketName` otherwise.
fn naming(b: &DesiredBucket, refs: &Refs) -> Map<String, Value> {
    let mut m = Map::new();
    let no_value = json!({ "Ref": "AWS::NoValue" });
    let regional = Namespace::AccountRegional.as_str();
    if b.name == DEFAULT_BUCKET {
        let when = |yes: Value, no: Value| json!({ "Fn::If": [REGIONAL_CONDITION, yes, no] });
        m.insert(
            "BucketName".into(),
            when(no_value.clone(), json!({ "Fn::Sub": GLOBAL_DEFAULT_SUB })),
        );
        m.insert(
            "BucketNamePrefix".into(),
            when(json!(namespace::DEFAULT_PREFIX), no_value.clone()),
        );
        m.insert("BucketNamespace".into(), when(json!(regional), no_value));
        return m;
    }
    let prefix = (b.namespace == Namespace::AccountRegional)
        .then(|| namespace::regional_owner(&b.name).map(|(id, _)| id))
        .flatten()
        .and_then(|id| b.name.split_once(&format!("-{id}-")).map(|(p, _)| p));
    match prefix {
        Some(p) => {
            m.insert("BucketNamePrefix".into(), json!(p));
            m.insert("BucketNamespace".into(), json!(regional));
        }
        None => {
            m.insert("BucketName".into(), refs.string(&b.name));
        }
    }
    m
}

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
    let mut bucket = json!({
        "Type": "AWS::S3::Bucket",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Metadata": { "checkov": { "skip": skips } },
        "Properties": {
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
    });
    let mut props = naming(b, refs);
    if let Some(rest) = bucket["Properties"].as_object() {
        props.extend(rest.clone());
    }
    bucket["Properties"] = Value::Object(props);
    bucket
}

fn bucket_comments(d: &DesiredState, c: &mut Comments) {
    let props = |k: &'static str| ["Resources", BUCKET_ID, "Properties", k];
    c.add(
        &["Resources", BUCKET_ID, "DeletionPolicy"],
        "Retain: deleting the stack, or a change that replaces the bucket, never deletes\n\
         Terraform state. (bootstrap also deploys with RetainExceptOnCreate, so a failed\n\
         first create leaves nothing behind.)",
    );
    // The default name holds the account placeholders, which no --state-bucket can.
    if d.bucket.name == DEFAULT_BUCKET {
        c.add(
            &props("BucketName"),
            "A new setup's bucket: terraform-state-ACCOUNT-REGION-an in the account regional\n\
             namespace, where only this account can create the name (S3 appends\n\
             -ACCOUNT-REGION-an to BucketNamePrefix); terraform-state-ACCOUNT-REGION, a global\n\
             name, in partitions and regions without that namespace.",
        );
    } else if d.bucket.name == namespace::global_default(&d.account) {
        c.add(
            &props("BucketName"),
            "Bucket names are global: account and region make this one unique. The name of\n\
             earlier versions, kept: a new name would replace the bucket and leave the state\n\
             behind.",
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
    c.add(
        &["Resources", BUCKET_POLICY_ID],
        "Refuses every request that is not made over TLS, and keeps every role of the tool to\n\
         its own state (ReadOnlyAccess included): a role tagged bootstrap-state-prefix to the\n\
         objects under that prefix, any other to the state at the top of the bucket.\n\
         The stack owns the whole bucket policy: add statements here, not in the console,\n\
         or the next update removes them.",
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
