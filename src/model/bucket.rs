//! The state bucket's settings as values, the same type for what the settings want and what
//! `observe` reads: its default encryption and its one lifecycle rule. What the settings want
//! is computed here ([`DesiredBucket::encryption`], [`DesiredBucket::lifecycle`]); `plan`
//! compares it with the live bucket, and `apply` writes it.

use serde::Serialize;

use super::state::{ABORT_MULTIPART_DAYS, LIFECYCLE_RULE_ID};
use super::DesiredBucket;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Encryption {
    pub algorithm: String,
    pub kms_key: Option<String>,
    pub bucket_key: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LifecycleRule {
    pub id: String,
    pub enabled: bool,
    pub noncurrent_days: Option<i32>,
    pub abort_multipart_days: Option<i32>,
    /// Whether the rule applies to the whole bucket (empty prefix/filter).
    pub whole_bucket: bool,
}

impl DesiredBucket {
    /// SSE-KMS with a bucket key under `--kms-key`, SSE-S3 otherwise.
    pub fn encryption(&self) -> Encryption {
        match &self.kms_key {
            Some(key) => Encryption {
                algorithm: "aws:kms".into(),
                kms_key: Some(key.clone()),
                bucket_key: true,
            },
            None => Encryption {
                algorithm: "AES256".into(),
                kms_key: None,
                bucket_key: false,
            },
        }
    }

    /// The tool's lifecycle rule: noncurrent versions expire, incomplete uploads are aborted.
    pub fn lifecycle(&self) -> LifecycleRule {
        LifecycleRule {
            id: LIFECYCLE_RULE_ID.into(),
            enabled: true,
            noncurrent_days: Some(self.noncurrent_days),
            abort_multipart_days: Some(ABORT_MULTIPART_DAYS),
            whole_bucket: true,
        }
    }
}
