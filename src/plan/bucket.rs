//! The state bucket's plan: create it hardened (versioning, encryption, no public access,
//! TLS only, retention), or bring each setting of an existing one up to that, never weaker.

use serde_json::Value;

use super::ownership::{is_managed, tags_to_add};
use super::{FieldChange, FieldValue, Kind, Op, ResourcePlan};
use crate::error::{Error, Result};
use crate::iam::{same, statements_of};
use crate::model::policy::merge_bucket_policy;
use crate::model::DesiredBucket;
use crate::observe::{Encryption, ObservedBucket};

pub use crate::model::state::{ABORT_MULTIPART_DAYS, LIFECYCLE_RULE_ID};

fn encryption_ok(want: &Encryption, have: Option<&Encryption>) -> bool {
    match have {
        None => false,
        Some(h) if want.algorithm == "AES256" => h.algorithm == "AES256",
        Some(h) => h.algorithm == want.algorithm && h.kms_key == want.kms_key && h.bucket_key,
    }
}

/// The bucket policy to write, or None when the owned statements are already in place.
pub fn policy_update(d: &DesiredBucket, existing: Option<&Value>) -> Option<Value> {
    let present = existing.map(statements_of).unwrap_or_default();
    let all_in_place = d.policy_statements.iter().all(|want| {
        present
            .iter()
            .any(|have| have.get("Sid") == want.get("Sid") && same(have, want))
    });
    if all_in_place {
        None
    } else {
        Some(merge_bucket_policy(existing, &d.policy_statements))
    }
}

/// Refuse to weaken the encryption of an existing bucket: SSE-KMS is never switched to
/// SSE-S3 without `--allow-encryption-downgrade`. (Versioning and the public-access block
/// are only ever turned on, never reduced.)
fn refuse_downgrade(d: &DesiredBucket, o: &ObservedBucket) -> Result<()> {
    let Some(have) = &o.encryption else {
        return Ok(());
    };
    if d.kms_key.is_some() || d.allow_encryption_downgrade || !have.algorithm.starts_with("aws:kms")
    {
        return Ok(());
    }
    let key = have
        .kms_key
        .as_deref()
        .unwrap_or("(the AWS managed key aws/s3)");
    let keep = match &have.kms_key {
        Some(k) => format!("pass --kms-key {k} to keep it"),
        None => "pass --kms-key with a key ARN to keep SSE-KMS".to_string(),
    };
    Err(Error::usage(format!(
        "the state bucket is encrypted with SSE-KMS ({} key {key}); without --kms-key, init would switch it to SSE-S3",
        have.algorithm
    ))
    .resource(d.name.clone())
    .hint(format!(
        "{keep}, or --allow-encryption-downgrade to switch it to SSE-S3 on purpose"
    )))
}

pub fn bucket(d: &DesiredBucket, o: Option<&ObservedBucket>) -> Result<ResourcePlan> {
    let Some(o) = o else {
        return Ok(new_bucket(d));
    };
    refuse_downgrade(d, o)?;
    let mut diff = super::Diff::default();
    versioning_and_encryption(d, o, &mut diff);
    access(o, &mut diff);
    if let Some(document) = policy_update(d, o.policy.as_ref()) {
        let change = FieldChange::document("bucket policy", o.policy.as_ref(), &document);
        diff.add(change, Op::PutBucketPolicy { document });
    }
    lifecycle(d, o, &mut diff);
    let super::Diff {
        mut changes,
        mut ops,
    } = diff;
    let add = tags_to_add(&d.tags, &o.tags);
    let mut merged = o.tags.clone();
    merged.extend(add.clone());
    if !is_managed(&o.tags) {
        let plan = ResourcePlan::new(Kind::StateBucket, &d.name, true, changes, ops);
        return Ok(plan.adopting(add, Op::PutBucketTagging { tags: merged }));
    }
    if !add.is_empty() {
        changes.push(FieldChange::new(
            "tags",
            FieldValue::Tags(o.tags.clone()),
            FieldValue::Tags(merged.clone()),
        ));
        ops.push(Op::PutBucketTagging { tags: merged });
    }
    Ok(ResourcePlan::new(
        Kind::StateBucket,
        &d.name,
        true,
        changes,
        ops,
    ))
}

