//! The one sentence that says why a request is allowed, which Deny matched, or the first
//! failing test of the Allow statement that came closest.

use serde_json::Value;

use super::request::Request;
use super::result::{ConditionResult, StatementResult};

fn condition_failure(c: &ConditionResult) -> String {
    let why = c.note.as_deref().unwrap_or("it does not match");
    if c.key.is_empty() {
        format!("condition {} failed: {why}", c.operator)
    } else {
        format!("condition {} on {} failed: {why}", c.operator, c.key)
    }
}

fn compact(v: Option<&Value>) -> String {
    v.map_or_else(|| "(none)".to_string(), Value::to_string)
}

/// Why an Allow statement does not apply: principal, then action, then the first condition.
fn allow_failure(s: &StatementResult, stmt: Option<&Value>, request: &Request) -> String {
    let stmt = stmt.and_then(Value::as_object);
    if !s.principal_matched {
        let principal = stmt.and_then(|m| m.get("Principal").or_else(|| m.get("NotPrincipal")));
        let mut msg = format!(
            "statement {} does not trust this token's provider: its principal is {} but the request comes from Federated `{}`",
            s.label(),
            compact(principal),
            request.federated_principal
        );
        if let Some(note) = s.notes.first() {
            msg.push_str(&format!(" ({note})"));
        }
        return msg;
    }
    if !s.action_matched {
        let action = stmt.and_then(|m| m.get("Action").or_else(|| m.get("NotAction")));
        return format!(
            "statement {} does not cover `{}`: its action is {}",
            s.label(),
            request.action,
            compact(action)
        );
    }
    match s.conditions.iter().find(|c| !c.passed) {
        Some(c) => condition_failure(c),
        None => format!("statement {} does not apply", s.label()),
    }
}

/// The decision and its reason: an applying Deny wins, then an applying Allow; otherwise the
/// closest Allow statement (by principal, action, then passing conditions) says what failed.
pub(super) fn verdict(
    statements: &[StatementResult],
    raw_statements: &[&Value],
    request: &Request,
) -> (bool, String) {
    let deny = statements.iter().find(|s| s.is_deny() && s.applies);
    let allow = statements.iter().find(|s| s.is_allow() && s.applies);

    if let Some(d) = deny {
        (
        false,
        format!(
            "the explicit Deny in statement {} matches this request, and an explicit Deny always overrides any Allow",
            d.label()
        ),
    )
    } else if let Some(a) = allow {
        let n = a.conditions.len();
        let mut reason = format!(
            "allowed by statement {}: principal, action and all {n} condition(s) match",
            a.label()
        );
        let unsupported = statements
            .iter()
            .filter(|s| s.is_deny())
            .flat_map(|s| s.conditions.iter().map(move |c| (s, c)))
            .find(|(_, c)| {
                c.note
                    .as_deref()
                    .is_some_and(|n| n.starts_with("unsupported operator"))
            });
        if let Some((s, c)) = unsupported {
            reason.push_str(&format!(
                ", but Deny statement {} uses unsupported operator {}, so check it by hand",
                s.label(),
                c.operator
            ));
        }
        (true, reason)
    } else {
        // The closest Allow: principal and action matter most, then passing conditions.
        let mut best: Option<(&StatementResult, (u8, usize))> = None;
        for s in statements.iter().filter(|s| s.is_allow()) {
            let score = (
                u8::from(s.principal_matched) * 2 + u8::from(s.action_matched),
                s.conditions.iter().filter(|c| c.passed).count(),
            );
            if best.is_none_or(|(_, b)| score > b) {
                best = Some((s, score));
            }
        }
        match best {
            Some((s, _)) => (
                false,
                allow_failure(s, raw_statements.get(s.index).copied(), request),
            ),
            None => (
                false,
                "the trust policy has no Allow statement, so every request is implicitly denied"
                    .to_string(),
            ),
        }
    }
}
