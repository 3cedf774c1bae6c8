//! S3 writes for the state bucket: create it (or adopt one this account owns), then each
//! configuration write one after the other (S3 refuses two at once on one bucket).

use crate::aws::errors::Known;
use crate::aws::retry::{self, Backoff};
use crate::aws::{classify, errors, Aws};
use crate::error::{Error, Result};
use crate::model::namespace::Namespace;
use crate::model::DesiredBucket;
use crate::plan::bucket::{ABORT_MULTIPART_DAYS, LIFECYCLE_RULE_ID};
use crate::plan::Op;
use crate::progress::Progress;
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, BucketLocationConstraint,
    BucketNamespace, BucketVersioningStatus, CreateBucketConfiguration, ExpirationStatus,
    LifecycleRule, LifecycleRuleFilter, NoncurrentVersionExpiration, ObjectOwnership,
    OwnershipControls, OwnershipControlsRule, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    Tag, Tagging, VersioningConfiguration,
};

fn built<T, E: std::fmt::Display>(r: std::result::Result<T, E>) -> Result<T> {
    r.map_err(|e| Error::failure(format!("building an S3 request: {e}")))
}

/// The lifecycle rule the tool owns.
pub(super) fn retention_rule(d: &DesiredBucket) -> Result<LifecycleRule> {
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

/// The bucket's tags as S3 takes them.
fn tag_set(tags: &std::collections::BTreeMap<String, String>) -> Result<Vec<Tag>> {
    tags.iter()
        .map(|(k, v)| built(Tag::builder().key(k).value(v).build()))
        .collect()
}

/// CreateBucket with everything S3 takes at creation: the region (us-east-1 takes no
/// LocationConstraint), the tags (`CreateBucketConfiguration.Tags`, so that an SCP requiring
/// tags at creation allows it) and, for a name of the account regional form, the namespace
/// (`x-amz-bucket-namespace: account-regional`; S3 refuses such a name without it).
/// `BucketAlreadyOwnedByYou` (another set or a concurrent run made it since the plan, or
/// this call's first answer was lost) is not an error; its tags are left as they are: they
/// went in with the create that made it, and the next plan adopts a bucket without ours.
async fn create(aws: &Aws, d: &DesiredBucket, reporter: &dyn Progress) -> Result<()> {
    let mut req = aws.s3.create_bucket().bucket(&d.name);
    let mut config = CreateBucketConfiguration::builder();
    if d.region != "us-east-1" {
        config = config.location_constraint(BucketLocationConstraint::from(d.region.as_str()));
    }
    if !d.tags.is_empty() {
        config = config.set_tags(Some(tag_set(&d.tags)?));
    }
    let config = config.build();
    if config.location_constraint().is_some() || !config.tags().is_empty() {
        req = req.create_bucket_configuration(config);
    }
    if d.namespace == Namespace::AccountRegional {
        req = req.bucket_namespace(BucketNamespace::from(d.namespace.as_str()));
    }
    match req.send().await {
        Ok(_) => {
            let place = match d.namespace {
                Namespace::AccountRegional => " (account regional namespace)",
                Namespace::Global => "",
            };
            reporter.progress(&format!("created bucket {} in {}{place}", d.name, d.region));
            Ok(())
        }
        Err(e) if errors::is(&e, &["BucketAlreadyOwnedByYou"]) => {
            reporter.progress(&format!(
                "bucket {} already belongs to this account; its tags are left as they are",
                d.name
            ));
            Ok(())
        }
        Err(e) if errors::is(&e, &["BucketAlreadyExists"]) => Err(Error::failure(
            "the bucket name is taken by another AWS account (bucket names are global)",
        )
        .resource(d.name.clone())
        .code("BucketAlreadyExists")
        .hint("choose another name with --state-bucket, or leave it out for a name in this account's regional namespace")),
        Err(e) => Err(classify(&e, "creating the bucket", &d.name)),
    }
}

pub(super) async fn apply_bucket(
    aws: &Aws,
    d: &DesiredBucket,
    ops: &[Op],
    reporter: &dyn Progress,
) -> Result<()> {
    if ops.iter().any(|o| matches!(o, Op::CreateBucket)) {
        create(aws, d, reporter).await?;
    }
    // S3 refuses a configuration write while another one on the same bucket is in progress
    // (409 OperationAborted): write them one after the other, in the plan's order, each
    // retried with the one backoff should something else be changing the bucket.
    for op in ops.iter().filter(|o| !matches!(o, Op::CreateBucket)) {
        retry::with_backoff(
            Backoff::BRIEF,
            || put_setting(aws, d, op, reporter),
            |e| errors::retryable(e, Known::default()),
        )
        .await?;
    }
    Ok(())
}

/// One configuration write on the bucket, then its progress line.
async fn put_setting(aws: &Aws, d: &DesiredBucket, op: &Op, reporter: &dyn Progress) -> Result<()> {
    let done = match op {
        Op::PutBucketPolicy { .. } | Op::PutLifecycle { .. } | Op::PutBucketTagging { .. } => {
            put_rules(aws, d, op).await?
        }
        _ => put_protection(aws, d, op).await?,
    };
    if let Some(line) = done {
        reporter.progress(&line);
    }
    Ok(())
}

/// The default encryption the bucket should have: SSE-KMS with `--kms-key` (bucket key on),
/// SSE-S3 otherwise.
fn encryption_config(d: &DesiredBucket) -> Result<ServerSideEncryptionConfiguration> {
    let want = d.encryption();
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
    built(
        ServerSideEncryptionConfiguration::builder()
            .rules(
                ServerSideEncryptionRule::builder()
                    .apply_server_side_encryption_by_default(default)
                    .bucket_key_enabled(want.bucket_key)
                    .build(),
            )
            .build(),
    )
}

/// Versioning, default encryption, the public-access block and object ownership.
async fn put_protection(aws: &Aws, d: &DesiredBucket, op: &Op) -> Result<Option<String>> {
    let (s3, name) = (&aws.s3, d.name.as_str());
    let line = match op {
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
            format!("enabled versioning on bucket {name}")
        }
        Op::PutEncryption => {
            s3.put_bucket_encryption()
                .bucket(name)
                .server_side_encryption_configuration(encryption_config(d)?)
                .send()
                .await
                .map_err(|e| classify(&e, "setting default encryption", name))?;
            let algorithm = d.encryption().algorithm;
            format!("set default encryption ({algorithm}) on bucket {name}")
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
            format!("blocked all public access to bucket {name}")
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
            format!("disabled ACLs on bucket {name}")
        }
        _ => return Ok(None),
    };
    Ok(Some(line))
}

