//! Evaluating a role trust policy for an `sts:AssumeRoleWithWebIdentity` request: every
//! statement's principal, action and conditions, then the decision and its reason.

use serde_json::Value;

use super::conditions::condition_block;
use super::context::Context;
use super::document::{document, has_variables, statements, Unreadable};
use super::reason;
use super::request::Request;
use super::result::{Evaluation, StatementResult};
use super::statement::{action_matched, effect, principal_matches};

/// Evaluates `policy` (a trust policy document as IAM stores it, or a JSON string holding
/// one) for `request`.
pub fn evaluate(policy: &Value, request: &Request) -> Evaluation {
    let policy = document(policy);
    let policy = policy.as_ref();
    let variables = has_variables(policy);
    let ctx = Context::new(request);
    let raw_statements = match statements(policy) {
        Ok(s) => s,
        Err(why) => {
            return Evaluation {
                allowed: false,
                statements: Vec::new(),
                reason: unreadable(why).to_string(),
            }
        }
    };
    let statements: Vec<StatementResult> = raw_statements
        .iter()
        .enumerate()
        .map(|(i, s)| evaluate_statement(i, s, request, &ctx, variables))
        .collect();

    let (allowed, reason) = reason::verdict(&statements, &raw_statements, request);

    Evaluation {
        allowed,
        statements,
        reason,
    }
}

/// Why a trust policy without readable statements denies every request.
fn unreadable(why: Unreadable) -> &'static str {
    match why {
        Unreadable::NotAnObject => {
            "the trust policy is not a JSON object, so IAM would deny every request"
        }
        Unreadable::BadStatement => "the trust policy's Statement is neither an object nor an array, so every request is denied",
        Unreadable::NoStatement => {
            "the trust policy has no Statement, so every request is implicitly denied"
        }
    }
}

fn evaluate_statement(
    index: usize,
    stmt: &Value,
    request: &Request,
    ctx: &Context,
    variables: bool,
) -> StatementResult {
    let mut result = StatementResult {
        index,
        sid: None,
        effect: String::new(),
        principal_matched: false,
        action_matched: false,
        conditions: Vec::new(),
        applies: false,
        notes: Vec::new(),
    };
    let Some(stmt) = stmt.as_object() else {
        result
            .notes
            .push("the statement is not a JSON object; ignored".to_string());
        return result;
    };
    result.sid = stmt.get("Sid").and_then(Value::as_str).map(str::to_string);
    result.effect = effect(stmt);
    let effect_ok = result.is_allow() || result.is_deny();
    if !effect_ok {
        result.notes.push(format!(
            "Effect `{}` is neither Allow nor Deny; the statement is ignored",
            result.effect
        ));
    }
    let effect = result.effect.clone();
    result.principal_matched = principal_matches(stmt, &effect, request, &mut result.notes);
    result.action_matched = action_matched(stmt, request, &mut result.notes);
    result.conditions = condition_block(stmt, ctx, variables);
    result.applies = effect_ok
        && result.principal_matched
        && result.action_matched
        && result.conditions.iter().all(|c| c.passed);
    result
}
