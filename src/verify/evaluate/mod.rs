//! Offline evaluation of an IAM role trust policy for an `sts:AssumeRoleWithWebIdentity`
//! request, following the IAM User Guide's documented semantics:
//!
//! * explicit `Deny` wins; without a matching `Allow` the request is implicitly denied;
//! * `Statement` may be an object or an array; `Action`/`Principal` values a string or array;
//! * several values for one key are ORed; several keys in an operator block and several
//!   operators in a `Condition` are ANDed; condition keys are case-insensitive;
//! * a key missing from the request makes a condition false, except negated operators
//!   (`StringNotEquals`, `StringNotLike`, `NotIpAddress`, ...) which are true, `...IfExists`
//!   (true), `Null` (tests presence), `ForAllValues:` (true) and `ForAnyValue:` (false).
//!
//! The result records every statement and condition so the CLI can explain a denial.
//! Every function is total: malformed policies produce notes, never panics.

mod conditions;
mod identity;
mod matching;
mod reason;
mod variables;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use identity::{evaluate_access, Access, AccessEvaluation};

use conditions::evaluate_condition;
use matching::{action_matched, principal_matches};

/// The STS action a Bitbucket step performs.
pub const ASSUME_ROLE_WITH_WEB_IDENTITY: &str = "sts:AssumeRoleWithWebIdentity";

/// How a plain operator (no `ForAnyValue:`/`ForAllValues:`) matches a key whose claim was a
/// JSON list. IAM documents the set operators element by element, but not what STS does with
/// a list claim under a plain operator, so `verify` judges a list `aud` under both readings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ListReading {
    /// Each element is one value of a multivalued key: a plain operator passes when any
    /// value matches.
    #[default]
    ElementWise,
    /// The list is one value, which equals (or is like) no policy value: a plain operator
    /// fails (a negated one passes). Set operators still go element by element.
    Whole,
}

impl ListReading {
    pub fn describe(self) -> &'static str {
        match self {
            ListReading::ElementWise => "element by element (a plain operator passes when any value matches)",
            ListReading::Whole => "as a whole (the list equals no single value, so a plain operator fails; set operators go element by element)",
        }
    }
}

/// What is being asked of the trust policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// For example `sts:AssumeRoleWithWebIdentity`.
    pub action: String,
    /// The OIDC provider ARN, `arn:aws:iam::<account>:oidc-provider/<host/path>`.
    pub federated_principal: String,
    /// Condition context: key (any case) -> values. An absent key and an empty list are the
    /// same: the key is not in the request.
    pub context: BTreeMap<String, Vec<String>>,
    /// Context keys (lower case) whose claim was a JSON list, even of one value.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub list_keys: BTreeSet<String>,
    /// How plain operators read those keys.
    #[serde(default)]
    pub list_reading: ListReading,
}

impl Request {
    /// An `sts:AssumeRoleWithWebIdentity` request from `provider_arn` with an empty context.
    pub fn web_identity(provider_arn: &str) -> Self {
        Request {
            action: ASSUME_ROLE_WITH_WEB_IDENTITY.to_string(),
            federated_principal: provider_arn.to_string(),
            ..Request::default()
        }
    }

    /// Adds (or replaces) one context key.
    pub fn with<K, I, V>(mut self, key: K, values: I) -> Self
    where
        K: Into<String>,
        I: IntoIterator<Item = V>,
        V: Into<String>,
    {
        self.context
            .insert(key.into(), values.into_iter().map(Into::into).collect());
        self
    }

    /// An `sts:AssumeRoleWithWebIdentity` request as STS builds it from a token's claims:
    /// `<host/path>:aud` and `<host/path>:sub` (plus `amr`, `azp`, `email` when present), the
    /// only OIDC claims IAM exposes as condition keys. Add `aws:SourceIp` with [`Request::with`].
    pub fn from_claims(provider_arn: &str, claims: &Map<String, Value>) -> Self {
        let mut request = Request::web_identity(provider_arn);
        let Some(prefix) = provider_key_prefix(provider_arn) else {
            return request;
        };
        for claim in ["aud", "sub", "amr", "azp", "email"] {
            let key = format!("{prefix}:{claim}");
            if matches!(claims.get(claim), Some(Value::Array(_))) {
                request.list_keys.insert(key.to_lowercase());
            }
            let values: Vec<String> = match claims.get(claim) {
                Some(Value::String(s)) => vec![s.clone()],
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect(),
                _ => Vec::new(),
            };
            if !values.is_empty() {
                request.context.insert(key, values);
            }
        }
        request
    }

    /// The same request, with list claims read `reading`.
    pub fn reading(mut self, reading: ListReading) -> Self {
        self.list_reading = reading;
        self
    }

