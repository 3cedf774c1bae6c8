//! Whether a permissions policy is administrator-equivalent: the one judgement used for
//! `--policy-arn` values, for the documents found on an adopted role and for the read-back
//! after `init`. A statement is admin-equivalent when it allows, on every resource, any of:
//!
//! * every action (`*`), or every action but some (`NotAction`) that leaves one of the
//!   actions below allowed;
//! * an action that lets the holder give itself more: `iam:Put*Policy`, `iam:Attach*Policy`,
//!   `iam:CreatePolicyVersion`, `iam:PassRole`, `iam:UpdateAssumeRolePolicy` (so `iam:*`,
//!   `iam:Put*` or `iam:*Policy*` too).
//!
//! "Every resource" is `Resource: "*"` or any `NotResource`. Conditions do not make such a
//! statement acceptable: they are usually easy to meet. Actions are matched by the policy
//! evaluator ([`crate::iam::statement_covers_action`]), with IAM's wildcards.

use std::fmt;

use serde_json::{json, Value};

use crate::iam::{as_strings, statement_covers_action, statements_of};

/// The actions with which a principal can raise its own permissions.
pub const ESCALATION_ACTIONS: &[&str] = &[
    "iam:PutRolePolicy",
    "iam:PutUserPolicy",
    "iam:PutGroupPolicy",
    "iam:AttachRolePolicy",
    "iam:AttachUserPolicy",
    "iam:AttachGroupPolicy",
    "iam:CreatePolicyVersion",
    "iam:PassRole",
    "iam:UpdateAssumeRolePolicy",
];

/// The first admin-equivalent statement of a document, for a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminStatement {
    /// `statement "Sid"` or `statement 2` (from 1).
    pub statement: String,
    /// `every action`, or the escalation actions it allows.
    pub allows: String,
}

impl fmt::Display for AdminStatement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} allows {} on Resource \"*\"",
            self.statement, self.allows
        )
    }
}

fn strings(v: Option<&Value>) -> Vec<&str> {
    v.map(as_strings).unwrap_or_default()
}

/// The first statement of `doc` that makes its holder an administrator, or None.
pub fn admin_statement(doc: &Value) -> Option<AdminStatement> {
    statements_of(doc)
        .iter()
        .enumerate()
        .find_map(|(n, st)| judge_statement(n, st))
}

fn judge_statement(n: usize, st: &Value) -> Option<AdminStatement> {
    let map = st.as_object()?;
    if map.get("Effect").and_then(Value::as_str) != Some("Allow") {
        return None;
    }
    let every_resource =
        map.contains_key("NotResource") || strings(map.get("Resource")).contains(&"*");
    if !every_resource {
        return None;
    }
    let every_action = strings(map.get("Action"))
        .iter()
        .any(|a| *a == "*" || *a == "*:*");
    let allows = if every_action {
        "every action".to_string()
    } else {
        let allowed: Vec<&str> = ESCALATION_ACTIONS
            .iter()
            .copied()
            .filter(|a| statement_covers_action(map, a))
            .collect();
        if allowed.is_empty() {
            return None;
        }
        match strings(map.get("NotAction")) {
            not if !not.is_empty() => {
                format!(
                    "every action except {} (including {})",
                    not.join(", "),
                    allowed[0]
                )
            }
            _ => allowed.join(", "),
        }
    };
    let statement = match map.get("Sid").and_then(Value::as_str) {
        Some(sid) if !sid.is_empty() => format!("statement {sid:?}"),
        _ => format!("statement {}", n + 1),
    };
    Some(AdminStatement { statement, allows })
}

/// The documents of AWS managed policies known to be admin-equivalent, for judging an ARN
/// where its document cannot be read (flag validation, templates). Other policies are read
/// from IAM and judged by [`admin_statement`].
fn known_managed_document(arn: &str) -> Option<Value> {
    let (_, name) = arn.rsplit_once(":aws:policy/")?;
    let action = crate::config::validate::admin_managed_policy_action(arn)?;
    Some(
        json!({"Statement": [{"Sid": name, "Effect": "Allow", "Action": action, "Resource": "*"}]}),
    )
}

