//! How a plan's values read: each [`FieldValue`] as one line of text, which is also its
//! string in the JSON document, and each [`FieldChange`] as its JSON object. `plan` holds the
//! values; only this module turns them into words.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Serialize, Serializer};

use crate::model::admin::AdminStatement;
use crate::model::bucket::{Encryption, LifecycleRule};
use crate::model::namespace::Namespace;
use crate::plan::{FieldChange, FieldValue, PUBLIC_ACCESS_BLOCK};

impl fmt::Display for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldValue::Unset => Ok(()),
            FieldValue::Text(s) => f.write_str(s),
            FieldValue::List(items) if items.is_empty() => f.write_str("(none)"),
            FieldValue::List(items) => f.write_str(&items.join(", ")),
            FieldValue::Tags(tags) => f.write_str(&tags_text(tags)),
            FieldValue::TagsOnCreate(tags) => {
                write!(f, "{} (in the create call)", tags_text(tags))
            }
            FieldValue::Absent => f.write_str("(none)"),
            FieldValue::NeverEnabled => f.write_str("never enabled"),
            FieldValue::Deleted => f.write_str("(deleted)"),
            FieldValue::Detached => f.write_str("(detached)"),
            FieldValue::Encryption(e) => f.write_str(&encryption_text(e.as_ref())),
            FieldValue::PublicAccessBlock(flags) => f.write_str(&public_access_text(*flags)),
            FieldValue::AclsDisabled => f.write_str("BucketOwnerEnforced (ACLs disabled)"),
            FieldValue::TlsOnly => f.write_str("deny requests without TLS"),
            FieldValue::Lifecycle(rule) => f.write_str(&lifecycle_text(rule.as_ref())),
            FieldValue::Retention {
                noncurrent_days,
                abort_days,
            } => write!(
                f,
                "noncurrent versions expire after {noncurrent_days} days; incomplete uploads aborted after {abort_days} days"
            ),
            FieldValue::Namespace(n, why) => f.write_str(&namespace_text(*n, why.as_deref())),
            FieldValue::Document => f.write_str("(document)"),
            FieldValue::Adopted(tags) => {
                let tags: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
                write!(f, "adopted: tagged {}", tags.join(", "))
            }
            FieldValue::Foreign(admin) => {
                write!(
                    f,
                    "present, not written by bootstrap{}",
                    admin_note(admin.as_ref())
                )
            }
            FieldValue::AttachedAdmin(admin) => write!(f, "attached{}", admin_note(Some(admin))),
        }
    }
}

impl Serialize for FieldValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What makes a policy administrator-equivalent, after what it is (nothing when it is not).
fn admin_note(admin: Option<&AdminStatement>) -> String {
    admin
        .map(|s| format!("; ADMIN-EQUIVALENT: {s}"))
        .unwrap_or_default()
}

fn tags_text(tags: &BTreeMap<String, String>) -> String {
    if tags.is_empty() {
        return "(none)".into();
    }
    tags.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn encryption_text(e: Option<&Encryption>) -> String {
    match e {
        None => "(none)".into(),
        Some(e) => match &e.kms_key {
            Some(k) => format!(
                "{} {k}{}",
                e.algorithm,
                if e.bucket_key { " (bucket key)" } else { "" }
            ),
            None => e.algorithm.clone(),
        },
    }
}

/// Every flag on, or the ones that are off.
fn public_access_text(flags: Option<[bool; 4]>) -> String {
    match flags {
        None => "(none)".into(),
        Some([true, true, true, true]) => "all four on".into(),
        Some(flags) => {
            let off: Vec<&str> = PUBLIC_ACCESS_BLOCK
                .iter()
                .zip(flags)
                .filter(|(_, on)| !on)
                .map(|(n, _)| *n)
                .collect();
            format!("off: {}", off.join(", "))
        }
    }
}

/// The rule's id and its days, or that there is none.
fn lifecycle_text(rule: Option<&LifecycleRule>) -> String {
    let Some(r) = rule else {
        return "(no retention rule)".into();
    };
    let days = |d: Option<i32>| d.map_or_else(|| "(none)".to_string(), |d| format!("{d} days"));
    format!(
        "{}: noncurrent {}, abort uploads {}{}",
        r.id,
        days(r.noncurrent_days),
        days(r.abort_multipart_days),
        if r.enabled { "" } else { " (disabled)" }
    )
}

fn namespace_text(n: Namespace, why: Option<&str>) -> String {
    match (n, why) {
        (Namespace::AccountRegional, _) => {
            "account-regional (only this account can create this name)".into()
        }
        (Namespace::Global, Some(why)) => format!("global ({why})"),
        (Namespace::Global, None) => "global".into(),
    }
}

impl Serialize for FieldChange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = s.serialize_struct("FieldChange", 4)?;
        out.serialize_field("field", &self.field)?;
        if let Some(d) = &self.document {
            out.serialize_field("from", &d.from)?;
            out.serialize_field("to", &d.to)?;
            out.serialize_field("diff", &d.diff)?;
        } else {
            out.serialize_field("from", &self.from)?;
            out.serialize_field("to", &self.to)?;
            out.skip_field("diff")?;
        }
        out.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_public_access_block_reads_as_its_flags_that_are_off() {
        let read = |flags| FieldValue::PublicAccessBlock(flags).to_string();
        assert_eq!(read(None), "(none)");
        assert_eq!(read(Some([true; 4])), "all four on");
        assert_eq!(
            read(Some([false, true, true, false])),
            "off: BlockPublicAcls, RestrictPublicBuckets"
        );
    }

    #[test]
    fn a_lifecycle_rule_reads_as_its_days() {
        let rule = LifecycleRule {
            id: "bootstrap-state-retention".into(),
            enabled: false,
            noncurrent_days: Some(30),
            abort_multipart_days: None,
            whole_bucket: true,
        };
        assert_eq!(
            FieldValue::Lifecycle(Some(rule)).to_string(),
            "bootstrap-state-retention: noncurrent 30 days, abort uploads (none) (disabled)"
        );
        assert_eq!(
            FieldValue::Lifecycle(None).to_string(),
            "(no retention rule)"
        );
        let json = serde_json::to_value(FieldValue::Retention {
            noncurrent_days: 90,
            abort_days: 7,
        })
        .unwrap();
        assert_eq!(
            json,
            "noncurrent versions expire after 90 days; incomplete uploads aborted after 7 days"
        );
    }
}