/// A bucket that does not exist yet: create it with every setting.
fn new_bucket(d: &DesiredBucket) -> ResourcePlan {
    let mut changes = vec![
        FieldChange::new("region", "", &d.region),
        FieldChange::new(
            "namespace",
            "",
            FieldValue::Namespace(d.namespace, d.namespace_note.clone()),
        ),
        FieldChange::new("versioning", "", "Enabled"),
        FieldChange::new(
            "encryption",
            "",
            FieldValue::Encryption(Some(d.encryption())),
        ),
        FieldChange::new(
            "public access block",
            "",
            FieldValue::PublicAccessBlock(Some([true; 4])),
        ),
        FieldChange::new("object ownership", "", FieldValue::AclsDisabled),
        FieldChange::new("bucket policy", "", FieldValue::TlsOnly),
        FieldChange::new(
            "lifecycle",
            "",
            FieldValue::Retention {
                noncurrent_days: d.noncurrent_days,
                abort_days: ABORT_MULTIPART_DAYS,
            },
        ),
    ];
    let ops = vec![
        Op::CreateBucket,
        Op::PutVersioning,
        Op::PutEncryption,
        Op::PutPublicAccessBlock,
        Op::PutOwnershipControls,
        Op::PutBucketPolicy {
            document: merge_bucket_policy(None, &d.policy_statements),
        },
        Op::PutLifecycle { keep: Vec::new() },
    ];
    // The tags go in the create call itself (CreateBucketConfiguration.Tags).
    if !d.tags.is_empty() {
        changes.push(FieldChange::new(
            "tags",
            "",
            FieldValue::TagsOnCreate(d.tags.clone()),
        ));
    }
    ResourcePlan::new(Kind::StateBucket, &d.name, false, changes, ops)
}

fn versioning_and_encryption(d: &DesiredBucket, o: &ObservedBucket, diff: &mut super::Diff) {
    if o.versioning.as_deref() != Some("Enabled") {
        let from = o
            .versioning
            .as_ref()
            .map_or(FieldValue::NeverEnabled, FieldValue::from);
        diff.add(
            FieldChange::new("versioning", from, "Enabled"),
            Op::PutVersioning,
        );
    }
    let want = d.encryption();
    if !encryption_ok(&want, o.encryption.as_ref()) {
        let change = FieldChange::new(
            "encryption",
            FieldValue::Encryption(o.encryption.clone()),
            FieldValue::Encryption(Some(want.clone())),
        );
        diff.add(change, Op::PutEncryption);
    }
}

/// The public-access block (all four flags on) and object ownership (ACLs disabled).
fn access(o: &ObservedBucket, diff: &mut super::Diff) {
    if o.public_access_block != Some([true; 4]) {
        diff.add(
            FieldChange::new(
                "public access block",
                FieldValue::PublicAccessBlock(o.public_access_block),
                FieldValue::PublicAccessBlock(Some([true; 4])),
            ),
            Op::PutPublicAccessBlock,
        );
    }
    if o.ownership.as_deref() != Some("BucketOwnerEnforced") {
        let from = o
            .ownership
            .as_ref()
            .map_or(FieldValue::Absent, FieldValue::from);
        diff.add(
            FieldChange::new("object ownership", from, "BucketOwnerEnforced"),
            Op::PutOwnershipControls,
        );
    }
}

/// The tool's retention rule; rules the tool does not own are kept as they are.
fn lifecycle(d: &DesiredBucket, o: &ObservedBucket, diff: &mut super::Diff) {
    let ours = o.lifecycle.iter().find(|r| r.id == LIFECYCLE_RULE_ID);
    if ours == Some(&d.lifecycle()) {
        return;
    }
    let from = FieldValue::Lifecycle(ours.cloned());
    let to = FieldValue::Lifecycle(Some(d.lifecycle()));
    let keep = o
        .lifecycle_raw
        .iter()
        .filter(|r| r.id() != Some(LIFECYCLE_RULE_ID))
        .cloned()
        .collect();
    diff.add(
        FieldChange::new("lifecycle", from, to),
        Op::PutLifecycle { keep },
    );
}
