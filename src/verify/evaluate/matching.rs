//! How a request matches a statement's `Principal` and `Action`, and how one request value
//! matches the policy values of a condition operator: wildcards, exact and case-insensitive
//! strings, CIDR blocks and booleans.

use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;
use serde_json::{Map, Value};

use super::conditions::Base;
use super::reason::any_of;
use super::variables::{literal, resolve, Resolved};
use super::{Context, Request};

// ---------------------------------------------------------------------------------------
// Wildcards

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Piece {
    Lit(char),
    /// `*`: any sequence, including empty.
    Star,
    /// `?`: exactly one character.
    One,
}

/// Glob match without recursion: O(pattern × text) worst case.
pub(super) fn glob(pattern: &[Piece], text: &[char]) -> bool {
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

pub(super) fn wildcard_pieces(s: &str) -> Vec<Piece> {
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

// ---------------------------------------------------------------------------------------
// Condition values

pub(super) fn parse_bool(s: &str) -> Option<bool> {
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
pub(super) struct Matcher<'a> {
    base: Base,
    expected: &'a [String],
    /// Resolved policy values (`None` = unresolved variable), parallel to `expected`.
    resolved: Vec<Option<Vec<Piece>>>,
    nets: Vec<Option<IpNet>>,
}

impl<'a> Matcher<'a> {
    pub(super) fn new(
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
    pub(super) fn positive_match(&self, actual: &str) -> Option<&'a String> {
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
    pub(super) fn satisfied_by(&self, actual: &str) -> bool {
        self.positive_match(actual).is_some() != self.base.negated()
    }

    /// Why `actual` does not satisfy the operator.
    pub(super) fn explain_failure(&self, actual: &str) -> String {
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

// ---------------------------------------------------------------------------------------
// Principal and Action

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
