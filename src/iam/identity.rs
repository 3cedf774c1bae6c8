//! Offline evaluation of an identity-based (permissions) policy for one action on one
//! resource, as IAM evaluates a role's or user's own policies:
//!
//! * a statement applies when its `Action`/`NotAction`, `Resource`/`NotResource` and every
//!   condition match; an applying `Deny` wins, then an applying `Allow`; otherwise the
//!   request is implicitly denied;
//! * resource ARNs match segment by segment (`arn:partition:service:region:account:resource`):
//!   `*` and `?` do not cross the first five colons, and match anything in the resource part;
//! * conditions and policy variables follow the same rules as for trust policies.
//!
//! The tests use it to judge recorded AWS requests against the policies the tool writes.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use super::conditions::condition_block;
use super::context::Context;
use super::document::{as_strings, document, has_variables, statements};
use super::pattern::glob;
use super::request::Request;
use super::result::ConditionResult;
use super::statement::{action_matched, effect};
use super::variables::{resolve, Resolved};

/// One permission check: an action on a resource with its request context.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Access {
    /// For example `s3:PutObject`.
    pub action: String,
    /// The resource ARN, or `*` for actions that have no resource.
    pub resource: String,
    /// Condition context: key (any case) -> values.
    pub context: BTreeMap<String, Vec<String>>,
}

impl Access {
    pub fn new(action: impl Into<String>, resource: impl Into<String>) -> Self {
        Access {
            action: action.into(),
            resource: resource.into(),
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
}

/// The outcome of evaluating a permissions policy for one [`Access`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessEvaluation {
    pub allowed: bool,
    /// Positions (from 0) of the Allow statements that apply.
    pub allowed_by: Vec<usize>,
    /// Positions of the Deny statements that apply.
    pub denied_by: Vec<usize>,
    /// One sentence: which statement allows or denies it, or what the closest one lacks.
    pub reason: String,
}

/// How far one statement got.
struct Outcome {
    index: usize,
    label: String,
    effect: String,
    action: bool,
    resource: bool,
    conditions: Vec<ConditionResult>,
}

impl Outcome {
    fn applies(&self) -> bool {
        (self.effect == "Allow" || self.effect == "Deny")
            && self.action
            && self.resource
            && self.conditions.iter().all(|c| c.passed)
    }

