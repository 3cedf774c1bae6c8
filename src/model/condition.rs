//! Reading a policy statement's values: one string or a list of them, and the values of one
//! condition key. Shared by the trust-policy rules and the audience conditions.

use serde_json::Value;

/// A policy value as strings: a string is a list of one; anything else holds none.
pub(super) fn as_strings(v: &Value) -> Vec<&str> {
    match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// The values of condition key `key` (case-insensitive, as IAM treats keys) under operator
/// `op` of a statement's Condition block; None when absent.
pub(super) fn condition_values<'v>(
    condition: &'v Value,
    op: &str,
    key: &str,
) -> Option<Vec<&'v str>> {
    condition.get(op)?.as_object().and_then(|m| {
        m.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| as_strings(v))
    })
}
