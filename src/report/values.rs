//! How a plan's values read: each [`FieldValue`] as one line of text, which is also its
//! string in the JSON document, and each [`FieldChange`] as its JSON object. `plan` holds the
//! values; only this module turns them into words.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Serialize, Serializer};

use crate::model::admin::AdminStatement;
use crate::model::bucket::Encryption;
use crate::model::namespace::Namespace;
use crate::plan::{FieldChange, FieldValue};

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
            FieldValue::Encryption(e) => f.write_str(&encryption_text(e.as_ref())),
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