    fn closeness(&self) -> (bool, bool, usize) {
        (
            self.action,
            self.resource,
            self.conditions.iter().filter(|c| c.passed).count(),
        )
    }
}

/// Whether the ARN pattern `pattern` (wildcards, policy variables) matches `resource`.
fn resource_matches(pattern: &str, resource: &str, ctx: &Context, variables: bool) -> bool {
    if pattern == "*" {
        return true;
    }
    let pattern_parts: Vec<&str> = pattern.splitn(6, ':').collect();
    let resource_parts: Vec<&str> = resource.splitn(6, ':').collect();
    let pairs: Vec<(&str, &str)> = if pattern_parts.len() == 6 && resource_parts.len() == 6 {
        pattern_parts.into_iter().zip(resource_parts).collect()
    } else {
        vec![(pattern, resource)]
    };
    pairs.iter().all(|(p, r)| match resolve(p, ctx, variables) {
        Resolved::Pieces(pieces) => glob(&pieces, &r.chars().collect::<Vec<_>>()),
        Resolved::Unresolved(_) => false,
    })
}

fn resource_matched(
    stmt: &Map<String, Value>,
    resource: &str,
    ctx: &Context,
    variables: bool,
) -> bool {
    let any = |v: &Value| {
        as_strings(v)
            .iter()
            .any(|p| resource_matches(p, resource, ctx, variables))
    };
    match (stmt.get("Resource"), stmt.get("NotResource")) {
        (Some(r), None) => any(r),
        (None, Some(nr)) => !any(nr),
        _ => false,
    }
}

fn outcome(
    index: usize,
    stmt: &Value,
    request: &Request,
    access: &Access,
    ctx: &Context,
    variables: bool,
) -> Outcome {
    let empty = Map::new();
    let map = stmt.as_object().unwrap_or(&empty);
    let sid = map.get("Sid").and_then(Value::as_str).unwrap_or("");
    let mut notes = Vec::new();
    Outcome {
        index,
        label: if sid.is_empty() {
            format!("#{}", index + 1)
        } else {
            format!("`{sid}`")
        },
        effect: effect(map),
        // Identity policies have no Principal; IAM rejects one that has.
        action: !map.contains_key("Principal")
            && !map.contains_key("NotPrincipal")
            && action_matched(map, request, &mut notes),
        resource: resource_matched(map, &access.resource, ctx, variables),
        conditions: condition_block(map, ctx, variables),
    }
}

fn why_not(o: &Outcome, access: &Access) -> String {
    if !o.action {
        return format!("no statement allows `{}` (on any resource)", access.action);
    }
    if !o.resource {
        return format!(
            "statement {} allows `{}` but not on `{}`",
            o.label, access.action, access.resource
        );
    }
    match o.conditions.iter().find(|c| !c.passed) {
        Some(c) => format!(
            "statement {} allows `{}` on `{}` only when {} {} is {:?} (the request has {:?}){}",
            o.label,
            access.action,
            access.resource,
            c.operator,
            c.key,
            c.expected,
            c.actual,
            c.note
                .as_deref()
                .map(|n| format!(": {n}"))
                .unwrap_or_default()
        ),
        None => format!("statement {} does not apply", o.label),
    }
}

/// Evaluates the permissions policy `policy` (a document, or a JSON string holding one) for
/// `access`.
pub fn evaluate_access(policy: &Value, access: &Access) -> AccessEvaluation {
    let policy = document(policy);
    let policy = policy.as_ref();
    let variables = has_variables(policy);
    let request = Request {
        action: access.action.clone(),
        context: access.context.clone(),
        ..Request::default()
    };
    let ctx = Context::new(&request);
    let statements = statements(policy).unwrap_or_default();
    let outcomes: Vec<Outcome> = statements
        .iter()
        .enumerate()
        .map(|(i, s)| outcome(i, s, &request, access, &ctx, variables))
        .collect();
    let of = |effect: &str| -> Vec<usize> {
        outcomes
            .iter()
            .filter(|o| o.effect == effect && o.applies())
            .map(|o| o.index)
            .collect()
    };
    let (allowed_by, denied_by) = (of("Allow"), of("Deny"));
    let label = |i: usize| outcomes[i].label.clone();
    let (allowed, reason) = if let Some(&d) = denied_by.first() {
        (false, format!("explicit Deny in statement {}", label(d)))
    } else if let Some(&a) = allowed_by.first() {
        (true, format!("allowed by statement {}", label(a)))
    } else {
        let closest = outcomes
            .iter()
            .filter(|o| o.effect == "Allow")
            .max_by_key(|o| o.closeness());
        let reason = match closest {
            Some(o) => why_not(o, access),
            None => "the policy has no Allow statement".to_string(),
        };
        (false, reason)
    };
    AccessEvaluation {
        allowed,
        allowed_by,
        denied_by,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy() -> Value {
        json!({
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "List", "Effect": "Allow", "Action": "s3:ListBucket",
                 "Resource": "arn:aws:s3:::state",
                 "Condition": {"StringLike": {"s3:prefix": ["team/*"]}}},
                {"Sid": "Objects", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
                 "Resource": "arn:aws:s3:::state/team/*"},
                {"Sid": "Roles", "Effect": "Allow", "Action": "iam:CreateRole",
                 "Resource": "arn:aws:iam::*:role/deploy",
                 "Condition": {"StringEquals": {"iam:PermissionsBoundary": "arn:aws:iam::1:policy/b"}}},
                {"Sid": "NoSecrets", "Effect": "Deny", "Action": "s3:*",
                 "Resource": "arn:aws:s3:::state/team/secret*"}
            ]
        })
    }

