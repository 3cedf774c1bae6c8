//! A request judged against every policy that applies to it in one account: the caller's
//! identity policies (inline and managed) and the resource's own policy (a bucket policy).
//! Within one account an explicit Deny in any of them wins; otherwise an Allow in any of
//! them allows (IAM User Guide, "Policy evaluation logic": requests within a single account).
//!
//! A resource-policy statement applies to the caller when its `Principal` is `"*"` (or
//! `{"AWS": "*"}`) or names the caller's ARN, given as `aws:PrincipalArn` in the request
//! context. A statement with `NotPrincipal` is left out, which can only make the result
//! more permissive: a denial found here holds.

use serde_json::{json, Value};

use super::document::{as_strings, statements_of};
use super::identity::{evaluate_access, Access, AccessEvaluation};

/// Whether a resource-policy statement's `Principal` covers the caller.
fn principal_covers(principal: &Value, caller: Option<&str>) -> bool {
    let names: Vec<&str> = match principal {
        Value::String(_) => as_strings(principal),
        Value::Object(m) => m.get("AWS").map(as_strings).unwrap_or_default(),
        _ => Vec::new(),
    };
    names.iter().any(|n| *n == "*" || Some(*n) == caller)
}

/// Evaluate `access` against the identity policies `identity` and the resource policy
/// `resource_policy` together.
pub fn evaluate_all(
    identity: &[&Value],
    resource_policy: Option<&Value>,
    access: &Access,
) -> AccessEvaluation {
    let caller = access
        .context
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("aws:PrincipalArn"))
        .and_then(|(_, v)| v.first())
        .map(String::as_str);
    let mut statements: Vec<Value> = identity.iter().flat_map(|d| statements_of(d)).collect();
    for mut st in resource_policy.map(statements_of).unwrap_or_default() {
        let covers = st
            .get("Principal")
            .is_some_and(|p| principal_covers(p, caller));
        if let (true, Some(map)) = (covers, st.as_object_mut()) {
            map.remove("Principal");
            statements.push(st);
        }
    }
    let doc = json!({ "Version": "2012-10-17", "Statement": statements });
    evaluate_access(&doc, access)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resource_policy_deny_wins_over_an_identity_allow() {
        let identity = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]});
        let bucket = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject*",
             "NotResource": "arn:aws:s3:::b/${aws:PrincipalTag/p}/*",
             "Condition": {"Null": {"aws:PrincipalTag/p": "false"}}},
            {"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::1:role/x"}, "Action": "s3:*", "Resource": "*"}]});
        let read = |key: &str| Access::new("s3:GetObject", format!("arn:aws:s3:::b/{key}"));
        let tagged = |key: &str| read(key).with("aws:PrincipalTag/p", ["team"]);
        let all = |a: &Access| evaluate_all(&[&identity], Some(&bucket), a).allowed;
        assert!(all(&tagged("team/terraform.tfstate")));
        assert!(!all(&tagged("other/terraform.tfstate")));
        assert!(!all(&tagged("terraform.tfstate")));
        // Without the tag the statement does not apply.
        assert!(all(&read("other/terraform.tfstate")));
        // A statement naming another principal does not apply; one naming the caller does.
        let as_role = |r: &str| read("x").with("aws:PrincipalArn", [r]);
        assert!(all(&as_role("arn:aws:iam::1:role/y")));
        assert!(!all(&as_role("arn:aws:iam::1:role/x")));
        // No identity Allow, no access: a Deny-only resource policy grants nothing.
        assert!(!evaluate_all(&[], Some(&bucket), &read("x")).allowed);
    }
}