/// The bucket policy, the lifecycle rules and the tags.
async fn put_rules(aws: &Aws, d: &DesiredBucket, op: &Op) -> Result<Option<String>> {
    let (s3, name) = (&aws.s3, d.name.as_str());
    let line = match op {
        Op::PutBucketPolicy { document } => {
            s3.put_bucket_policy()
                .bucket(name)
                .policy(document.to_string())
                .send()
                .await
                .map_err(|e| classify(&e, "writing the bucket policy", name))?;
            format!("wrote the TLS-only bucket policy on {name}")
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
            format!(
                "set lifecycle on bucket {name}: old versions expire after {} days",
                d.noncurrent_days
            )
        }
        Op::PutBucketTagging { tags } => {
            let tags = tag_set(tags)?;
            let tagging = built(Tagging::builder().set_tag_set(Some(tags)).build())?;
            s3.put_bucket_tagging()
                .bucket(name)
                .tagging(tagging)
                .send()
                .await
                .map_err(|e| classify(&e, "tagging the bucket", name))?;
            format!("tagged bucket {name}")
        }
        _ => return Ok(None),
    };
    Ok(Some(line))
}

#[cfg(test)]
mod tests {
    //! Bucket-name collisions need a second AWS account; moto lets any account read any
    //! bucket, so these are checked against aws-smithy-mocks with S3's real error bodies.

