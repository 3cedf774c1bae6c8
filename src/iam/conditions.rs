//! A statement's `Condition` block, one `operator: { key: values }` test at a time: what a
//! missing or multi-valued key means for each operator, `Null`, `IfExists` and the set
//! prefixes.

use serde_json::{Map, Value};

use super::context::Context;
use super::operator::{parse_bool, parse_operator, Base, Op, SetOp};
use super::result::ConditionResult;
use super::values::Matcher;
use super::words::quoted_list;

/// Every test of a statement's `Condition` block, in order (none without one).
pub(super) fn condition_block(
    stmt: &Map<String, Value>,
    ctx: &Context,
    variables: bool,
) -> Vec<ConditionResult> {
    let mut out = Vec::new();
    match stmt.get("Condition") {
        None | Some(Value::Null) => {}
        Some(Value::Object(block)) => {
            for (operator, keys) in block {
                let Some(keys) = keys.as_object() else {
                    out.push(malformed(
                        operator,
                        format!("the value of {operator} is not an object of key: values"),
                    ));
                    continue;
                };
                for (key, values) in keys {
                    out.push(evaluate_condition(operator, key, values, ctx, variables));
                }
            }
        }
        Some(_) => out.push(malformed("", "Condition is not a JSON object".to_string())),
    }
    out
}

/// A test that fails because the block is not written as IAM reads it.
fn malformed(operator: &str, note: String) -> ConditionResult {
    ConditionResult {
        operator: operator.to_string(),
        key: String::new(),
        expected: Vec::new(),
        actual: Vec::new(),
        passed: false,
        note: Some(note),
    }
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
        v => {
            if let Some(s) = scalar(v) {
                vec![s]
            } else {
                notes.push("the policy value is not a string, number or boolean".to_string());
                Vec::new()
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
        return absent(op, key, ctx);
    }
    match op.set {
        SetOp::Single if ctx.read_whole(key) => {
            let passed = op.base.negated();
            let why = format!(
                "the claim is a JSON list, read here as a whole: it equals no single value, so {}",
                if passed {
                    "this negated operator passes"
                } else {
                    "a plain operator fails (use ForAnyValue:/ForAllValues: for a list)"
                }
            );
            (passed, Some(why))
        }
        SetOp::Single => single(op, actual, matcher),
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

/// A key missing from the request: false, except for `...IfExists`, `ForAllValues:` and
/// the negated operators.
fn absent(op: Op, key: &str, ctx: &Context) -> (bool, Option<String>) {
    if op.if_exists {
        return (
            true,
            Some("the key is absent from the request, so ...IfExists passes".to_string()),
        );
    }
    match op.set {
        SetOp::ForAllValues => (
            true,
            Some(
                "the key is absent from the request, and ForAllValues is true for an absent key"
                    .to_string(),
            ),
        ),
        SetOp::ForAnyValue => (
            false,
            Some(
                "the request has no value for this key, and ForAnyValue needs at least one"
                    .to_string(),
            ),
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
    }
}

/// A plain operator on a present key: any value matching (negated: none matching).
fn single(op: Op, actual: &[String], matcher: &Matcher<'_>) -> (bool, Option<String>) {
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
