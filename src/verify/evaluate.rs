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

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The STS action a Bitbucket step performs.
pub const ASSUME_ROLE_WITH_WEB_IDENTITY: &str = "sts:AssumeRoleWithWebIdentity";

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
}

impl Request {
    /// An `sts:AssumeRoleWithWebIdentity` request from `provider_arn` with an empty context.
    pub fn web_identity(provider_arn: &str) -> Self {
        Request {
            action: ASSUME_ROLE_WITH_WEB_IDENTITY.to_string(),
            federated_principal: provider_arn.to_string(),
            context: BTreeMap::new(),
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
                request.context.insert(format!("{prefix}:{claim}"), values);
            }
        }
        request
    }
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
        Context { values }
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
// Wildcards and policy variables

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece {
    Lit(char),
    /// `*`: any sequence, including empty.
    Star,
    /// `?`: exactly one character.
    One,
}

/// Glob match without recursion: O(pattern × text) worst case.
fn glob(pattern: &[Piece], text: &[char]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut backtrack: Option<(usize, usize)> = None;
    while let Some(&c) = text.get(t) {
        match pattern.get(p) {
            Some(Piece::Star) => {
                backtrack = Some((p, t));
                p += 1;
            }
            Some(Piece::One) => {
                p += 1;
                t += 1;
            }
            Some(Piece::Lit(l)) if *l == c => {
                p += 1;
                t += 1;
            }
            _ => match backtrack {
                Some((bp, bt)) => {
                    p = bp + 1;
                    t = bt + 1;
                    backtrack = Some((bp, bt + 1));
                }
                None => return false,
            },
        }
    }
    while pattern.get(p) == Some(&Piece::Star) {
        p += 1;
    }
    p == pattern.len()
}

fn wildcard_pieces(s: &str) -> Vec<Piece> {
    s.chars()
        .map(|c| match c {
            '*' => Piece::Star,
            '?' => Piece::One,
            c => Piece::Lit(c),
        })
        .collect()
}

/// Case-insensitive wildcard match, used for actions.
fn action_matches(pattern: &str, action: &str) -> bool {
    let pieces = wildcard_pieces(&pattern.to_lowercase());
    let text: Vec<char> = action.to_lowercase().chars().collect();
    glob(&pieces, &text)
}

/// A policy value after policy-variable substitution.
enum Resolved {
    Pieces(Vec<Piece>),
    /// A `${key}` whose key has no single value in the request and no default.
    Unresolved(String),
}

/// Resolves `${...}` policy variables (policy version 2012-10-17 only): `${*}`, `${?}` and
/// `${$}` are literal characters, `${key}` / `${key, 'default'}` take the request's value.
fn resolve(raw: &str, ctx: &Context, variables: bool) -> Resolved {
    if !variables || !raw.contains("${") {
        return Resolved::Pieces(wildcard_pieces(raw));
    }
    let mut pieces = Vec::new();
    let mut rest = raw;
    while let Some(start) = rest.find("${") {
        let (before, after_dollar) = rest.split_at(start);
        pieces.extend(wildcard_pieces(before));
        let body_and_more = after_dollar.get(2..).unwrap_or("");
        let Some(end) = body_and_more.find('}') else {
            // No closing brace: literal text.
            pieces.extend(after_dollar.chars().map(Piece::Lit));
            return Resolved::Pieces(pieces);
        };
        let body = body_and_more.get(..end).unwrap_or("");
        rest = body_and_more.get(end + 1..).unwrap_or("");
        match body {
            "*" => pieces.push(Piece::Lit('*')),
            "?" => pieces.push(Piece::Lit('?')),
            "$" => pieces.push(Piece::Lit('$')),
            _ => {
                let (key, default) = match body.split_once(',') {
                    Some((k, d)) => {
                        let d = d.trim();
                        let d = d
                            .strip_prefix('\'')
                            .and_then(|d| d.strip_suffix('\''))
                            .unwrap_or(d);
                        (k.trim(), Some(d))
                    }
                    None => (body.trim(), None),
                };
                match (ctx.get(key), default) {
                    ([value], _) => pieces.extend(value.chars().map(Piece::Lit)),
                    (_, Some(d)) => pieces.extend(d.chars().map(Piece::Lit)),
                    _ => return Resolved::Unresolved(format!("${{{body}}}")),
                }
            }
        }
    }
    pieces.extend(wildcard_pieces(rest));
    Resolved::Pieces(pieces)
}

