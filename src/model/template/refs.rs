//! From the symbolic desired state to template values: the account placeholders become
//! pseudo-parameters in `Fn::Sub`, and the ARNs of the template's own resources become `Ref`
//! and `Fn::GetAtt`.

use serde_json::{json, Value};

use super::account::{is_symbolic, readable};
use super::ids::{BUCKET_ID, PROVIDER_ID, TABLE_ID};
use crate::model::DesiredState;

/// Turns strings of the symbolic desired state into template values.
pub(super) struct Refs {
    provider_arn: String,
    bucket_arn: String,
    bucket_name: String,
    table_arn: Option<String>,
}

/// `${` in a literal part of an `Fn::Sub` string is written `${!`.
fn sub_body(s: &str) -> String {
    readable(&s.replace("${", "${!"))
}

impl Refs {
    /// The references to the resources of the template built from `d`.
    pub(super) fn of(d: &DesiredState) -> Refs {
        Refs {
            provider_arn: d.provider.arn.clone(),
            bucket_arn: d.bucket.arn.clone(),
            bucket_name: d.bucket.name.clone(),
            table_arn: d.table.as_ref().map(|t| t.arn.clone()),
        }
    }

    pub(super) fn string(&self, s: &str) -> Value {
        if s == self.provider_arn {
            return json!({ "Ref": PROVIDER_ID });
        }
        if s == self.bucket_arn {
            return json!({ "Fn::GetAtt": [BUCKET_ID, "Arn"] });
        }
        if let Some(rest) = s.strip_prefix(&format!("{}/", self.bucket_arn)) {
            return json!({ "Fn::Sub": format!("${{{BUCKET_ID}.Arn}}/{}", sub_body(rest)) });
        }
        // The lock table's items are named after the bucket (`<bucket>/<key>`).
        if let Some(rest) = s.strip_prefix(&format!("{}/", self.bucket_name)) {
            return json!({ "Fn::Sub": format!("${{{BUCKET_ID}}}/{}", sub_body(rest)) });
        }
        if self.table_arn.as_deref() == Some(s) {
            return json!({ "Fn::GetAtt": [TABLE_ID, "Arn"] });
        }
        if is_symbolic(s) {
            return json!({ "Fn::Sub": sub_body(s) });
        }
        Value::String(s.to_string())
    }

    /// A policy document (or any value) with every string converted.
    pub(super) fn value(&self, v: &Value) -> Value {
        match v {
            Value::String(s) => self.string(s),
            Value::Array(a) => Value::Array(a.iter().map(|x| self.value(x)).collect()),
            Value::Object(m) => {
                Value::Object(m.iter().map(|(k, x)| (k.clone(), self.value(x))).collect())
            }
            other => other.clone(),
        }
    }
}

pub(super) fn tags(t: &std::collections::BTreeMap<String, String>) -> Value {
    Value::Array(
        t.iter()
            .map(|(k, v)| json!({ "Key": k, "Value": v }))
            .collect(),
    )
}

/// `arn:PARTITION:iam::ACCOUNT:policy/NAME` with the account (and partition) of the account
/// the StackSet instance runs in.
pub(super) fn account_neutral_policy(arn: &str) -> Option<Value> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() == 6 && parts[4].len() == 12 && parts[4].bytes().all(|b| b.is_ascii_digit()) {
        Some(json!({
            "Fn::Sub": crate::model::arn::iam("${AWS::Partition}", "${AWS::AccountId}", parts[5])
        }))
    } else {
        None
    }
}
