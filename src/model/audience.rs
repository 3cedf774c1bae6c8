//! The trust policy's conditions on `aud`.
//!
//! A step with plain `oidc: true` gets a token whose `aud` is one string, the workspace's
//! default audience `ari:cloud:bitbucket::workspace/UUID`. A step that asks for custom
//! audiences (`oidc: audiences: [...]`) gets `aud` as a JSON list, even with one value
//! (Atlassian BCLOUD-24028). How STS matches a list `aud` against a plain `StringEquals` is
//! not documented: element by element (any value matching), or the list as a whole (which
//! equals no single value). The set operators are documented element by element, so with
//! custom audiences the policy uses only them:
//!
//! * `ForAnyValue:StringEquals`: at least one value, and it is a trusted audience; false
//!   when `aud` is absent (so the claim is required, as plain `StringEquals` requires it);
//! * `ForAllValues:StringEquals`: every value is a trusted audience, so a token minted for
//!   a trusted audience and another one is refused. Alone it would pass a token without
//!   `aud`; beside `ForAnyValue:` it cannot.
//!
//! A one-string `aud` is a set of one value for both, so the same policy also accepts the
//! tokens of plain `oidc: true` steps when the default audience is among the trusted ones.
//! Without custom audiences the policy keeps plain `StringEquals` (design: never a set
//! operator alone on a single-valued key).

use serde_json::Value;

use crate::iam::condition_values;

/// The default audience's prefix; every other audience is a custom one.
const DEFAULT_AUDIENCE_PREFIX: &str = "ari:cloud:bitbucket::workspace/";

pub const ANY_VALUE: &str = "ForAnyValue:StringEquals";
pub const ALL_VALUES: &str = "ForAllValues:StringEquals";
pub const PLAIN: &str = "StringEquals";

/// Whether tokens for these audiences may carry `aud` as a list: some audience is not a
/// workspace's default one, so steps ask for it with `oidc: audiences:`.
pub fn custom(audiences: &[String]) -> bool {
    audiences
        .iter()
        .any(|a| !a.starts_with(DEFAULT_AUDIENCE_PREFIX))
}

/// The operators that test `aud`, in the order they appear in the policy. The first one is
/// the guard that fails when `aud` is absent.
pub fn operators(audiences: &[String]) -> &'static [&'static str] {
    if custom(audiences) {
        &[ANY_VALUE, ALL_VALUES]
    } else {
        &[PLAIN]
    }
}

/// What is wrong with statement `n`'s tests of `aud_key`: there must be a guard that fails
/// without the claim (`StringEquals`, or `ForAnyValue:StringEquals`) naming audiences; a
/// `ForAllValues:` test is sound only beside such a guard; other set operators on `aud`
/// (negated, wildcard) are refused.
pub fn problems(condition: &Value, aud_key: &str, n: usize) -> Vec<String> {
    let named = |op: &str| {
        condition_values(condition, op, aud_key)
            .filter(|v| !v.is_empty() && v.iter().all(|a| !a.is_empty()))
    };
    let guarded = named(PLAIN).is_some() || named(ANY_VALUE).is_some();
    let mut out = Vec::new();
    if !guarded {
        out.push(format!(
            "statement {n} has no StringEquals condition on {aud_key}: tokens minted for any audience would be accepted"
        ));
    }
    let Some(ops) = condition.as_object() else {
        return out;
    };
    for (op, keys) in ops {
        let on_aud = keys
            .as_object()
            .is_some_and(|m| m.keys().any(|k| k.eq_ignore_ascii_case(aud_key)));
        let set_op = op.starts_with("ForAllValues:") || op.starts_with("ForAnyValue:");
        if !(on_aud && set_op) {
            continue;
        }
        if op != ANY_VALUE && op != ALL_VALUES {
            out.push(format!(
                "statement {n} tests {aud_key} with {op}; only {ANY_VALUE} and {ALL_VALUES} are sound on aud"
            ));
        } else if op == ALL_VALUES && !guarded {
            out.push(format!(
                "statement {n} tests {aud_key} with {op}, which is true when the claim is absent; use plain StringEquals, or pair it with {ANY_VALUE}"
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const KEY: &str = "issuer.example/oidc:aud";

    #[test]
    fn custom_audiences_are_the_ones_that_are_not_a_workspace_default() {
        let default = "ari:cloud:bitbucket::workspace/6a3f1c2e-1111-4c9d-9a8b-0123456789ab";
        assert!(!custom(&[default.to_string()]));
        assert_eq!(operators(&[default.to_string()]), [PLAIN]);
        assert!(custom(&[
            default.to_string(),
            "sts.amazonaws.com".to_string()
        ]));
        assert_eq!(
            operators(&["sts.amazonaws.com".to_string()]),
            [ANY_VALUE, ALL_VALUES]
        );
    }

    #[test]
    fn a_set_operator_on_aud_needs_a_guard_and_the_right_base() {
        let ok = |c: Value| assert!(problems(&c, KEY, 1).is_empty(), "{c}");
        let bad = |c: Value, expect: &str| {
            let p = problems(&c, KEY, 1);
            assert!(p.iter().any(|x| x.contains(expect)), "{c}: {p:?}");
        };
        ok(json!({ PLAIN: { KEY: "a" } }));
        ok(json!({ ANY_VALUE: { KEY: ["a"] }, ALL_VALUES: { KEY: ["a"] } }));
        ok(json!({ PLAIN: { KEY: "a" }, ALL_VALUES: { KEY: ["a"] } }));
        bad(
            json!({ ALL_VALUES: { KEY: ["a"] } }),
            "true when the claim is absent",
        );
        bad(json!({}), "no StringEquals condition");
        bad(
            json!({ ANY_VALUE: { KEY: [] } }),
            "no StringEquals condition",
        );
        bad(
            json!({ PLAIN: { KEY: "a" }, "ForAnyValue:StringNotEquals": { KEY: "b" } }),
            "only ForAnyValue:StringEquals",
        );
        bad(
            json!({ ANY_VALUE: { KEY: "a" }, "ForAllValues:StringLike": { KEY: "*" } }),
            "only ForAnyValue:StringEquals",
        );
    }
}
