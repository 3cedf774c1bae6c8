//! What an evaluation found: every statement and condition with its outcome, so a denial
//! can be explained.

use serde::Serialize;

/// The outcome of one `operator: { key: values }` test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConditionResult {
    /// The operator as written in the policy, e.g. `ForAnyValue:StringLike`.
    pub operator: String,
    /// The condition key as written in the policy.
    pub key: String,
    /// The policy's values, as strings.
    pub expected: Vec<String>,
    /// The request's values for the key (empty when absent).
    pub actual: Vec<String>,
    pub passed: bool,
    /// Why it failed, or anything unusual about how it was evaluated.
    pub note: Option<String>,
}

/// The outcome of one statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementResult {
    /// Position in the policy, from 0.
    pub index: usize,
    pub sid: Option<String>,
    pub effect: String,
    pub principal_matched: bool,
    pub action_matched: bool,
    pub conditions: Vec<ConditionResult>,
    /// Principal, action and every condition match (and the effect is Allow or Deny).
    pub applies: bool,
    /// Anything unusual about the statement itself.
    pub notes: Vec<String>,
}

impl StatementResult {
    pub(super) fn label(&self) -> String {
        match &self.sid {
            Some(sid) if !sid.is_empty() => format!("`{sid}`"),
            _ => format!("#{}", self.index + 1),
        }
    }

    pub(super) fn is_allow(&self) -> bool {
        self.effect == "Allow"
    }

    pub(super) fn is_deny(&self) -> bool {
        self.effect == "Deny"
    }
}

/// The outcome of evaluating a trust policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evaluation {
    pub allowed: bool,
    pub statements: Vec<StatementResult>,
    /// One sentence: why the request is allowed, which Deny matched, or the first failing
    /// test of the Allow statement that came closest.
    pub reason: String,
}