    use std::collections::BTreeMap;

    use aws_sdk_s3::operation::create_bucket::CreateBucketOutput;
    use aws_sdk_s3::operation::put_bucket_versioning::PutBucketVersioningOutput;
    use aws_smithy_mocks::mock;

    use super::*;
    use crate::aws::testing;

    fn desired(region: &str) -> DesiredBucket {
        DesiredBucket {
            name: "tf-state-taken".into(),
            arn: "arn:aws:s3:::tf-state-taken".into(),
            region: region.into(),
            kms_key: None,
            allow_encryption_downgrade: false,
            noncurrent_days: 90,
            namespace: crate::model::namespace::Namespace::Global,
            namespace_note: None,
            global_default: None,
            policy_statements: Vec::new(),
            tags: BTreeMap::new(),
        }
    }

    fn s3_error(status: u16, code: &str) -> aws_smithy_runtime_api::http::Response {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(status).unwrap(),
            aws_smithy_types::body::SdkBody::from(format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
                 <Message>The requested bucket name is not available.</Message>\
                 <BucketName>tf-state-taken</BucketName><RequestId>1</RequestId></Error>"
            )),
        )
    }

    #[tokio::test]
    async fn a_name_owned_by_another_account_is_a_clear_error_and_nothing_else_is_called() {
        let create = mock!(aws_sdk_s3::Client::create_bucket)
            .then_http_response(|| s3_error(409, "BucketAlreadyExists"));
        // Only CreateBucket has a rule: a PutBucketVersioning on someone else's bucket would
        // panic the test.
        let aws = testing::aws(&[], &[&create], &[]);
        let ops = [Op::CreateBucket, Op::PutVersioning];
        let err = apply_bucket(&aws, &desired("eu-west-1"), &ops, &testing::quiet())
            .await
            .unwrap_err();
        assert_eq!(err.code.as_deref(), Some("BucketAlreadyExists"));
        assert_eq!(err.resource.as_deref(), Some("tf-state-taken"));
        assert!(err.message.contains("another AWS account"), "{err}");
        assert!(
            err.hint.as_deref().unwrap_or("").contains("--state-bucket"),
            "{err}"
        );
        assert_eq!(create.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_bucket_already_owned_by_this_account_is_adopted() {
        let create = mock!(aws_sdk_s3::Client::create_bucket)
            .then_http_response(|| s3_error(409, "BucketAlreadyOwnedByYou"));
        let versioning = mock!(aws_sdk_s3::Client::put_bucket_versioning)
            .match_requests(|r| r.bucket() == Some("tf-state-taken"))
            .then_output(|| PutBucketVersioningOutput::builder().build());
        let aws = testing::aws(&[], &[&create, &versioning], &[]);
        let ops = [Op::CreateBucket, Op::PutVersioning];
        apply_bucket(&aws, &desired("eu-west-1"), &ops, &testing::quiet())
            .await
            .unwrap();
        assert_eq!(versioning.num_calls(), 1);
    }

    #[tokio::test]
    async fn only_regions_other_than_us_east_1_send_a_location_constraint() {
        for (region, want) in [("us-east-1", None), ("eu-central-1", Some("eu-central-1"))] {
            let create = mock!(aws_sdk_s3::Client::create_bucket)
                .match_requests(move |r| {
                    r.create_bucket_configuration()
                        .and_then(|c| c.location_constraint())
                        .map(BucketLocationConstraint::as_str)
                        == want
                })
                .then_output(|| CreateBucketOutput::builder().build());
            let aws = testing::aws(&[], &[&create], &[]);
            apply_bucket(
                &aws,
                &desired(region),
                &[Op::CreateBucket],
                &testing::quiet(),
            )
            .await
            .unwrap();
            assert_eq!(create.num_calls(), 1, "{region}");
        }
    }
}