/// Whether a managed policy ARN names an AWS managed policy known to be admin-equivalent.
pub fn is_admin_policy_arn(arn: &str) -> bool {
    known_managed_document(arn)
        .as_ref()
        .and_then(admin_statement)
        .is_some()
}

/// The rule for one `--policy-arn`, judged before anything is written on its document as
/// `observe` read it from IAM (`None`: no such policy): it must exist, and an
/// administrator-equivalent one ([`admin_statement`]) needs `--allow-admin` like
/// AdministratorAccess does (exit 64 otherwise). `Ok(Some(warning))` when `--allow-admin`
/// lets it through.
pub fn judge_policy_arn(
    arn: &str,
    doc: Option<&Value>,
    allow_admin: bool,
) -> crate::error::Result<Option<String>> {
    let Some(doc) = doc else {
        return Err(crate::error::Error::usage(format!(
            "--policy-arn {arn}: no such managed policy in this account"
        ))
        .hint("check the ARN (account id, path and name), or create the policy first"));
    };
    match admin_statement(doc) {
        None => Ok(None),
        Some(statement) if allow_admin => Ok(Some(format!(
            "--policy-arn {arn} grants full administrator access ({statement}); allowed by --allow-admin"
        ))),
        Some(statement) => Err(crate::error::Error::usage(format!(
            "--policy-arn {arn} grants full administrator access: {statement}"
        ))
        .hint("attach a narrower policy, or pass --allow-admin if every pipeline that can assume the role may really do anything")),
    }
}

