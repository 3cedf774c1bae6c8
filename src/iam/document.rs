//! Reading policy documents as IAM stores and returns them: the statement list (one object
//! or an array), string-or-list values, the values of one condition key, the canonical form
//! two documents that mean the same share, and the size IAM counts. Both the evaluator and
//! the rules about what the tool writes (`model`) read documents through these functions.

use std::borrow::Cow;

use serde_json::{Map, Value};

/// Why a document has no statements to evaluate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unreadable {
    /// The document is not a JSON object.
    NotAnObject,
    /// `Statement` is neither an object nor an array.
    BadStatement,
    /// There is no `Statement`.
    NoStatement,
}

/// The statements of a policy, in order: IAM allows one object or an array of them.
pub(super) fn statements(policy: &Value) -> Result<Vec<&Value>, Unreadable> {
    let map = policy.as_object().ok_or(Unreadable::NotAnObject)?;
    match map.get("Statement") {
        Some(Value::Array(items)) => Ok(items.iter().collect()),
        Some(v @ Value::Object(_)) => Ok(vec![v]),
        Some(_) => Err(Unreadable::BadStatement),
        None => Err(Unreadable::NoStatement),
    }
}

/// The statements of a policy as a list of their own; empty when it has none.
pub fn statements_of(policy: &Value) -> Vec<Value> {
    statements(policy)
        .unwrap_or_default()
        .into_iter()
        .cloned()
        .collect()
}

/// A policy given as a document, or as a JSON string holding one (as IAM returns it); a
/// string that is not JSON stays as it is and denies everything.
pub(super) fn document(policy: &Value) -> Cow<'_, Value> {
    match policy {
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(v) => Cow::Owned(v),
            Err(_) => Cow::Borrowed(policy),
        },
        other => Cow::Borrowed(other),
    }
}

/// Whether policy variables (`${...}`) are read: only in documents of version 2012-10-17.
pub(super) fn has_variables(policy: &Value) -> bool {
    policy.get("Version").and_then(Value::as_str) == Some("2012-10-17")
}

/// Parse a policy document as AWS returns it: IAM URL-encodes documents; S3 does not.
pub fn parse_document(text: &str) -> Option<Value> {
    serde_json::from_str(text).ok().or_else(|| {
        let decoded = percent_encoding::percent_decode_str(text)
            .decode_utf8()
            .ok()?;
        serde_json::from_str(&decoded).ok()
    })
}

/// A policy value as strings (`Action`, `Resource`, `Principal` members, condition values):
/// a string is a list of one; anything else holds none; non-strings in a list are skipped.
pub fn as_strings(v: &Value) -> Vec<&str> {
    match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// The values of condition key `key` (case-insensitive, as IAM treats keys) under operator
/// `op` of a statement's Condition block; None when absent.
pub fn condition_values<'v>(condition: &'v Value, op: &str, key: &str) -> Option<Vec<&'v str>> {
    condition.get(op)?.as_object().and_then(|m| {
        m.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| as_strings(v))
    })
}

/// A canonical form for comparing documents: statement lists sorted, scalar-or-list fields
/// turned into sorted lists, Sids and Version kept. Two documents IAM treats the same
/// compare equal.
pub fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(map) => canonical_object(map),
        Value::Array(a) => {
            let mut items: Vec<Value> = a.iter().map(canonical).collect();
            items.sort_by_key(ToString::to_string);
            items.dedup();
            if items.len() == 1 {
                items.pop().unwrap_or(Value::Null)
            } else {
                Value::Array(items)
            }
        }
        Value::Bool(b) => Value::String(b.to_string()),
        Value::Number(n) => Value::String(n.to_string()),
        other => other.clone(),
    }
}

/// Keys sorted; `Statement` always a sorted list, even of one statement.
fn canonical_object(map: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    for k in keys {
        let val = &map[k];
        let c = if k == "Statement" {
            let mut stmts: Vec<Value> = match val {
                Value::Array(a) => a.iter().map(canonical).collect(),
                other => vec![canonical(other)],
            };
            stmts.sort_by_key(ToString::to_string);
            Value::Array(stmts)
        } else {
            canonical(val)
        };
        out.insert(k.clone(), c);
    }
    Value::Object(out)
}

/// Whether two policy documents mean the same.
pub fn same(a: &Value, b: &Value) -> bool {
    canonical(a) == canonical(b)
}

/// The size IAM counts for a policy document: its characters, whitespace outside strings
/// not counted (serde_json's compact form has none).
pub fn policy_size(doc: &Value) -> usize {
    doc.to_string().chars().count()
}
