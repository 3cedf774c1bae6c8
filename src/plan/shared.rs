//! Shared resources: the state bucket (like the provider and the lock table) is configured by
//! one set, recorded in its `bootstrap-set` tag. Another set naming the same bucket with
//! other settings keeps the owner's: it is told whose settings stand and never flips them
//! (its plan converges the bucket to the owner's noncurrent-version expiry, encryption and
//! tags; the safety settings every set shares are still enforced). A bucket without the tag
//! (made by an older release) is claimed by the first set that converges it.

use super::ownership::tags_to_add;
use crate::model::{DesiredBucket, SET_TAG};
use crate::observe::ObservedBucket;

/// The bucket as `d` should be when another set configures it (`d` itself otherwise), with
/// one warning per setting of `d` that does not stand.
pub fn bucket_as_configured(
    d: &DesiredBucket,
    o: Option<&ObservedBucket>,
) -> (DesiredBucket, Vec<String>) {
    let mut kept = d.clone();
    let Some(o) = o else {
        return (kept, Vec::new());
    };
    let set = d.tags.get(SET_TAG).map(String::as_str).unwrap_or_default();
    let Some(owner) = o.tags.get(SET_TAG).filter(|owner| owner.as_str() != set) else {
        return (kept, Vec::new());
    };
    let mut differ = Vec::new();
    let live_days = o
        .lifecycle
        .iter()
        .find(|r| r.id == super::bucket::LIFECYCLE_RULE_ID)
        .and_then(|r| r.noncurrent_days);
    if let Some(days) = live_days.filter(|days| *days != d.noncurrent_days) {
        differ.push(format!(
            "noncurrent versions expire after {days} days (these settings say {}, noncurrent-days)",
            d.noncurrent_days
        ));
        kept.noncurrent_days = days;
    }
    if let Some(e) = &o.encryption {
        let live_key = e
            .algorithm
            .starts_with("aws:kms")
            .then(|| e.kms_key.clone())
            .flatten();
        if live_key != d.kms_key {
            differ.push(format!(
                "encryption {} (these settings say {}, kms-key; their roles are granted only the key they name)",
                live_key.as_deref().unwrap_or("SSE-S3"),
                d.kms_key.as_deref().unwrap_or("SSE-S3"),
            ));
            kept.kms_key = live_key;
            kept.allow_encryption_downgrade = false;
        }
    }
    let tags = tags_to_add(&d.tags, &o.tags);
    if !tags.is_empty() {
        let shown: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        differ.push(format!(
            "its tags (these settings add {})",
            shown.join(", ")
        ));
    }
    kept.tags = o.tags.clone();
    let warnings = if differ.is_empty() {
        Vec::new()
    } else {
        vec![format!(
            "state bucket {}: configured by set {owner} (tag {SET_TAG}={owner}), whose settings stand: {}; nothing of this is changed. Change them in set {owner}'s configuration, or give these settings their own state-bucket",
            d.name,
            differ.join("; ")
        )]
    };
    (kept, warnings)
}