    /// Whether the claim `name` (`aud`, `sub`, ...) was a JSON list.
    pub fn is_list_claim(&self, name: &str) -> bool {
        provider_key_prefix(&self.federated_principal).is_some_and(|p| {
            self.list_keys
                .contains(&format!("{p}:{name}").to_lowercase())
        })
    }
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

/// The condition-key prefix (`<host/path>`) of an OIDC provider ARN, if it is one.
pub fn provider_key_prefix(provider_arn: &str) -> Option<&str> {
    provider_arn
        .split_once(":oidc-provider/")
        .map(|(_, rest)| rest)
        .filter(|rest| !rest.is_empty())
}

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
    fn label(&self) -> String {
        match &self.sid {
            Some(sid) if !sid.is_empty() => format!("`{sid}`"),
            _ => format!("#{}", self.index + 1),
        }
    }

    fn is_allow(&self) -> bool {
        self.effect == "Allow"
    }

    fn is_deny(&self) -> bool {
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

// ---------------------------------------------------------------------------------------
// Context

/// Request context with lower-cased keys (condition keys are case-insensitive).
struct Context {
    values: BTreeMap<String, Vec<String>>,
    /// Keys a plain operator reads as one whole list ([`ListReading::Whole`]).
    whole: BTreeSet<String>,
}

impl Context {
    fn new(request: &Request) -> Self {
        let mut values: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in &request.context {
            values
                .entry(k.to_lowercase())
                .or_default()
                .extend(v.iter().cloned());
        }
        let whole = match request.list_reading {
            ListReading::Whole => request.list_keys.clone(),
            ListReading::ElementWise => BTreeSet::new(),
        };
        Context { values, whole }
    }

    /// Whether a plain operator reads `key` as one whole list.
    fn read_whole(&self, key: &str) -> bool {
        self.whole.contains(&key.to_lowercase())
    }

    fn get(&self, key: &str) -> &[String] {
        self.values
            .get(&key.to_lowercase())
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// A request key with the same final `:name` as `key` but a different prefix, to explain
    /// the common mistake of a condition key prefix that is not the provider's host/path.
    fn similar_key(&self, key: &str) -> Option<&str> {
        let (_, name) = key.rsplit_once(':')?;
        let name = name.to_lowercase();
        self.values
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, _)| k.as_str())
            .find(|k| k.rsplit_once(':').is_some_and(|(_, n)| n == name))
    }
}

// ---------------------------------------------------------------------------------------
// Statements

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
    result.effect = stmt
        .get("Effect")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
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

    match stmt.get("Condition") {
        None | Some(Value::Null) => {}
        Some(Value::Object(block)) => {
            for (operator, keys) in block {
                match keys.as_object() {
                    Some(keys) => {
                        for (key, values) in keys {
                            result
                                .conditions
                                .push(evaluate_condition(operator, key, values, ctx, variables));
                        }
                    }
                    None => result.conditions.push(ConditionResult {
                        operator: operator.clone(),
                        key: String::new(),
                        expected: Vec::new(),
                        actual: Vec::new(),
                        passed: false,
                        note: Some(format!(
                            "the value of {operator} is not an object of key: values"
                        )),
                    }),
                }
            }
        }
        Some(_) => result.conditions.push(ConditionResult {
            operator: String::new(),
            key: String::new(),
            expected: Vec::new(),
            actual: Vec::new(),
            passed: false,
            note: Some("Condition is not a JSON object".to_string()),
        }),
    }

    result.applies = effect_ok
        && result.principal_matched
        && result.action_matched
        && result.conditions.iter().all(|c| c.passed);
    result
}

fn statements_of(policy: &Value) -> Result<Vec<&Value>, String> {
    let Some(map) = policy.as_object() else {
        return Err(
            "the trust policy is not a JSON object, so IAM would deny every request".to_string(),
        );
    };
    match map.get("Statement") {
        Some(Value::Array(items)) => Ok(items.iter().collect()),
        Some(v @ Value::Object(_)) => Ok(vec![v]),
        Some(_) => Err("the trust policy's Statement is neither an object nor an array, so every request is denied".to_string()),
        None => Err("the trust policy has no Statement, so every request is implicitly denied".to_string()),
    }
}

/// A policy given as a document, or as a JSON string holding one (as IAM returns it); a
/// string that is not JSON stays as it is and denies everything.
pub(crate) fn document(policy: &Value) -> std::borrow::Cow<'_, Value> {
    match policy {
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(v) => std::borrow::Cow::Owned(v),
            Err(_) => std::borrow::Cow::Borrowed(policy),
        },
        other => std::borrow::Cow::Borrowed(other),
    }
}

/// Evaluates `policy` (a trust policy document as IAM stores it, or a JSON string holding
/// one) for `request`.
pub fn evaluate(policy: &Value, request: &Request) -> Evaluation {
    let policy = document(policy);
    let policy = policy.as_ref();
    let variables = policy.get("Version").and_then(Value::as_str) == Some("2012-10-17");
    let ctx = Context::new(request);
    let raw_statements = match statements_of(policy) {
        Ok(s) => s,
        Err(reason) => {
            return Evaluation {
                allowed: false,
                statements: Vec::new(),
                reason,
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

#[cfg(test)]
mod tests;