/// The literal string a resolved value stands for in a non-wildcard comparison.
fn literal(pieces: &[Piece]) -> String {
    pieces
        .iter()
        .map(|p| match p {
            Piece::Lit(c) => *c,
            Piece::Star => '*',
            Piece::One => '?',
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Operators

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Single,
    ForAnyValue,
    ForAllValues,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Base {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    IpAddress,
    NotIpAddress,
    Bool,
    Null,
}

impl Base {
    fn parse(name: &str) -> Option<Base> {
        Some(match name {
            "StringEquals" => Base::StringEquals,
            "StringNotEquals" => Base::StringNotEquals,
            "StringEqualsIgnoreCase" => Base::StringEqualsIgnoreCase,
            "StringNotEqualsIgnoreCase" => Base::StringNotEqualsIgnoreCase,
            "StringLike" => Base::StringLike,
            "StringNotLike" => Base::StringNotLike,
            "IpAddress" => Base::IpAddress,
            "NotIpAddress" => Base::NotIpAddress,
            "Bool" => Base::Bool,
            "Null" => Base::Null,
            _ => return None,
        })
    }

    fn negated(self) -> bool {
        matches!(
            self,
            Base::StringNotEquals
                | Base::StringNotEqualsIgnoreCase
                | Base::StringNotLike
                | Base::NotIpAddress
        )
    }
}

#[derive(Debug, Clone, Copy)]
struct Op {
    set: SetOp,
    base: Base,
    if_exists: bool,
}

fn parse_operator(name: &str) -> Option<Op> {
    let (set, rest) = if let Some(r) = name.strip_prefix("ForAnyValue:") {
        (SetOp::ForAnyValue, r)
    } else if let Some(r) = name.strip_prefix("ForAllValues:") {
        (SetOp::ForAllValues, r)
    } else {
        (SetOp::Single, name)
    };
    let (rest, if_exists) = match rest.strip_suffix("IfExists") {
        Some(r) => (r, true),
        None => (rest, false),
    };
    let base = Base::parse(rest)?;
    if base == Base::Null && (if_exists || set != SetOp::Single) {
        return None;
    }
    Some(Op {
        set,
        base,
        if_exists,
    })
}

/// A policy value list as strings: a scalar or an array of scalars.
fn policy_strings(value: &Value, notes: &mut Vec<String>) -> Vec<String> {
    fn scalar(v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
    match value {
        Value::Array(items) => {
            let out: Vec<String> = items.iter().filter_map(scalar).collect();
            if out.len() != items.len() {
                notes.push("non-scalar values in the policy were ignored".to_string());
            }
            out
        }
        v => match scalar(v) {
            Some(s) => vec![s],
            None => {
                notes.push("the policy value is not a string, number or boolean".to_string());
                Vec::new()
            }
        },
    }
}

fn quoted_list(values: &[String]) -> String {
    values
        .iter()
        .map(|v| format!("`{v}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn any_of(values: &[String]) -> String {
    match values {
        [one] => format!("`{one}`"),
        [] => "any policy value (the policy lists none)".to_string(),
        many => format!("any of {}", quoted_list(many)),
    }
}

fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

fn parse_net(s: &str) -> Option<IpNet> {
    let s = s.trim();
    IpNet::from_str(s)
        .ok()
        .or_else(|| IpAddr::from_str(s).ok().map(IpNet::from))
}

/// Compares request values with policy values for one (non-Null) operator.
struct Matcher<'a> {
    base: Base,
    expected: &'a [String],
    /// Resolved policy values (`None` = unresolved variable), parallel to `expected`.
    resolved: Vec<Option<Vec<Piece>>>,
    nets: Vec<Option<IpNet>>,
}

impl<'a> Matcher<'a> {
    fn new(
        base: Base,
        expected: &'a [String],
        ctx: &Context,
        variables: bool,
        notes: &mut Vec<String>,
    ) -> Self {
        let string_op = !matches!(
            base,
            Base::IpAddress | Base::NotIpAddress | Base::Bool | Base::Null
        );
        let resolved = expected
            .iter()
            .map(|raw| {
                if !string_op {
                    return None;
                }
                match resolve(raw, ctx, variables) {
                    Resolved::Pieces(p) => Some(p),
                    Resolved::Unresolved(var) => {
                        notes.push(format!(
                            "policy variable `{var}` has no single value in the request, so `{raw}` matches nothing"
                        ));
                        None
                    }
                }
            })
            .collect();
        let nets = expected
            .iter()
            .map(|raw| {
                if !matches!(base, Base::IpAddress | Base::NotIpAddress) {
                    return None;
                }
                let net = parse_net(raw);
                if net.is_none() {
                    notes.push(format!("`{raw}` is not a CIDR block or IP address"));
                }
                net
            })
            .collect();
        Matcher {
            base,
            expected,
            resolved,
            nets,
        }
    }

    /// The first policy value the request value matches under the positive form of the
    /// operator (`StringNotLike` -> `StringLike`, ...).
    fn positive_match(&self, actual: &str) -> Option<&'a String> {
        let idx = match self.base {
            Base::StringEquals | Base::StringNotEquals => self
                .resolved
                .iter()
                .position(|r| r.as_deref().is_some_and(|p| literal(p) == actual)),
            Base::StringEqualsIgnoreCase | Base::StringNotEqualsIgnoreCase => {
                let a = actual.to_lowercase();
                self.resolved
                    .iter()
                    .position(|r| r.as_deref().is_some_and(|p| literal(p).to_lowercase() == a))
            }
            Base::StringLike | Base::StringNotLike => {
                let text: Vec<char> = actual.chars().collect();
                self.resolved
                    .iter()
                    .position(|r| r.as_deref().is_some_and(|p| glob(p, &text)))
            }
            Base::IpAddress | Base::NotIpAddress => {
                let ip = IpAddr::from_str(actual.trim()).ok()?;
                self.nets
                    .iter()
                    .position(|n| n.is_some_and(|n| n.contains(&ip)))
            }
            Base::Bool => {
                let a = parse_bool(actual)?;
                self.expected.iter().position(|e| parse_bool(e) == Some(a))
            }
            Base::Null => None,
        };
        idx.and_then(|i| self.expected.get(i))
    }

    /// Does one request value satisfy the operator (negation included)?
    fn satisfied_by(&self, actual: &str) -> bool {
        self.positive_match(actual).is_some() != self.base.negated()
    }

    /// Why `actual` does not satisfy the operator.
    fn explain_failure(&self, actual: &str) -> String {
        if self.base.negated() {
            let hit = self
                .positive_match(actual)
                .map(|p| format!("`{p}`"))
                .unwrap_or_else(|| "a policy value".to_string());
            return match self.base {
                Base::NotIpAddress => {
                    format!("`{actual}` is inside {hit}, which NotIpAddress excludes")
                }
                _ => format!("`{actual}` matches {hit}, which this operator excludes"),
            };
        }
        let expected = any_of(self.expected);
        match self.base {
            Base::StringLike => format!("`{actual}` does not match {expected}"),
            Base::StringEqualsIgnoreCase => {
                format!("`{actual}` is not {expected} (ignoring case)")
            }
            Base::IpAddress => {
                if IpAddr::from_str(actual.trim()).is_err() {
                    format!("`{actual}` is not an IP address")
                } else {
                    format!("source IP `{actual}` is not in {expected}")
                }
            }
            Base::Bool if parse_bool(actual).is_none() => {
                format!("`{actual}` is not true or false")
            }
            _ => {
                let case_hint = self.expected.iter().any(|e| e.eq_ignore_ascii_case(actual));
                if case_hint {
                    format!("`{actual}` is not {expected} (the comparison is case-sensitive)")
                } else {
                    format!("`{actual}` is not {expected}")
                }
            }
        }
    }
}

fn evaluate_condition(
    operator: &str,
    key: &str,
    raw_values: &Value,
    ctx: &Context,
    variables: bool,
) -> ConditionResult {
    let mut notes = Vec::new();
    let expected = policy_strings(raw_values, &mut notes);
    let actual: Vec<String> = ctx.get(key).to_vec();
    let mut result = ConditionResult {
        operator: operator.to_string(),
        key: key.to_string(),
        expected,
        actual,
        passed: false,
        note: None,
    };

    let Some(op) = parse_operator(operator) else {
        result.note = Some(format!(
            "unsupported operator {operator}: this check treats the condition as failing"
        ));
        return result;
    };

    let (passed, why) = if op.base == Base::Null {
        null_check(&result)
    } else {
        let matcher = Matcher::new(op.base, &result.expected, ctx, variables, &mut notes);
        compare(op, key, &result.actual, &matcher, ctx)
    };
    result.passed = passed;
    if let Some(why) = why {
        notes.insert(0, why);
    }
    if !notes.is_empty() {
        result.note = Some(notes.join("; "));
    }
    result
}

fn null_check(c: &ConditionResult) -> (bool, Option<String>) {
    let present = !c.actual.is_empty();
    let mut invalid = Vec::new();
    let passed = c.expected.iter().any(|e| match parse_bool(e) {
        Some(true) => !present,
        Some(false) => present,
        None => {
            invalid.push(e.clone());
            false
        }
    });
    if passed {
        return (true, None);
    }
    if !invalid.is_empty() {
        return (
            false,
            Some(format!(
                "Null expects true or false, not {}",
                quoted_list(&invalid)
            )),
        );
    }
    let why = if present {
        format!(
            "the key is present (`{}`) but Null true requires it to be absent",
            c.actual.join("`, `")
        )
    } else {
        "the key is absent from the request but Null false requires it to be present".to_string()
    };
    (false, Some(why))
}

fn compare(
    op: Op,
    key: &str,
    actual: &[String],
    matcher: &Matcher<'_>,
    ctx: &Context,
) -> (bool, Option<String>) {
    if actual.is_empty() {
        if op.if_exists {
            return (
                true,
                Some("the key is absent from the request, so ...IfExists passes".to_string()),
            );
        }
        return match op.set {
            SetOp::ForAllValues => (
                true,
                Some(
                    "the key is absent from the request, and ForAllValues is true for an absent key"
                        .to_string(),
                ),
            ),
            SetOp::ForAnyValue => (
                false,
                Some("the request has no value for this key, and ForAnyValue needs at least one".to_string()),
            ),
            SetOp::Single if op.base.negated() => (
                true,
                Some("the key is absent from the request, so this negated operator passes".to_string()),
            ),
            SetOp::Single => {
                let why = match ctx.similar_key(key) {
                    Some(other) => format!(
                        "the request has no `{key}` value (it has `{other}`: the condition key prefix must be the OIDC provider's host/path)"
                    ),
                    None => format!("the request has no `{key}` value"),
                };
                (false, Some(why))
            }
        };
    }

    match op.set {
        SetOp::Single => {
            let positive_any = actual.iter().any(|a| matcher.positive_match(a).is_some());
            let passed = positive_any != op.base.negated();
            let multi = (actual.len() > 1).then(|| {
                "the request has several values for this key but the operator has no ForAnyValue/ForAllValues prefix; evaluated as any value matching".to_string()
            });
            if passed {
                return (true, multi);
            }
            let why = if op.base.negated() {
                actual
                    .iter()
                    .find(|a| matcher.positive_match(a).is_some())
                    .map(|a| matcher.explain_failure(a))
            } else {
                actual.first().map(|a| matcher.explain_failure(a))
            };
            let why = match (why, multi) {
                (Some(w), Some(m)) => Some(format!("{w} ({m})")),
                (w, m) => w.or(m),
            };
            (false, why)
        }
        SetOp::ForAnyValue => {
            if actual.iter().any(|a| matcher.satisfied_by(a)) {
                (true, None)
            } else {
                let why = match actual {
                    [one] => matcher.explain_failure(one),
                    many => format!(
                        "none of the request values {} satisfies the operator",
                        quoted_list(many)
                    ),
                };
                (false, Some(why))
            }
        }
        SetOp::ForAllValues => match actual.iter().find(|a| !matcher.satisfied_by(a)) {
            None => (true, None),
            Some(a) => (
                false,
                Some(format!(
                    "{} (ForAllValues requires every request value to match)",
                    matcher.explain_failure(a)
                )),
            ),
        },
    }
}

// ---------------------------------------------------------------------------------------
// Statements

/// Values of a string-or-array policy element (non-strings ignored).
fn string_list(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Does a `Principal` value include the request's federated principal?
fn principal_includes(principal: &Value, request: &Request) -> bool {
    match principal {
        Value::String(s) => s == "*",
        Value::Object(map) => map.iter().any(|(kind, values)| {
            let values = string_list(values);
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

fn principal_matches(
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
                        .map(string_list)
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

fn action_matched(stmt: &Map<String, Value>, request: &Request, notes: &mut Vec<String>) -> bool {
    match (stmt.get("Action"), stmt.get("NotAction")) {
        (Some(_), Some(_)) => {
            notes.push("the statement has both Action and NotAction, which IAM rejects; treated as not matching".to_string());
            false
        }
        (Some(a), None) => string_list(a)
            .iter()
            .any(|p| action_matches(p, &request.action)),
        (None, Some(na)) => {
            notes.push(
                "NotAction: the statement covers every action except those listed".to_string(),
            );
            !string_list(na)
                .iter()
                .any(|p| action_matches(p, &request.action))
        }
        (None, None) => {
            notes.push("the statement has no Action; treated as not matching".to_string());
            false
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

fn condition_failure(c: &ConditionResult) -> String {
    let why = c.note.as_deref().unwrap_or("it does not match");
    if c.key.is_empty() {
        format!("condition {} failed: {why}", c.operator)
    } else {
        format!("condition {} on {} failed: {why}", c.operator, c.key)
    }
}

fn compact(v: Option<&Value>) -> String {
    v.map(Value::to_string)
        .unwrap_or_else(|| "(none)".to_string())
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

/// Evaluates `policy` (a trust policy document as IAM stores it, or a JSON string holding
/// one) for `request`.
pub fn evaluate(policy: &Value, request: &Request) -> Evaluation {
    let parsed;
    let policy = match policy {
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(v) => {
                parsed = v;
                &parsed
            }
            Err(_) => policy,
        },
        other => other,
    };
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

    let deny = statements.iter().find(|s| s.is_deny() && s.applies);
    let allow = statements.iter().find(|s| s.is_allow() && s.applies);

    let (allowed, reason) = if let Some(d) = deny {
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
    };

    Evaluation {
        allowed,
        statements,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PROVIDER: &str = "arn:aws:iam::123456789012:oidc-provider/api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc";
    const P: &str = "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc";
    const AUD: &str = "ari:cloud:bitbucket::workspace/1111-2222";
    const REPO: &str = "{aaaa-1111}";

    fn key(name: &str) -> String {
        format!("{P}:{name}")
    }

    fn request(sub: &str) -> Request {
        Request::web_identity(PROVIDER)
            .with(key("aud"), [AUD])
            .with(key("sub"), [sub])
    }

    /// A single-statement trust policy with the given condition block.
    fn policy(condition: Value) -> Value {
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "Bitbucket",
                "Effect": "Allow",
                "Principal": {"Federated": PROVIDER},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": condition
            }]
        })
    }

    fn allowed(condition: Value, req: &Request) -> bool {
        evaluate(&policy(condition), req).allowed
    }

    fn only_condition(e: &Evaluation) -> &ConditionResult {
        &e.statements[0].conditions[0]
    }

    // --- StringLike / StringEquals ---------------------------------------------------

    #[test]
    fn the_generated_policy_allows_its_repository() {
        let c = json!({
            "StringEquals": {key("aud"): AUD},
            "StringLike": {key("sub"): format!("{REPO}:*")}
        });
        let e = evaluate(&policy(c), &request("{aaaa-1111}:{step-1}"));
        assert!(e.allowed, "{}", e.reason);
        assert!(e.reason.starts_with("allowed by statement `Bitbucket`"));
        assert!(e.statements[0].applies);
        assert_eq!(e.statements[0].conditions.len(), 2);
    }

    #[test]
    fn string_like_wildcard_no_match_names_values() {
        let c = json!({"StringLike": {key("sub"): format!("{REPO}:*")}});
        let e = evaluate(&policy(c), &request("{bbbb-2222}:{step-1}"));
        assert!(!e.allowed);
        assert_eq!(
            e.reason,
            format!(
                "condition StringLike on {} failed: `{{bbbb-2222}}:{{step-1}}` does not match `{{aaaa-1111}}:*`",
                key("sub")
            )
        );
        let c = only_condition(&e);
        assert_eq!(c.actual, vec!["{bbbb-2222}:{step-1}".to_string()]);
        assert_eq!(c.expected, vec!["{aaaa-1111}:*".to_string()]);
    }

    #[test]
    fn string_like_star_matches_empty_and_across_colons() {
        let c = json!({"StringLike": {key("sub"): "{aaaa-1111}*"}});
        assert!(allowed(c.clone(), &request("{aaaa-1111}")));
        assert!(allowed(c, &request("{aaaa-1111}:{env}:{step}")));
    }

    #[test]
    fn string_like_question_mark_is_exactly_one_char() {
        let c = json!({"StringLike": {key("sub"): "ab?d"}});
        assert!(allowed(c.clone(), &request("abcd")));
        assert!(!allowed(c.clone(), &request("abd")));
        assert!(!allowed(c, &request("abccd")));
    }

    #[test]
    fn string_like_is_case_sensitive() {
        let c = json!({"StringLike": {key("sub"): "{AAAA-1111}:*"}});
        assert!(!allowed(c, &request("{aaaa-1111}:{s}")));
    }

    #[test]
    fn string_like_backtracking() {
        let c = json!({"StringLike": {key("sub"): "*a*b*c"}});
        assert!(allowed(c.clone(), &request("xxaxxbxxbxxc")));
        assert!(!allowed(c, &request("xxaxxbxxcxxb")));
    }

    #[test]
    fn string_equals_exact_and_case_sensitive() {
        let c = json!({"StringEquals": {key("aud"): AUD}});
        assert!(allowed(c.clone(), &request("x")));
        let upper = request("x").with(key("aud"), [AUD.to_uppercase()]);
        let e = evaluate(&policy(c), &upper);
        assert!(!e.allowed);
        assert!(e.reason.contains("case-sensitive"), "{}", e.reason);
    }

    #[test]
    fn string_equals_treats_star_literally() {
        let c = json!({"StringEquals": {key("sub"): format!("{REPO}:*")}});
        assert!(!allowed(c.clone(), &request("{aaaa-1111}:{step}")));
        assert!(allowed(c, &request("{aaaa-1111}:*")));
    }

    #[test]
    fn string_equals_ignore_case() {
        let c = json!({"StringEqualsIgnoreCase": {key("aud"): AUD.to_uppercase()}});
        assert!(allowed(c.clone(), &request("x")));
        let other = request("x").with(key("aud"), ["something-else"]);
        let e = evaluate(&policy(c), &other);
        assert!(!e.allowed);
        assert!(e.reason.contains("ignoring case"), "{}", e.reason);
    }

    #[test]
    fn string_not_equals_and_ignore_case() {
        let c = json!({"StringNotEquals": {key("sub"): "blocked"}});
        assert!(allowed(c.clone(), &request("fine")));
        assert!(!allowed(c, &request("blocked")));
        let c = json!({"StringNotEqualsIgnoreCase": {key("sub"): "BLOCKED"}});
        assert!(!allowed(c.clone(), &request("blocked")));
        assert!(allowed(c, &request("other")));
    }

    #[test]
    fn string_not_like() {
        let c = json!({"StringNotLike": {key("sub"): "{bad}:*"}});
        assert!(allowed(c.clone(), &request("{good}:{s}")));
        let e = evaluate(&policy(c), &request("{bad}:{s}"));
        assert!(!e.allowed);
        assert!(
            e.reason.contains("which this operator excludes"),
            "{}",
            e.reason
        );
    }

    #[test]
    fn two_values_are_ored() {
        let c = json!({"StringLike": {key("sub"): ["{r1}:*", "{r2}:*"]}});
        assert!(allowed(c.clone(), &request("{r1}:{s}")));
        assert!(allowed(c.clone(), &request("{r2}:{s}")));
        let e = evaluate(&policy(c), &request("{r3}:{s}"));
        assert!(!e.allowed);
        assert!(
            e.reason.contains("any of `{r1}:*`, `{r2}:*`"),
            "{}",
            e.reason
        );
    }

    #[test]
    fn negated_operator_with_two_values_is_nor() {
        let c = json!({"StringNotEquals": {key("sub"): ["a", "b"]}});
        assert!(!allowed(c.clone(), &request("a")));
        assert!(!allowed(c.clone(), &request("b")));
        assert!(allowed(c, &request("c")));
    }

    #[test]
    fn two_keys_are_anded() {
        let c = json!({"StringEquals": {key("aud"): AUD, key("sub"): "{r}:{s}"}});
        assert!(allowed(c.clone(), &request("{r}:{s}")));
        let e = evaluate(&policy(c), &request("{r}:{other}"));
        assert!(!e.allowed);
        let conds = &e.statements[0].conditions;
        assert!(conds[0].passed && !conds[1].passed);
    }

    #[test]
    fn two_operators_are_anded() {
        let c = json!({
            "StringEquals": {key("aud"): AUD},
            "StringLike": {key("sub"): "{r}:*"}
        });
        let wrong_aud = request("{r}:{s}").with(key("aud"), ["other"]);
        let e = evaluate(&policy(c), &wrong_aud);
        assert!(!e.allowed);
        assert!(
            e.reason.starts_with("condition StringEquals on"),
            "{}",
            e.reason
        );
    }

    #[test]
    fn condition_keys_are_case_insensitive_values_are_not() {
        let c = json!({"StringEquals": {key("SUB").to_uppercase(): "{r}:{s}"}});
        assert!(allowed(c, &request("{r}:{s}")));
        let mixed = Request::web_identity(PROVIDER).with("AWS:SourceIP", ["10.0.0.1"]);
        let c = json!({"IpAddress": {"aws:sourceip": "10.0.0.0/8"}});
        assert!(allowed(c, &mixed));
    }

    // --- Missing keys, IfExists, Null, set operators ----------------------------------

    #[test]
    fn missing_key_fails_without_if_exists() {
        let c = json!({"StringEquals": {key("email"): "a@b.c"}});
        let e = evaluate(&policy(c), &request("x"));
        assert!(!e.allowed);
        assert!(e.reason.contains("the request has no"), "{}", e.reason);
    }

    #[test]
    fn missing_key_passes_with_if_exists() {
        let c = json!({"StringEqualsIfExists": {key("email"): "a@b.c"}});
        assert!(allowed(c.clone(), &request("x")));
        // Present: evaluated normally.
        let with = request("x").with(key("email"), ["z@b.c"]);
        assert!(!allowed(c, &with));
    }

    #[test]
    fn missing_key_with_negated_operator_passes() {
        // "If the policy condition requires that the key is not matched, such as StringNotLike
        // ..., and the right key is not present, the condition is true."
        let c = json!({"StringNotLike": {key("email"): "*@evil.example"}});
        assert!(allowed(c, &request("x")));
        let c = json!({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}});
        assert!(allowed(c, &request("x")));
    }

    #[test]
    fn missing_key_with_wrong_prefix_gets_a_hint() {
        let c = json!({"StringLike": {"api.bitbucket.org/2.0/workspaces/other/pipelines-config/identity/oidc:sub": "{r}:*"}});
        let e = evaluate(&policy(c), &request("{r}:{s}"));
        assert!(!e.allowed);
        assert!(e.reason.contains("condition key prefix"), "{}", e.reason);
    }

    #[test]
    fn for_all_values_with_missing_key_is_true() {
        let c = json!({"ForAllValues:StringEquals": {key("amr"): "authenticated"}});
        let e = evaluate(&policy(c), &request("x"));
        assert!(e.allowed);
        assert!(only_condition(&e)
            .note
            .as_deref()
            .unwrap_or("")
            .contains("ForAllValues"));
    }

    #[test]
    fn for_all_values_requires_every_value() {
        let c = json!({"ForAllValues:StringEquals": {key("aud"): ["a", "b"]}});
        let subset = request("x").with(key("aud"), ["a", "b"]);
        assert!(allowed(c.clone(), &subset));
        let extra = request("x").with(key("aud"), ["a", "c"]);
        let e = evaluate(&policy(c), &extra);
        assert!(!e.allowed);
        assert!(e.reason.contains("`c`"), "{}", e.reason);
    }

    #[test]
    fn for_any_value_with_missing_key_is_false() {
        let c = json!({"ForAnyValue:StringEquals": {key("amr"): "authenticated"}});
        let e = evaluate(&policy(c), &request("x"));
        assert!(!e.allowed);
        assert!(
            e.reason.contains("ForAnyValue needs at least one"),
            "{}",
            e.reason
        );
    }

    #[test]
    fn for_any_value_needs_one_match() {
        let c = json!({"ForAnyValue:StringLike": {key("aud"): "ari:*"}});
        let r = request("x").with(key("aud"), ["zzz", "ari:cloud:x"]);
        assert!(allowed(c.clone(), &r));
        let r = request("x").with(key("aud"), ["zzz", "yyy"]);
        assert!(!allowed(c, &r));
    }

    #[test]
    fn for_any_value_negated_operator() {
        // True when at least one request value matches none of the policy values.
        let c = json!({"ForAnyValue:StringNotEquals": {key("aud"): ["a", "b"]}});
        assert!(allowed(
            c.clone(),
            &request("x").with(key("aud"), ["a", "z"])
        ));
        assert!(!allowed(c, &request("x").with(key("aud"), ["a", "b"])));
    }

    #[test]
    fn for_any_value_if_exists_with_missing_key_is_true() {
        let c = json!({"ForAnyValue:StringEqualsIfExists": {key("amr"): "x"}});
        assert!(allowed(c, &request("x")));
    }

    #[test]
    fn null_true_and_false() {
        let absent = json!({"Null": {key("email"): "true"}});
        assert!(allowed(absent.clone(), &request("x")));
        let with_email = request("x").with(key("email"), ["a@b.c"]);
        let e = evaluate(&policy(absent), &with_email);
        assert!(!e.allowed);
        assert!(
            e.reason.contains("Null true requires it to be absent"),
            "{}",
            e.reason
        );

        let present = json!({"Null": {key("sub"): "false"}});
        assert!(allowed(present.clone(), &request("x")));
        let no_sub = Request::web_identity(PROVIDER);
        assert!(!allowed(present, &no_sub));
        // JSON boolean form.
        assert!(allowed(
            json!({"Null": {key("email"): true}}),
            &request("x")
        ));
        // Empty value list counts as absent.
        let empty = request("x").with(key("email"), Vec::<String>::new());
        assert!(allowed(json!({"Null": {key("email"): "true"}}), &empty));
    }

    #[test]
    fn multivalued_key_without_set_operator_is_noted() {
        let c = json!({"StringEquals": {key("aud"): "b"}});
        let r = request("x").with(key("aud"), ["a", "b"]);
        let e = evaluate(&policy(c), &r);
        assert!(e.allowed);
        assert!(only_condition(&e)
            .note
            .as_deref()
            .unwrap_or("")
            .contains("several values"));
    }

    // --- IP addresses and Bool ---------------------------------------------------------

    fn ip_request(ip: &str) -> Request {
        request("x").with("aws:SourceIp", [ip])
    }

    #[test]
    fn ip_address_in_and_out() {
        let c = json!({"IpAddress": {"aws:SourceIp": ["34.199.54.113/32", "104.192.136.0/21"]}});
        assert!(allowed(c.clone(), &ip_request("34.199.54.113")));
        assert!(allowed(c.clone(), &ip_request("104.192.143.255")));
        let e = evaluate(&policy(c), &ip_request("104.192.144.0"));
        assert!(!e.allowed);
        assert!(
            e.reason.contains("source IP `104.192.144.0` is not in"),
            "{}",
            e.reason
        );
    }

    #[test]
    fn ip_address_single_ip_and_host_bits() {
        assert!(allowed(
            json!({"IpAddress": {"aws:SourceIp": "203.0.113.7"}}),
            &ip_request("203.0.113.7")
        ));
        assert!(!allowed(
            json!({"IpAddress": {"aws:SourceIp": "203.0.113.7"}}),
            &ip_request("203.0.113.8")
        ));
        assert!(allowed(
            json!({"IpAddress": {"aws:SourceIp": "203.0.113.7/24"}}),
            &ip_request("203.0.113.200")
        ));
    }

    #[test]
    fn ip_address_v6() {
        let c = json!({"IpAddress": {"aws:SourceIp": "2401:1d80:3000::/36"}});
        assert!(allowed(c.clone(), &ip_request("2401:1d80:3fff::1")));
        assert!(!allowed(c.clone(), &ip_request("2401:1d80:4000::1")));
        // v4 address against v6 block.
        assert!(!allowed(c, &ip_request("10.0.0.1")));
    }

    #[test]
    fn not_ip_address() {
        let c = json!({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}});
        assert!(allowed(c.clone(), &ip_request("192.0.2.1")));
        let e = evaluate(&policy(c), &ip_request("10.1.2.3"));
        assert!(!e.allowed);
        assert!(e.reason.contains("NotIpAddress excludes"), "{}", e.reason);
    }

    #[test]
    fn ip_address_garbage_does_not_match() {
        let c = json!({"IpAddress": {"aws:SourceIp": "not-a-cidr"}});
        let e = evaluate(&policy(c), &ip_request("10.0.0.1"));
        assert!(!e.allowed);
        assert!(only_condition(&e)
            .note
            .as_deref()
            .unwrap_or("")
            .contains("not a CIDR"));
        let c = json!({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}});
        let e = evaluate(&policy(c), &ip_request("localhost"));
        assert!(!e.allowed);
        assert!(e.reason.contains("not an IP address"), "{}", e.reason);
    }

    #[test]
    fn bool_operator() {
        let c = json!({"Bool": {"aws:SecureTransport": "true"}});
        let r = |v: &str| request("x").with("aws:SecureTransport", [v]);
        assert!(allowed(c.clone(), &r("true")));
        assert!(!allowed(c.clone(), &r("false")));
        assert!(allowed(
            json!({"Bool": {"aws:SecureTransport": true}}),
            &r("true")
        ));
        assert!(!allowed(c.clone(), &request("x")));
        assert!(allowed(
            json!({"BoolIfExists": {"aws:SecureTransport": "true"}}),
            &request("x")
        ));
        assert!(!allowed(c, &r("yes")));
    }

    // --- Principal, Action, Effect, structure -------------------------------------------

    #[test]
    fn explicit_deny_overrides_allow() {
        let p = json!({
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Federated": PROVIDER},
                 "Action": "sts:AssumeRoleWithWebIdentity",
                 "Condition": {"StringLike": {key("sub"): "{r}:*"}}},
                {"Sid": "NoEnvX", "Effect": "Deny", "Principal": "*", "Action": "sts:*",
                 "Condition": {"StringLike": {key("sub"): "{r}:{env-x}:*"}}}
            ]
        });
        let ok = evaluate(&p, &request("{r}:{env-y}:{s}"));
        assert!(ok.allowed, "{}", ok.reason);
        let e = evaluate(&p, &request("{r}:{env-x}:{s}"));
        assert!(!e.allowed);
        assert!(e.statements[0].applies && e.statements[1].applies);
        assert!(
            e.reason.contains("explicit Deny in statement `NoEnvX`"),
            "{}",
            e.reason
        );
    }

    #[test]
    fn no_allow_statement_is_implicit_deny() {
        let p = json!({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole"}]});
        let e = evaluate(&p, &request("x"));
        assert!(!e.allowed);
        assert!(e.reason.contains("no Allow statement"), "{}", e.reason);
        let e = evaluate(&json!({"Statement": []}), &request("x"));
        assert!(!e.allowed);
        assert!(e.reason.contains("no Allow statement"));
    }

    #[test]
    fn wrong_federated_principal() {
        let p = json!({"Statement": {"Effect": "Allow",
            "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},
            "Action": "sts:AssumeRoleWithWebIdentity"}});
        let e = evaluate(&p, &request("x"));
        assert!(!e.allowed);
        assert!(!e.statements[0].principal_matched);
        assert!(
            e.reason.contains("does not trust this token's provider"),
            "{}",
            e.reason
        );
        assert!(e.reason.contains(PROVIDER));
    }

    #[test]
    fn principal_forms() {
        let mk = |principal: Value| {
            json!({"Statement": {"Effect": "Allow", "Principal": principal,
                "Action": "sts:AssumeRoleWithWebIdentity"}})
        };
        let r = request("x");
        assert!(evaluate(&mk(json!("*")), &r).allowed);
        assert!(evaluate(&mk(json!({"AWS": "*"})), &r).allowed);
        assert!(evaluate(&mk(json!({"Federated": ["arn:other", PROVIDER]})), &r).allowed);
        assert!(!evaluate(&mk(json!({"Service": "ec2.amazonaws.com"})), &r).allowed);
        assert!(!evaluate(&mk(json!({"AWS": "arn:aws:iam::123456789012:root"})), &r).allowed);
        let upper = evaluate(&mk(json!({"Federated": PROVIDER.to_uppercase()})), &r);
        assert!(!upper.allowed);
        assert!(upper.reason.contains("letter case"), "{}", upper.reason);
        let np = json!({"Statement": {"Effect": "Allow", "NotPrincipal": {"AWS": "x"},
            "Action": "sts:AssumeRoleWithWebIdentity"}});
        let e = evaluate(&np, &r);
        assert!(!e.allowed);
        assert!(e.statements[0].notes[0].contains("NotPrincipal with Allow is not supported"));
    }

    #[test]
    fn wrong_action() {
        let p = json!({"Statement": [{"Effect": "Allow", "Principal": {"Federated": PROVIDER},
            "Action": "sts:AssumeRole"}]});
        let e = evaluate(&p, &request("x"));
        assert!(!e.allowed);
        assert!(!e.statements[0].action_matched);
        assert!(
            e.reason
                .contains("does not cover `sts:AssumeRoleWithWebIdentity`"),
            "{}",
            e.reason
        );
    }

    #[test]
    fn action_wildcards_and_case() {
        let mk = |action: Value| json!({"Statement": {"Effect": "Allow", "Principal": {"Federated": PROVIDER}, "Action": action}});
        let r = request("x");
        for a in [
            json!("sts:*"),
            json!("*"),
            json!("STS:assumerolewithwebidentity"),
            json!("sts:AssumeRoleWith*"),
            json!(["s3:GetObject", "sts:AssumeRoleWith?ebIdentity"]),
        ] {
            assert!(evaluate(&mk(a.clone()), &r).allowed, "{a}");
        }
        assert!(!evaluate(&mk(json!("sts:AssumeRole")), &r).allowed);
        assert!(!evaluate(&mk(json!("sts:TagSession")), &r).allowed);
        let not_action = json!({"Statement": {"Effect": "Allow", "Principal": {"Federated": PROVIDER},
            "NotAction": "s3:*"}});
        assert!(evaluate(&not_action, &r).allowed);
    }

    #[test]
    fn statement_object_vs_array_are_equivalent() {
        let stmt = json!({"Effect": "Allow", "Principal": {"Federated": PROVIDER},
            "Action": ["sts:AssumeRoleWithWebIdentity"],
            "Condition": {"StringEquals": {key("aud"): AUD}}});
        let as_object = json!({"Version": "2012-10-17", "Statement": stmt.clone()});
        let as_array = json!({"Version": "2012-10-17", "Statement": [stmt]});
        let r = request("x");
        let a = evaluate(&as_object, &r);
        let b = evaluate(&as_array, &r);
        assert!(a.allowed && b.allowed);
        assert_eq!(a, b);
    }

    #[test]
    fn policy_as_json_string() {
        let p = policy(json!({"StringEquals": {key("aud"): AUD}}));
        assert!(evaluate(&Value::String(p.to_string()), &request("x")).allowed);
    }

    #[test]
    fn invalid_effect_and_structure() {
        let p = json!({"Statement": {"Effect": "allow", "Principal": "*", "Action": "*"}});
        let e = evaluate(&p, &request("x"));
        assert!(!e.allowed);
        assert!(e.statements[0].notes[0].contains("neither Allow nor Deny"));
        for bad in [
            json!(null),
            json!([]),
            json!({}),
            json!({"Statement": 5}),
            json!({"Statement": ["x"]}),
        ] {
            assert!(!evaluate(&bad, &request("x")).allowed, "{bad}");
        }
        let bad_condition = policy(json!("StringEquals"));
        assert!(!evaluate(&bad_condition, &request("x")).allowed);
        let bad_block = policy(json!({"StringEquals": "x"}));
        assert!(!evaluate(&bad_block, &request("x")).allowed);
    }

    #[test]
    fn unsupported_operator_fails_with_note() {
        let c = json!({"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}});
        let e = evaluate(
            &policy(c),
            &request("x").with("aws:MultiFactorAuthAge", ["10"]),
        );
        assert!(!e.allowed);
        assert!(
            e.reason.contains("unsupported operator NumericLessThan"),
            "{}",
            e.reason
        );
        // Operator names are case-sensitive.
        let c = json!({"stringequals": {key("aud"): AUD}});
        assert!(!allowed(c, &request("x")));
        // Null takes no IfExists or set prefix.
        assert!(!allowed(
            json!({"NullIfExists": {key("x"): "true"}}),
            &request("x")
        ));
    }

    #[test]
    fn unsupported_operator_in_deny_is_flagged_when_allowed() {
        let p = json!({"Statement": [
            {"Effect": "Allow", "Principal": {"Federated": PROVIDER}, "Action": "sts:AssumeRoleWithWebIdentity"},
            {"Sid": "D", "Effect": "Deny", "Principal": "*", "Action": "*",
             "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}}
        ]});
        let e = evaluate(&p, &request("x"));
        assert!(e.allowed);
        assert!(
            e.reason.contains("unsupported operator DateGreaterThan"),
            "{}",
            e.reason
        );
    }

    #[test]
    fn closest_allow_is_reported() {
        let p = json!({"Statement": [
            {"Sid": "Other", "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"},
            {"Sid": "Bitbucket", "Effect": "Allow", "Principal": {"Federated": PROVIDER},
             "Action": "sts:AssumeRoleWithWebIdentity",
             "Condition": {"StringLike": {key("sub"): "{r}:*"}}}
        ]});
        let e = evaluate(&p, &request("{q}:{s}"));
        assert!(!e.allowed);
        assert!(
            e.reason.starts_with("condition StringLike on"),
            "{}",
            e.reason
        );
    }

    #[test]
    fn policy_variables_and_escapes() {
        // ${*} is a literal star in 2012-10-17 policies.
        let c = json!({"StringLike": {key("sub"): "{r}:${*}"}});
        assert!(allowed(c.clone(), &request("{r}:*")));
        assert!(!allowed(c, &request("{r}:{s}")));
        // A variable takes the request's value.
        let c = json!({"StringEquals": {key("sub"): "${aws:username}"}});
        assert!(allowed(
            c.clone(),
            &request("bob").with("aws:username", ["bob"])
        ));
        let e = evaluate(&policy(c), &request("bob"));
        assert!(!e.allowed);
        assert!(only_condition(&e)
            .note
            .as_deref()
            .unwrap_or("")
            .contains("policy variable"));
        // Default value.
        let c = json!({"StringEquals": {key("sub"): "${aws:username, 'nobody'}"}});
        assert!(allowed(c, &request("nobody")));
        // Version 2008-10-17: no variables, `$` is literal.
        let old = json!({"Version": "2008-10-17", "Statement": {"Effect": "Allow",
            "Principal": {"Federated": PROVIDER}, "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {key("sub"): "${x}"}}}});
        assert!(evaluate(&old, &request("${x}")).allowed);
        // Unterminated `${` is literal.
        let c = json!({"StringEquals": {key("sub"): "a${b"}});
        assert!(allowed(c, &request("a${b")));
    }

    #[test]
    fn from_claims_builds_iam_context() {
        let claims = json!({
            "aud": AUD, "sub": "{r}:{s}", "repositoryUuid": "{r}", "iss": "https://x"
        });
        let r = Request::from_claims(PROVIDER, claims.as_object().unwrap());
        assert_eq!(r.action, ASSUME_ROLE_WITH_WEB_IDENTITY);
        assert_eq!(r.context.get(&key("aud")), Some(&vec![AUD.to_string()]));
        assert_eq!(
            r.context.get(&key("sub")),
            Some(&vec!["{r}:{s}".to_string()])
        );
        // Custom claims cannot be used in IAM conditions.
        assert_eq!(r.context.len(), 2);
        assert_eq!(provider_key_prefix(PROVIDER), Some(P));
        assert_eq!(provider_key_prefix("arn:aws:iam::1:role/x"), None);
    }

    #[test]
    fn results_serialize_to_json() {
        let e = evaluate(
            &policy(json!({"StringEquals": {key("aud"): AUD}})),
            &request("x"),
        );
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["allowed"], json!(true));
        assert_eq!(
            v["statements"][0]["conditions"][0]["operator"],
            json!("StringEquals")
        );
    }

    #[test]
    fn glob_edge_cases() {
        let g = |p: &str, t: &str| glob(&wildcard_pieces(p), &t.chars().collect::<Vec<_>>());
        assert!(g("", ""));
        assert!(!g("", "a"));
        assert!(g("*", ""));
        assert!(g("**", "abc"));
        assert!(!g("?", ""));
        assert!(g("a*", "a"));
        assert!(!g("a*b", "a"));
        assert!(g("*b", "bbb"));
        assert!(g("é?", "éü"));
        // Pathological pattern stays fast.
        let long = "a".repeat(2000);
        assert!(!g(&format!("{}b", "*a".repeat(50)), &long));
    }

    #[test]
    fn garbage_policies_never_panic() {
        let r = request("{r}:{s}").with("aws:SourceIp", ["::1", "x"]);
        let docs = [
            json!({"Statement": [{"Effect": "Allow", "Principal": {"Federated": [1, null, {}]},
                "Action": [null, 3], "Condition": {"StringLike": {"": [[], {}, null]}}}]}),
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "NotPrincipal": 5,
                "NotAction": {}, "Condition": {"ForAllValues:": {"k": "v"}, "IfExists": {"k": "v"},
                "ForAnyValue:IpAddressIfExists": {"aws:sourceip": ["::/0", "0.0.0.0/0", "/", "1.2.3.4/99"]}}}]}),
            json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": "*", "Action": "*",
                "Condition": {"StringLike": {"k": ["${", "${}", "${,}", "${a,'", "$${*}}", "}${?}{"]}}}}),
            json!({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "*",
                "Condition": {"Null": {"k": ["maybe", 1]}, "Bool": {"k": {}}}}}),
        ];
        for d in docs {
            let e = evaluate(&d, &r);
            let _ = serde_json::to_string(&e).unwrap();
        }
    }
}
