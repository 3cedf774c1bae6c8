//! S3 reads: every setting of the state bucket, concurrently.

use aws_sdk_s3::operation::get_bucket_encryption::GetBucketEncryptionOutput;
use aws_sdk_s3::operation::get_bucket_ownership_controls::GetBucketOwnershipControlsOutput;
use aws_sdk_s3::operation::get_bucket_tagging::GetBucketTaggingOutput;
use aws_sdk_s3::operation::get_public_access_block::GetPublicAccessBlockOutput;
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, ExpirationStatus, NoncurrentVersionExpiration,
};

use super::{Encryption, LifecycleRule, ObservedBucket};
use crate::aws::{classify, errors, Aws};
use crate::error::{Error, Result};
use crate::iam::parse_document;

const MISSING: &[&str] = &["NoSuchBucket"];

type SdkError<E> = aws_smithy_runtime_api::client::result::SdkError<
    E,
    aws_smithy_runtime_api::client::orchestrator::HttpResponse,
>;

fn bucket_error<E>(e: &SdkError<E>, what: &str, name: &str) -> Error
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
{
    if errors::is(e, &["AccessDenied"]) || errors::http_status(e) == Some(403) {
        return Error::failure(format!(
            "{what}: access denied; the bucket name may belong to another AWS account"
        ))
        .resource(name.to_string())
        .code("AccessDenied")
        .hint(
            "choose another --state-bucket, or run with a profile that owns the bucket (--profile)",
        );
    }
    classify(e, what, name)
}

/// Why a setting of the bucket could not be read.
enum Unread {
    NoBucket,
    Failed(Error),
}

/// One setting's answer: its value, the default when S3 says it is not set (one of the
/// `absent` codes), [`Unread::NoBucket`] when the bucket does not exist, or the error.
fn setting<O, E, T: Default>(
    name: &str,
    answer: std::result::Result<O, SdkError<E>>,
    absent: &[&str],
    what: &str,
    value: impl FnOnce(O) -> T,
) -> std::result::Result<T, Unread>
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
{
    match answer {
        Ok(out) => Ok(value(out)),
        Err(e) if errors::is(&e, absent) => Ok(T::default()),
        Err(e) if errors::is(&e, MISSING) => Err(Unread::NoBucket),
        Err(e) => Err(Unread::Failed(bucket_error(&e, what, name))),
    }
}

fn encryption(out: GetBucketEncryptionOutput) -> Option<Encryption> {
    let rule = out
        .server_side_encryption_configuration()
        .and_then(|c| c.rules().first())?;
    let default = rule.apply_server_side_encryption_by_default();
    Some(Encryption {
        algorithm: default
            .map(|d| d.sse_algorithm().as_str().to_string())
            .unwrap_or_default(),
        kms_key: default
            .and_then(|d| d.kms_master_key_id())
            .map(str::to_string),
        bucket_key: rule.bucket_key_enabled().unwrap_or(false),
    })
}

fn public_access_block(out: GetPublicAccessBlockOutput) -> Option<[bool; 4]> {
    let c = out.public_access_block_configuration()?;
    Some([
        c.block_public_acls().unwrap_or(false),
        c.ignore_public_acls().unwrap_or(false),
        c.block_public_policy().unwrap_or(false),
        c.restrict_public_buckets().unwrap_or(false),
    ])
}

fn ownership_of(out: GetBucketOwnershipControlsOutput) -> Option<String> {
    let rule = out.ownership_controls().and_then(|c| c.rules().first())?;
    Some(rule.object_ownership().as_str().to_string())
}

