//! The part of [`Settings`](super::Settings) that describes the Terraform state every role
//! shares (bucket, key prefix, lock table, KMS key, retention, tags).

use std::collections::BTreeMap;

use crate::config::defaults::{DEFAULT_LOCK_TABLE, DEFAULT_NONCURRENT_DAYS};
use crate::config::inputs::Inputs;
use crate::config::validate as v;
use crate::error::{Error, Result};

pub(super) struct State {
    pub(super) state_bucket: Option<String>,
    pub(super) state_key_prefix: String,
    pub(super) lock_table: Option<String>,
    pub(super) kms_key: Option<String>,
    pub(super) allow_encryption_downgrade: bool,
    pub(super) noncurrent_days: i32,
    pub(super) tags: BTreeMap<String, String>,
}

/// The state settings; `region` is `--region`, which a `--kms-key` ARN must agree with.
pub(super) fn state(i: &Inputs, region: Option<&str>) -> Result<State> {
    let state_bucket = i.state_bucket.as_deref().map(v::bucket_name).transpose()?;
    let state_key_prefix = i
        .state_key_prefix
        .as_deref()
        .map(v::key_prefix)
        .transpose()?
        .unwrap_or_default();
    let lock_table = lock_table(i)?;
    let kms_key = kms_key(i, region)?;
    let noncurrent_days = match i.noncurrent_days {
        None => DEFAULT_NONCURRENT_DAYS,
        #[allow(clippy::cast_possible_truncation, reason = "the pattern bounds it")]
        Some(d @ 1..=3650) => d as i32,
        Some(d) => {
            return Err(crate::usage!(
                "--noncurrent-days {d}: expected 1 to 3650 days"
            ))
        }
    };
    Ok(State {
        state_bucket,
        state_key_prefix,
        lock_table,
        kms_key,
        allow_encryption_downgrade: i.allow_encryption_downgrade.unwrap_or(false),
        noncurrent_days,
        tags: tags(i)?,
    })
}

/// `--lock-table NAME` (or the default), or none with `--no-lock-table`.
fn lock_table(i: &Inputs) -> Result<Option<String>> {
    match (i.no_lock_table.unwrap_or(false), i.lock_table.as_deref()) {
        (true, Some(_)) => Err(Error::usage("--lock-table and --no-lock-table both given")
            .hint("pass only one of them")),
        (true, None) => Ok(None),
        (false, t) => Ok(Some(v::table_name(t.unwrap_or(DEFAULT_LOCK_TABLE))?)),
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