/// The rule for `--permissions-boundary`: it must name a managed policy that exists, or IAM
/// refuses the role half-way through a run (exit 64 before anything is written).
pub fn require_boundary(arn: &str, exists: bool) -> crate::error::Result<()> {
    if exists {
        return Ok(());
    }
    Err(crate::error::Error::usage(format!(
        "--permissions-boundary {arn}: no such managed policy in this account"
    ))
    .hint("check the ARN (account id, path and name), or create the boundary policy first"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(statement: Value) -> Value {
        json!({"Version": "2012-10-17", "Statement": [statement]})
    }

    #[test]
    fn admin_equivalent_documents() {
        for st in [
            json!({"Effect": "Allow", "Action": "*", "Resource": "*"}),
            json!({"Effect": "Allow", "Action": ["s3:*", "*:*"], "Resource": ["*"]}),
            json!({"Effect": "Allow", "Action": "*", "NotResource": "arn:aws:s3:::b"}),
            json!({"Effect": "Allow", "NotAction": "s3:GetObject", "Resource": "*"}),
            json!({"Effect": "Allow", "NotAction": ["iam:PassRole"], "Resource": "*"}),
            json!({"Effect": "Allow", "Action": "iam:*", "Resource": "*"}),
            json!({"Effect": "Allow", "Action": "IAM:*", "Resource": "*"}),
            json!({"Effect": "Allow", "Action": "iam:Put*", "Resource": "*"}),
            json!({"Effect": "Allow", "Action": "iam:*Policy*", "Resource": "*"}),
            json!({"Effect": "Allow", "Action": "iam:PutRolePolicy", "Resource": "*"}),
            json!({"Effect": "Allow", "Action": "iam:Attach*Policy", "Resource": "*"}),
            json!({"Effect": "Allow", "Action": "iam:CreatePolicyVersion", "Resource": "*"}),
            json!({"Effect": "Allow", "Action": ["s3:GetObject", "iam:PassRole"], "Resource": "*"}),
            json!({"Effect": "Allow", "Action": "iam:Pass?ole", "Resource": "*"}),
            json!({"Effect": "Allow", "Action": "iam:UpdateAssumeRolePolicy", "Resource": "*"}),
            json!({"Effect": "Allow", "Action": "*", "Resource": "*",
                   "Condition": {"Bool": {"aws:SecureTransport": "true"}}}),
        ] {
            assert!(admin_statement(&doc(st.clone())).is_some(), "{st}");
        }
    }

    #[test]
    fn documents_that_are_not_admin_equivalent() {
        for st in [
            json!({"Effect": "Deny", "Action": "*", "Resource": "*"}),
            json!({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}),
            json!({"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b/*"}),
            json!({"Effect": "Allow", "Action": "iam:Get*", "Resource": "*"}),
            json!({"Effect": "Allow", "Action": "iam:PassRole",
                   "Resource": "arn:aws:iam::123456789012:role/app"}),
            json!({"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"}),
            json!({"Effect": "Allow", "NotAction": "*", "Resource": "*"}),
            json!({"Effect": "Allow", "Action": "iam:PutRolePolicy", "NotAction": "s3:*", "Resource": "*"}),
            json!("junk"),
        ] {
            assert!(admin_statement(&doc(st.clone())).is_none(), "{st}");
        }
        assert!(admin_statement(&json!(null)).is_none());
    }

    #[test]
    fn the_message_names_the_statement_and_what_it_allows() {
        let named =
            doc(json!({"Sid": "Everything", "Effect": "Allow", "Action": "*", "Resource": "*"}));
        assert_eq!(
            admin_statement(&named).unwrap().to_string(),
            "statement \"Everything\" allows every action on Resource \"*\""
        );
        let not_action = json!({"Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Allow", "NotAction": "s3:GetObject", "Resource": "*"},
        ]});
        let found = admin_statement(&not_action).unwrap();
        assert_eq!(found.statement, "statement 2");
        assert_eq!(
            found.allows,
            "every action except s3:GetObject (including iam:PutRolePolicy)"
        );
    }

    #[test]
    fn known_aws_managed_admin_policies_are_recognised_by_arn() {
        assert!(is_admin_policy_arn(
            "arn:aws:iam::aws:policy/AdministratorAccess"
        ));
        assert!(is_admin_policy_arn(
            "arn:aws-cn:iam::aws:policy/IAMFullAccess"
        ));
        assert!(!is_admin_policy_arn(
            "arn:aws:iam::aws:policy/ReadOnlyAccess"
        ));
        assert!(!is_admin_policy_arn(
            "arn:aws:iam::aws:policy/PowerUserAccess"
        ));
        // A customer policy is judged by its document, read from IAM.
        assert!(!is_admin_policy_arn(
            "arn:aws:iam::123456789012:policy/AdministratorAccess"
        ));
    }

    #[test]
    fn a_policy_arn_must_exist_and_be_narrower_than_admin_without_allow_admin() {
        let arn = "arn:aws:iam::123456789012:policy/p";
        let missing = judge_policy_arn(arn, None, true).unwrap_err();
        assert_eq!(missing.exit_code(), 64);
        assert!(
            missing.message.contains("no such managed policy"),
            "{missing}"
        );
        let admin = doc(json!({"Effect": "Allow", "Action": "*", "Resource": "*"}));
        let refused = judge_policy_arn(arn, Some(&admin), false).unwrap_err();
        assert_eq!(refused.exit_code(), 64);
        assert!(refused.hint.unwrap_or_default().contains("--allow-admin"));
        let warned = judge_policy_arn(arn, Some(&admin), true).unwrap();
        assert!(warned.is_some_and(|w| w.contains("allowed by --allow-admin")));
        let narrow = doc(json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}));
        assert_eq!(judge_policy_arn(arn, Some(&narrow), false).unwrap(), None);
        assert!(require_boundary(arn, true).is_ok());
        assert_eq!(require_boundary(arn, false).unwrap_err().exit_code(), 64);
    }
}