fn tags_of(out: GetBucketTaggingOutput) -> std::collections::BTreeMap<String, String> {
    let tags = out.tag_set().iter();
    tags.map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

/// Read every setting of the bucket concurrently. None when it does not exist. None when it does not exist.
pub async fn bucket(aws: &Aws, name: &str) -> Result<Option<ObservedBucket>> {
    let s3 = &aws.s3;
    let (versioning, encryption, pab, ownership, policy, lifecycle, tagging) = tokio::join!(
        s3.get_bucket_versioning().bucket(name).send(),
        s3.get_bucket_encryption().bucket(name).send(),
        s3.get_public_access_block().bucket(name).send(),
        s3.get_bucket_ownership_controls().bucket(name).send(),
        s3.get_bucket_policy().bucket(name).send(),
        s3.get_bucket_lifecycle_configuration().bucket(name).send(),
        s3.get_bucket_tagging().bucket(name).send(),
    );
    let read = || {
        Ok::<_, Unread>(ObservedBucket {
            versioning: setting(
                name,
                versioning,
                &[],
                "reading the bucket's versioning",
                |v| v.status().map(|s| s.as_str().to_string()),
            )?,
            encryption: setting(
                name,
                encryption,
                &["ServerSideEncryptionConfigurationNotFoundError"],
                "reading the bucket's encryption",
                self::encryption,
            )?,
            public_access_block: setting(
                name,
                pab,
                &["NoSuchPublicAccessBlockConfiguration"],
                "reading the bucket's public access block",
                self::public_access_block,
            )?,
            ownership: setting(
                name,
                ownership,
                &["OwnershipControlsNotFoundError"],
                "reading the bucket's ownership controls",
                ownership_of,
            )?,
            policy: setting(
                name,
                policy,
                &["NoSuchBucketPolicy"],
                "reading the bucket policy",
                |out| out.policy().and_then(parse_document),
            )?,
            lifecycle: Vec::new(),
            lifecycle_raw: setting(
                name,
                lifecycle,
                &["NoSuchLifecycleConfiguration"],
                "reading the bucket's lifecycle rules",
                |out| out.rules().to_vec(),
            )?,
            tags: setting(
                name,
                tagging,
                &["NoSuchTagSet", "NoSuchTagSetError"],
                "reading the bucket's tags",
                tags_of,
            )?,
        })
    };
    match read() {
        Ok(mut bucket) => {
            bucket.lifecycle = bucket.lifecycle_raw.iter().map(summarise_rule).collect();
            Ok(Some(bucket))
        }
        Err(Unread::NoBucket) => Ok(None),
        Err(Unread::Failed(e)) => Err(e),
    }
}

/// Whether account `account_id` owns a bucket named `name`: HeadBucket with the expected
/// owner, so that a bucket someone else created under the name (and opened to us with a
/// bucket policy) is never taken for ours. False when it does not exist or is not ours (403).
pub(super) async fn owned(aws: &Aws, name: &str, account_id: &str) -> Result<bool> {
    let head = aws.s3.head_bucket().bucket(name);
    match head.expected_bucket_owner(account_id).send().await {
        Ok(_) => Ok(true),
        Err(e)
            if errors::is(
                &e,
                &["NotFound", "NoSuchBucket", "AccessDenied", "Forbidden"],
            ) || matches!(errors::http_status(&e), Some(403 | 404)) =>
        {
            Ok(false)
        }
        Err(e) => Err(classify(&e, "looking for the state bucket", name)),
    }
}

fn summarise_rule(rule: &aws_sdk_s3::types::LifecycleRule) -> LifecycleRule {
    #[allow(deprecated)]
    let legacy_prefix = rule.prefix().unwrap_or("");
    let filter_prefix = rule.filter().and_then(|f| f.prefix()).unwrap_or("");
    let filter_other = rule.filter().is_some_and(|f| {
        f.tag().is_some()
            || f.and().is_some()
            || f.object_size_greater_than().is_some()
            || f.object_size_less_than().is_some()
    });
    LifecycleRule {
        id: rule.id().unwrap_or("").to_string(),
        enabled: rule.status() == &ExpirationStatus::Enabled,
        noncurrent_days: rule
            .noncurrent_version_expiration()
            .and_then(NoncurrentVersionExpiration::noncurrent_days),
        abort_multipart_days: rule
            .abort_incomplete_multipart_upload()
            .and_then(AbortIncompleteMultipartUpload::days_after_initiation),
        whole_bucket: legacy_prefix.is_empty() && filter_prefix.is_empty() && !filter_other,
    }
}

#[cfg(test)]
mod tests {
    use aws_smithy_mocks::mock;

    use super::*;
    use crate::aws::testing;

    fn denied() -> aws_smithy_runtime_api::http::Response {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(403).unwrap(),
            aws_smithy_types::body::SdkBody::from(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code>\
                 <Message>Access Denied</Message><RequestId>1</RequestId></Error>",
            ),
        )
    }

    fn denied_without_body() -> aws_smithy_runtime_api::http::Response {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(403).unwrap(),
            aws_smithy_types::body::SdkBody::empty(),
        )
    }

    #[tokio::test]
    async fn the_earlier_default_bucket_counts_as_ours_only_when_this_account_owns_it() {
        use aws_sdk_s3::operation::head_bucket::HeadBucketOutput;
        // Asked with the expected owner: S3 answers 403 for a bucket of another account,
        // even one whose policy lets us read it.
        let ours = mock!(aws_sdk_s3::Client::head_bucket)
            .match_requests(|r| r.expected_bucket_owner() == Some("123456789012"))
            .then_output(|| HeadBucketOutput::builder().build());
        let aws = testing::aws(&[], &[&ours], &[]);
        assert!(owned(
            &aws,
            "terraform-state-123456789012-eu-west-1",
            "123456789012"
        )
        .await
        .unwrap());
        let theirs = mock!(aws_sdk_s3::Client::head_bucket).then_http_response(denied_without_body);
        let aws = testing::aws(&[], &[&theirs], &[]);
        assert!(!owned(
            &aws,
            "terraform-state-123456789012-eu-west-1",
            "123456789012"
        )
        .await
        .unwrap());
    }

    #[tokio::test]
    async fn a_bare_403_is_read_as_a_bucket_of_another_account() {
        // Some answers carry no error code at all, only the status: still access denied.
        let rules = [
            mock!(aws_sdk_s3::Client::get_bucket_versioning)
                .then_http_response(denied_without_body),
            mock!(aws_sdk_s3::Client::get_bucket_encryption)
                .then_http_response(denied_without_body),
            mock!(aws_sdk_s3::Client::get_public_access_block)
                .then_http_response(denied_without_body),
            mock!(aws_sdk_s3::Client::get_bucket_ownership_controls)
                .then_http_response(denied_without_body),
            mock!(aws_sdk_s3::Client::get_bucket_policy).then_http_response(denied_without_body),
            mock!(aws_sdk_s3::Client::get_bucket_lifecycle_configuration)
                .then_http_response(denied_without_body),
            mock!(aws_sdk_s3::Client::get_bucket_tagging).then_http_response(denied_without_body),
        ];
        let refs: Vec<&aws_smithy_mocks::Rule> = rules.iter().collect();
        let aws = testing::aws(&[], &refs, &[]);
        let err = bucket(&aws, "tf-state-taken").await.unwrap_err();
        assert_eq!(err.code.as_deref(), Some("AccessDenied"), "{err}");
        assert!(err.message.contains("another AWS account"), "{err}");
    }

    #[tokio::test]
    async fn a_bucket_of_another_account_is_named_as_such() {
        // Reading someone else's bucket: every call answers 403 AccessDenied.
        let rules = [
            mock!(aws_sdk_s3::Client::get_bucket_versioning).then_http_response(denied),
            mock!(aws_sdk_s3::Client::get_bucket_encryption).then_http_response(denied),
            mock!(aws_sdk_s3::Client::get_public_access_block).then_http_response(denied),
            mock!(aws_sdk_s3::Client::get_bucket_ownership_controls).then_http_response(denied),
            mock!(aws_sdk_s3::Client::get_bucket_policy).then_http_response(denied),
            mock!(aws_sdk_s3::Client::get_bucket_lifecycle_configuration)
                .then_http_response(denied),
            mock!(aws_sdk_s3::Client::get_bucket_tagging).then_http_response(denied),
        ];
        let refs: Vec<&aws_smithy_mocks::Rule> = rules.iter().collect();
        let aws = testing::aws(&[], &refs, &[]);
        let err = bucket(&aws, "tf-state-taken").await.unwrap_err();
        assert_eq!(err.code.as_deref(), Some("AccessDenied"));
        assert_eq!(err.resource.as_deref(), Some("tf-state-taken"));
        assert!(err.message.contains("another AWS account"), "{err}");
        assert!(
            err.hint.as_deref().unwrap_or("").contains("--state-bucket"),
            "{err}"
        );
    }
}
