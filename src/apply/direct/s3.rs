use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, BucketLocationConstraint,
    BucketVersioningStatus, CreateBucketConfiguration, ExpirationStatus, LifecycleRule,
    LifecycleRuleFilter, NoncurrentVersionExpiration, ObjectOwnership, OwnershipControls,
    OwnershipControlsRule, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    Tag, Tagging, VersioningConfiguration,
};
use futures::future::try_join_all;

use crate::aws::{classify, errors, Aws};
use crate::error::{Error, Result};
use crate::model::DesiredBucket;
use crate::plan::bucket::{desired_encryption, ABORT_MULTIPART_DAYS, LIFECYCLE_RULE_ID};
use crate::plan::Op;
use crate::report::Reporter;

fn built<T, E: std::fmt::Display>(r: std::result::Result<T, E>) -> Result<T> {
    r.map_err(|e| Error::failure(format!("building an S3 request: {e}")))
}

/// The lifecycle rule the tool owns.
pub fn retention_rule(d: &DesiredBucket) -> Result<LifecycleRule> {
    built(
        LifecycleRule::builder()
            .id(LIFECYCLE_RULE_ID)
            .status(ExpirationStatus::Enabled)
            .filter(LifecycleRuleFilter::builder().prefix("").build())
            .noncurrent_version_expiration(
                NoncurrentVersionExpiration::builder()
                    .noncurrent_days(d.noncurrent_days)
                    .build(),
            )
            .abort_incomplete_multipart_upload(
                AbortIncompleteMultipartUpload::builder()
                    .days_after_initiation(ABORT_MULTIPART_DAYS)
                    .build(),
            )
            .build(),
    )
}

async fn create(aws: &Aws, d: &DesiredBucket, reporter: &Reporter) -> Result<bool> {
    let mut req = aws.s3.create_bucket().bucket(&d.name);
    // us-east-1 takes no LocationConstraint; every other region needs one.
    if d.region != "us-east-1" {
        req = req.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(d.region.as_str()))
                .build(),
        );
    }
    match req.send().await {
        Ok(_) => {
            reporter.progress(format!("created bucket {} in {}", d.name, d.region));
            Ok(true)
        }
        Err(e) if errors::is(&e, &["BucketAlreadyOwnedByYou"]) => {
            reporter.progress(format!(
                "bucket {} already belongs to this account; adopted",
                d.name
            ));
            Ok(false)
        }
        Err(e) if errors::is(&e, &["BucketAlreadyExists"]) => Err(Error::failure(
            "the bucket name is taken by another AWS account (bucket names are global)",
        )
        .resource(d.name.clone())
        .code("BucketAlreadyExists")
        .hint("choose another name with --state-bucket")),
        Err(e) => Err(classify(&e, "creating the bucket", &d.name)),
    }
}

pub async fn apply_bucket(
    aws: &Aws,
    d: &DesiredBucket,
    ops: &[Op],
    reporter: &Reporter,
) -> Result<()> {
    if ops.iter().any(|o| matches!(o, Op::CreateBucket)) {
        create(aws, d, reporter).await?;
    }
    let s3 = &aws.s3;
    let name = d.name.as_str();
    let calls = ops
        .iter()
        .filter(|o| !matches!(o, Op::CreateBucket))
        .map(|op| async move {
            match op {
                Op::PutVersioning => {
                    s3.put_bucket_versioning()
                        .bucket(name)
                        .versioning_configuration(
                            VersioningConfiguration::builder()
                                .status(BucketVersioningStatus::Enabled)
                                .build(),
                        )
                        .send()
                        .await
                        .map_err(|e| classify(&e, "enabling versioning", name))?;
                    reporter.progress(format!("enabled versioning on bucket {name}"));
                }
                Op::PutEncryption => {
                    let want = desired_encryption(d);
                    let default = built(
                        ServerSideEncryptionByDefault::builder()
                            .sse_algorithm(if want.kms_key.is_some() {
                                ServerSideEncryption::AwsKms
                            } else {
                                ServerSideEncryption::Aes256
                            })
                            .set_kms_master_key_id(want.kms_key.clone())
                            .build(),
                    )?;
                    let config = built(
                        ServerSideEncryptionConfiguration::builder()
                            .rules(
                                ServerSideEncryptionRule::builder()
                                    .apply_server_side_encryption_by_default(default)
                                    .bucket_key_enabled(want.bucket_key)
                                    .build(),
                            )
                            .build(),
                    )?;
                    s3.put_bucket_encryption()
                        .bucket(name)
                        .server_side_encryption_configuration(config)
                        .send()
                        .await
                        .map_err(|e| classify(&e, "setting default encryption", name))?;
                    reporter.progress(format!(
                        "set default encryption ({}) on bucket {name}",
                        want.algorithm
                    ));
                }
                Op::PutPublicAccessBlock => {
                    s3.put_public_access_block()
                        .bucket(name)
                        .public_access_block_configuration(
                            PublicAccessBlockConfiguration::builder()
                                .block_public_acls(true)
                                .ignore_public_acls(true)
                                .block_public_policy(true)
                                .restrict_public_buckets(true)
                                .build(),
                        )
                        .send()
                        .await
                        .map_err(|e| classify(&e, "blocking public access", name))?;
                    reporter.progress(format!("blocked all public access to bucket {name}"));
                }
                Op::PutOwnershipControls => {
                    let rule = built(
                        OwnershipControlsRule::builder()
                            .object_ownership(ObjectOwnership::BucketOwnerEnforced)
                            .build(),
                    )?;
                    let controls = built(OwnershipControls::builder().rules(rule).build())?;
                    s3.put_bucket_ownership_controls()
                        .bucket(name)
                        .ownership_controls(controls)
                        .send()
                        .await
                        .map_err(|e| classify(&e, "disabling ACLs (BucketOwnerEnforced)", name))?;
                    reporter.progress(format!("disabled ACLs on bucket {name}"));
                }
                Op::PutBucketPolicy { document } => {
                    s3.put_bucket_policy()
                        .bucket(name)
                        .policy(document.to_string())
                        .send()
                        .await
                        .map_err(|e| classify(&e, "writing the bucket policy", name))?;
                    reporter.progress(format!("wrote the TLS-only bucket policy on {name}"));
                }
                Op::PutLifecycle { keep } => {
                    let mut rules = keep.clone();
                    rules.push(retention_rule(d)?);
                    let config = built(
                        BucketLifecycleConfiguration::builder()
                            .set_rules(Some(rules))
                            .build(),
                    )?;
                    s3.put_bucket_lifecycle_configuration()
                        .bucket(name)
                        .lifecycle_configuration(config)
                        .send()
                        .await
                        .map_err(|e| classify(&e, "writing the lifecycle rules", name))?;
                    reporter.progress(format!(
                        "set lifecycle on bucket {name}: old versions expire after {} days",
                        d.noncurrent_days
                    ));
                }
                Op::PutBucketTagging { tags } => {
                    let tags = tags
                        .iter()
                        .map(|(k, v)| built(Tag::builder().key(k).value(v).build()))
                        .collect::<Result<Vec<_>>>()?;
                    let tagging = built(Tagging::builder().set_tag_set(Some(tags)).build())?;
                    s3.put_bucket_tagging()
                        .bucket(name)
                        .tagging(tagging)
                        .send()
                        .await
                        .map_err(|e| classify(&e, "tagging the bucket", name))?;
                    reporter.progress(format!("tagged bucket {name}"));
                }
                _ => {}
            }
            Ok::<_, Error>(())
        });
    try_join_all(calls).await?;
    Ok(())
}
