//! How a request matches a statement's `Principal` and `Action` (or `NotPrincipal`,
//! `NotAction`), with IAM's case-insensitive wildcards for actions.

use serde_json::{Map, Value};

use super::document::as_strings;
use super::pattern::{glob, wildcard_pieces};
use super::request::Request;

/// Case-insensitive wildcard match, used for actions.
fn action_matches(pattern: &str, action: &str) -> bool {
    let pieces = wildcard_pieces(&pattern.to_lowercase());
    let text: Vec<char> = action.to_lowercase().chars().collect();
    glob(&pieces, &text)
}

/// Does a `Principal` value include the request's federated principal?
fn principal_includes(principal: &Value, request: &Request) -> bool {
    match principal {
        Value::String(s) => s == "*",
        Value::Object(map) => map.iter().any(|(kind, values)| {
            let values = as_strings(values);
            match kind.as_str() {
                "Federated" => values
                    .iter()
                    .any(|v| *v == "*" || *v == request.federated_principal),
                "AWS" => values.contains(&"*"),
                _ => false,
            }
        }),
        _ => false,
    }
}

pub(super) fn principal_matches(
    stmt: &Map<String, Value>,
    effect: &str,
    request: &Request,
    notes: &mut Vec<String>,
) -> bool {
    match (stmt.get("Principal"), stmt.get("NotPrincipal")) {
        (Some(_), Some(_)) => {
            notes.push("the statement has both Principal and NotPrincipal, which IAM rejects; treated as not matching".to_string());
            false
        }
        (Some(p), None) => {
            let matched = principal_includes(p, request);
            if !matched {
                if let Some(map) = p.as_object() {
                    let close = map
                        .get("Federated")
                        .map(as_strings)
                        .unwrap_or_default()
                        .into_iter()
                        .any(|v| v.eq_ignore_ascii_case(&request.federated_principal));
                    if close {
                        notes.push("the Federated principal differs from the provider ARN only in letter case; IAM compares ARNs exactly".to_string());
                    }
                }
            }
            matched
        }
        (None, Some(np)) => {
            if effect == "Deny" {
                !principal_includes(np, request)
            } else {
                notes.push(
                    "NotPrincipal with Allow is not supported: treated as not matching".to_string(),
                );
                false
            }
        }
        (None, None) => {
            notes.push("the statement has no Principal, which a trust policy needs; treated as not matching".to_string());
            false
        }
    }
}

pub(super) fn action_matched(
    stmt: &Map<String, Value>,
    request: &Request,
    notes: &mut Vec<String>,
) -> bool {
    match (stmt.get("Action"), stmt.get("NotAction")) {
        (Some(_), Some(_)) => {
            notes.push("the statement has both Action and NotAction, which IAM rejects; treated as not matching".to_string());
            false
        }
        (Some(a), None) => as_strings(a)
            .iter()
            .any(|p| action_matches(p, &request.action)),
        (None, Some(na)) => {
            notes.push(
                "NotAction: the statement covers every action except those listed".to_string(),
            );
            !as_strings(na)
                .iter()
                .any(|p| action_matches(p, &request.action))
        }
        (None, None) => {
            notes.push("the statement has no Action; treated as not matching".to_string());
            false
        }
    }
}

/// The statement's `Effect` as written (empty when it has none).
pub(super) fn effect(stmt: &Map<String, Value>) -> String {
    stmt.get("Effect")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// Whether a permissions-policy statement's `Action` (or `NotAction`) covers `action`, with
/// IAM's case-insensitive wildcards. Effect, resources and conditions are not considered.
pub fn statement_covers_action(stmt: &Map<String, Value>, action: &str) -> bool {
    let request = Request {
        action: action.to_string(),
        ..Request::default()
    };
    action_matched(stmt, &request, &mut Vec::new())
}
