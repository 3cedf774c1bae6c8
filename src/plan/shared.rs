//! Shared resources: the state bucket (like the provider and the lock table) is configured by
//! one set, recorded in its `bootstrap-set` tag. Another set naming the same bucket with
//! other settings keeps the owner's: it is told whose settings stand and never flips them
//! (its plan converges the bucket to the owner's noncurrent-version expiry, encryption and
//! tags; the safety settings every set shares are still enforced). A bucket without the tag
//! (made by an older release) is claimed by the first set that converges it.

use super::ownership::tags_to_add;
use crate::config::Access;
use crate::error::{Error, Result};
use crate::model::owner::Owner;
use crate::model::{DesiredBucket, DesiredState, SET_TAG};
use crate::observe::stale::HeldState;
use crate::observe::ObservedBucket;

/// Whether two roles' state prefixes in one bucket share objects: one is the other or holds
/// it. The top of the bucket (an empty prefix) is its own place: the bucket policy keeps the
/// roles there to the top-level state objects, and every other role out of them.
fn share_state(a: &str, b: &str) -> bool {
    let under = |inner: &str, outer: &str| inner.starts_with(&format!("{outer}/"));
    if a.is_empty() || b.is_empty() {
        return a == b;
    }
    a == b || under(a, b) || under(b, a)
}

/// Refuse a role whose state would be where a role of another set (or of a stack) keeps
/// its own: defaults are unique within one configuration only, and explicit prefixes may
/// nest. Exit 64 before anything is written.
pub fn refuse_held_state(desired: &DesiredState, held: &[HeldState]) -> Result<()> {
    for r in desired.roles.iter().filter(|r| r.access != Access::Cdk) {
        let ours = r.state_key_prefix.as_deref().unwrap_or_default();
        let Some(h) = held
            .iter()
            .find(|h| h.bucket_arn == desired.bucket.arn && share_state(ours, &h.prefix))
        else {
            continue;
        };
        let at = |p: &str| {
            if p.is_empty() {
                format!("s3://{}/terraform.tfstate", desired.bucket.name)
            } else {
                format!("s3://{}/{p}/", desired.bucket.name)
            }
        };
        let whose = match &h.owner {
            Owner::Set(set) => format!("set {set}"),
            Owner::Stack { name, .. } => format!("the CloudFormation stack {name}"),
        };
        return Err(Error::usage(format!(
            "its Terraform state ({}) would be shared with role {} of {whose}, which keeps its state at {}: each could read the other's state, and an apply role overwrite it",
            at(ours),
            h.role,
            at(&h.prefix)
        ))
        .resource(format!("role {}", r.name))
        .hint(
            "give this role a state prefix no other set's role holds, nor one inside it: state-key-prefix in its [[role]] table (or --state-key-prefix), or a state-bucket of these settings' own",
        ));
    }
    Ok(())
}

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

#[cfg(test)]
mod tests {
    use super::share_state;

    #[test]
    fn prefixes_share_state_when_equal_or_nested_and_the_top_only_with_the_top() {
        assert!(share_state("web", "web"));
        assert!(share_state("team", "team/app"));
        assert!(share_state("team/app", "team"));
        assert!(share_state("", ""));
        assert!(!share_state("web", "web-apply"));
        assert!(!share_state("team", "teams/app"));
        assert!(!share_state("", "web"));
        assert!(!share_state("web", ""));
    }
}
