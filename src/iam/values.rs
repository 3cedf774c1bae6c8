//! How one request value matches the policy values of a (non-`Null`) condition operator:
//! wildcards, exact and case-insensitive strings, CIDR blocks and booleans.

use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

use super::context::Context;
use super::operator::{parse_bool, Base};
use super::pattern::{glob, Piece};
use super::variables::{literal, resolve, Resolved};
use super::words::any_of;

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
                .map_or_else(|| "a policy value".to_string(), |p| format!("`{p}`"));
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
