//! The state part of [`Settings`](super::Settings): the bucket, its lock table, encryption and
//! retention, and the tags of every resource, each declared once: its key (and default) in
//! `state_keys!`, its check in [`state`], its value in [`StateSettings`].

use std::collections::BTreeMap;

use super::Inputs;
use crate::config::validate as v;
use crate::error::{Error, Result};

/// The keys of the Terraform state: the bucket, its lock table and encryption, and the tags
/// of every resource.
macro_rules! state_keys {
    ([$next:ident $(, $rest:ident)*] $($declared:tt)*) => {
        $next! { [$($rest),*] $($declared)* {
            pub state_bucket: Option<String>,
            pub state_key_prefix: Option<String>,
            pub lock_table: Option<String> = "terraform-state-lock",
            pub no_lock_table: Option<bool>,
            pub kms_key: Option<String>,
            pub allow_encryption_downgrade: Option<bool>,
            pub noncurrent_days: Option<i64> = 90_i64,
            pub tags: Option<::std::collections::BTreeMap<String, String>>,
        } }
    };
}
pub(super) use state_keys;

/// Where and how the Terraform state is kept, validated.
#[derive(Debug, Clone)]
pub struct StateSettings {
    /// `--state-bucket`; `None` for the default name, which needs the account and region.
    pub bucket: Option<String>,
    /// `--state-key-prefix` (`""`: the top of the bucket), the default of every role's.
    pub key_prefix: String,
    /// `--lock-table` (or the default); `None` with `--no-lock-table`.
    pub lock_table: Option<String>,
    pub kms_key: Option<String>,
    /// An existing SSE-KMS bucket may be switched to SSE-S3 (no --kms-key).
    pub allow_encryption_downgrade: bool,
    pub noncurrent_days: i32,
    /// `--tag` (`[tags]`): put on every resource.
    pub tags: BTreeMap<String, String>,
}

/// The state settings; `region` is `--region`, which a `--kms-key` ARN must agree with.
pub(super) fn state(i: &Inputs, given: &Inputs, region: Option<&str>) -> Result<StateSettings> {
    let state_bucket = i.state_bucket.as_deref().map(v::bucket_name).transpose()?;
    let state_key_prefix = i
        .state_key_prefix
        .as_deref()
        .map(v::key_prefix)
        .transpose()?
        .unwrap_or_default();
    let lock_table = lock_table(i, given)?;
    let kms_key = kms_key(i, region)?;
    let noncurrent_days = match i.noncurrent_days.unwrap_or_default() {
        #[allow(clippy::cast_possible_truncation, reason = "the pattern bounds it")]
        d @ 1..=3650 => d as i32,
        d => {
            return Err(crate::usage!(
                "--noncurrent-days {d}: expected 1 to 3650 days"
            ))
        }
    };
    Ok(StateSettings {
        bucket: state_bucket,
        key_prefix: state_key_prefix,
        lock_table,
        kms_key,
        allow_encryption_downgrade: i.allow_encryption_downgrade.unwrap_or(false),
        noncurrent_days,
        tags: tags(i)?,
    })
}

/// `--lock-table NAME` (or the default), or none with `--no-lock-table`.
fn lock_table(i: &Inputs, given: &Inputs) -> Result<Option<String>> {
    match (i.no_lock_table.unwrap_or(false), given.lock_table.is_some()) {
        (true, true) => Err(Error::usage("--lock-table and --no-lock-table both given")
            .hint("pass only one of them")),
        (true, false) => Ok(None),
        (false, _) => Ok(Some(v::table_name(
            i.lock_table.as_deref().unwrap_or_default(),
        )?)),
    }
}

/// `--kms-key`: a key given by ARN must be in `--region` (S3 encrypts only with a key in
/// the bucket's region).
fn kms_key(i: &Inputs, region: Option<&str>) -> Result<Option<String>> {
    let kms_key = i.kms_key.as_deref().map(v::kms_key).transpose()?;
    let key_region = kms_key.as_deref().and_then(v::kms_key_region);
    if let (Some(key_region), Some(region)) = (key_region, region) {
        if key_region != region {
            return Err(Error::usage(format!(
                "--kms-key is in {key_region} but --region is {region}: S3 only encrypts with a key in the bucket's region"
            ))
            .hint("pass a key from the same region with --kms-key, or change --region"));
        }
    }
    Ok(kms_key)
}

/// `--tag` pairs (the file's `[tags]` table), each checked, at most 40.
fn tags(i: &Inputs) -> Result<BTreeMap<String, String>> {
    let tags = i.tags.clone().unwrap_or_default();
    for (k, val) in &tags {
        v::tag(k, val)?;
    }
    if tags.len() > 40 {
        return Err(crate::usage!(
            "{} tags given; at most 40 are accepted (AWS allows 50 and the tool adds its own)",
            tags.len()
        ));
    }
    Ok(tags)
}