    #[test]
    fn actions_resources_and_conditions_decide() {
        let p = policy();
        let ok = evaluate_access(
            &p,
            &Access::new("s3:PutObject", "arn:aws:s3:::state/team/x.tfstate"),
        );
        assert!(ok.allowed, "{}", ok.reason);
        assert_eq!(ok.allowed_by, [1]);

        let outside = evaluate_access(
            &p,
            &Access::new("s3:PutObject", "arn:aws:s3:::state/other/x"),
        );
        assert!(!outside.allowed);
        assert!(
            outside
                .reason
                .contains("`Objects` allows `s3:PutObject` but not on"),
            "{}",
            outside.reason
        );

        let denied = evaluate_access(
            &p,
            &Access::new("s3:GetObject", "arn:aws:s3:::state/team/secret.txt"),
        );
        assert!(!denied.allowed);
        assert_eq!(denied.reason, "explicit Deny in statement `NoSecrets`");

        let list = Access::new("s3:ListBucket", "arn:aws:s3:::state");
        assert!(
            !evaluate_access(&p, &list).allowed,
            "no prefix in the request"
        );
        assert!(evaluate_access(&p, &list.clone().with("s3:prefix", ["team/a"])).allowed);
        let unknown = evaluate_access(
            &p,
            &Access::new("s3:DeleteObject", "arn:aws:s3:::state/team/x"),
        );
        assert!(
            unknown
                .reason
                .contains("no statement allows `s3:DeleteObject`"),
            "{}",
            unknown.reason
        );
    }

    #[test]
    fn wildcards_do_not_cross_arn_segments() {
        let p = policy();
        let role = Access::new("iam:CreateRole", "arn:aws:iam::123456789012:role/deploy")
            .with("iam:PermissionsBoundary", ["arn:aws:iam::1:policy/b"]);
        assert!(evaluate_access(&p, &role).allowed);
        let no_boundary = Access::new("iam:CreateRole", "arn:aws:iam::123456789012:role/deploy");
        let e = evaluate_access(&p, &no_boundary);
        assert!(!e.allowed);
        assert!(e.reason.contains("iam:PermissionsBoundary"), "{}", e.reason);
        // `*` in the account segment cannot swallow the colon before the resource.
        assert!(!resource_matches(
            "arn:aws:iam::*:role/deploy",
            "arn:aws:iam::1:2:role/deploy",
            &Context::new(&Request::default()),
            true
        ));
        assert!(resource_matches(
            "arn:aws:s3:::b/*",
            "arn:aws:s3:::b/a:b/c",
            &Context::new(&Request::default()),
            true
        ));
    }

    #[test]
    fn arn_operators_compare_arns() {
        let p = json!({"Version": "2012-10-17", "Statement": {
            "Effect": "Allow", "Action": "iam:AttachRolePolicy", "Resource": "arn:aws:iam::1:role/r",
            "Condition": {"ArnEquals": {"iam:PolicyARN": ["arn:aws:iam::1:policy/app"]}}}});
        let attach = |policy: &str| {
            Access::new("iam:AttachRolePolicy", "arn:aws:iam::1:role/r")
                .with("iam:PolicyARN", [policy])
        };
        assert!(evaluate_access(&p, &attach("arn:aws:iam::1:policy/app")).allowed);
        let admin = evaluate_access(&p, &attach("arn:aws:iam::aws:policy/AdministratorAccess"));
        assert!(!admin.allowed);
        assert!(
            admin.reason.contains("ArnEquals iam:PolicyARN"),
            "{}",
            admin.reason
        );
    }

    #[test]
    fn a_principal_makes_a_statement_inapplicable() {
        let p = json!({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}});
        assert!(!evaluate_access(&p, &Access::new("s3:GetObject", "arn:aws:s3:::b/k")).allowed);
    }
}
