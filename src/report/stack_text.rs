//! A stack's plan and a change set as text for people (stderr before a prompt, stdout for
//! `plan`), and the policies on the stack's roles that the template does not define.

use std::fmt::{self, Write};

use serde::{Serialize, Serializer};

use super::{Paint, RED};
use crate::apply::cloudformation::changeset::ChangeSetSummary;
use crate::plan::stack::{StackAction, StackPlan};
use crate::plan::stack_foreign::{ForeignPolicy, PolicyKind};
use crate::plan::stack_notes::{Failed, StackNote};

/// `+`, `-`, `~` for a resource added, removed or modified.
pub(super) fn sign(action: &str) -> &'static str {
    match action.to_ascii_lowercase().as_str() {
        "add" => "+",
        "remove" => "-",
        "modify" => "~",
        "import" => "<",
        _ => "?",
    }
}

/// The plan for one stack.
pub fn plan_text(p: &StackPlan) -> String {
    let mut t = String::new();
    let state = match &p.status {
        None => "does not exist".to_string(),
        Some(s) => s.clone(),
    };
    let what = match p.action {
        StackAction::Create => "create it",
        StackAction::Recreate => "delete it and create it again",
        StackAction::ResumeRollback => "resume the rollback, then update",
        StackAction::Update => "update it through a change set",
        StackAction::None if p.enable_termination_protection => "turn on termination protection",
        StackAction::None => "in sync with the rendered template",
    };
    let _ = writeln!(t, "stack {} ({state}): {what}", p.stack);
    for n in &p.notes {
        let _ = writeln!(t, "  note: {n}");
    }
    for c in &p.changes {
        let _ = write!(
            t,
            "  {} {:<18} {:<24}",
            sign(&c.action),
            c.logical_id,
            c.resource_type
        );
        if !c.fields.is_empty() {
            let _ = write!(t, " {}", c.fields.join(", "));
        }
        t = t.trim_end().to_string();
        t.push('\n');
    }
    if p.enable_termination_protection {
        let _ = writeln!(t, "  ~ termination protection: off -> on");
    }
    t
}

/// A change set as CloudFormation computed it, with warnings for replacements.
pub fn change_set_text(cs: &ChangeSetSummary) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "change set {} (what CloudFormation will do):", cs.name);
    if cs.changes.is_empty() {
        let _ = writeln!(t, "  (no resource changes)");
    }
    for c in &cs.changes {
        let _ = write!(
            t,
            "  {} {:<7} {:<18} {:<24}",
            sign(&c.action),
            c.action,
            c.logical_id,
            c.resource_type
        );
        if let Some(r) = c.replacement.as_deref().filter(|r| *r != "False") {
            let _ = write!(t, " replacement: {r}");
        }
        if !c.fields.is_empty() {
            let _ = write!(t, " {}", c.fields.join(", "));
        }
        t = t.trim_end().to_string();
        t.push('\n');
    }
    for c in &cs.changes {
        let replaced = matches!(c.replacement.as_deref(), Some("True" | "Conditional"));
        if replaced {
            let what = match c.resource_type.as_str() {
                "AWS::S3::Bucket" | "AWS::DynamoDB::Table" => "the old one is kept (UpdateReplacePolicy: Retain) with its data, and a new, empty one takes its place",
                _ => "it is deleted and created again; pipelines may fail to assume the role for a moment",
            };
            let _ = writeln!(t, "  warning: {} will be replaced: {what}", c.logical_id);
        }
        if c.action.eq_ignore_ascii_case("remove") {
            let _ = writeln!(
                t,
                "  warning: {} leaves the stack{}",
                c.logical_id,
                if matches!(
                    c.resource_type.as_str(),
                    "AWS::S3::Bucket" | "AWS::DynamoDB::Table"
                ) {
                    " (kept: DeletionPolicy Retain)"
                } else {
                    " and is deleted"
                }
            );
        }
    }
    t
}

/// The block naming each policy on the stack's roles that the template does not define, role
/// by role, and how to remove it; empty when none.
pub fn foreign_text(paint: Paint, found: &[ForeignPolicy]) -> String {
    let mut t = String::new();
    if found.is_empty() {
        return t;
    }
    let mut roles: Vec<&str> = found.iter().map(|f| f.role.as_str()).collect();
    roles.dedup();
    for role in roles {
        let _ = writeln!(
            t,
            "\nrole {role} has policies the stack's template does not define; CloudFormation does not remove them:"
        );
        for f in found.iter().filter(|f| f.role == role) {
            let verdict = f
                .admin_equivalent
                .as_ref()
                .map(|s| format!("  {}: {s}", paint.paint(RED, "ADMIN-EQUIVALENT")))
                .unwrap_or_default();
            let _ = writeln!(
                t,
                "  {} policy {}  not defined by the stack{verdict}",
                kind_word(f.kind),
                f.name
            );
            let _ = writeln!(t, "    remove it: {}", removal(f));
        }
    }
    let _ = writeln!(
        t,
        "`init --mode cloudformation` leaves them; remove them by hand with the commands above"
    );
    t
}

fn kind_word(kind: PolicyKind) -> &'static str {
    match kind {
        PolicyKind::Inline => "inline",
        PolicyKind::Managed => "managed",
    }
}

/// The AWS CLI command that removes the policy from its role.
fn removal(f: &ForeignPolicy) -> String {
    let role = &f.role;
    match f.kind {
        PolicyKind::Inline => format!(
            "aws iam delete-role-policy --role-name {role} --policy-name {}",
            f.name
        ),
        PolicyKind::Managed => format!(
            "aws iam detach-role-policy --role-name {role} --policy-arn {}",
            f.name
        ),
    }
}

/// A foreign policy in the JSON: its role, kind and name, the administrator-equivalent
/// statement in words, and the command that removes it.
impl Serialize for ForeignPolicy {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = s.serialize_struct("ForeignPolicy", 5)?;
        out.serialize_field("role", &self.role)?;
        out.serialize_field("kind", kind_word(self.kind))?;
        out.serialize_field("name", &self.name)?;
        let admin = self.admin_equivalent.as_ref().map(ToString::to_string);
        out.serialize_field("admin_equivalent", &admin)?;
        out.serialize_field("remove", &removal(self))?;
        out.end()
    }
}

impl fmt::Display for StackNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StackNote::Unsettled(why) => f.write_str(why),
            StackNote::RolledBack => f.write_str("the stack's first create failed and was rolled back (ROLLBACK_COMPLETE); such a stack can only be deleted, so init deletes it and creates it again"),
            StackNote::NeverRan => f.write_str("the stack was started by a change set that never ran (REVIEW_IN_PROGRESS) and holds no resources; init deletes it and creates it"),
            StackNote::RollbackFailed => f.write_str("an update failed and so did its rollback (UPDATE_ROLLBACK_FAILED); init resumes the rollback with ContinueUpdateRollback (the stack is never deleted), then updates"),
            StackNote::FailedOn { what, reason } => {
                let what = match what {
                    Failed::Create => "it",
                    Failed::Update => "the update",
                    Failed::Rollback => "the rollback",
                };
                write!(f, "{what} failed on {reason}")
            }
            StackNote::DropsRoles(roles) => write!(
                f,
                "the update deletes the role{} {}, which these settings no longer have: init needs --prune to do it",
                if roles.len() == 1 { "" } else { "s" },
                roles.join(", ")
            ),
            StackNote::NotTargeted { account, region } => write!(
                f,
                "{account} in {region} is not among the targets: left as it is (remove it with aws cloudformation delete-stack-instances)"
            ),
            StackNote::Inoperable { account, region } => write!(
                f,
                "{account} in {region} is INOPERABLE (a delete failed there): see the StackSet in the console"
            ),
        }
    }
}

/// A note is its line of text in the JSON document too.
impl Serialize for StackNote {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::admin::AdminStatement;

    #[test]
    fn a_foreign_policy_names_the_command_that_removes_it() {
        let inline = ForeignPolicy {
            role: "deploy".into(),
            kind: PolicyKind::Inline,
            name: "hand-made".into(),
            admin_equivalent: Some(AdminStatement {
                statement: "statement 1".into(),
                allows: "every action".into(),
            }),
        };
        assert_eq!(
            serde_json::to_value(&inline).unwrap(),
            serde_json::json!({
                "role": "deploy",
                "kind": "inline",
                "name": "hand-made",
                "admin_equivalent": "statement 1 allows every action on Resource \"*\"",
                "remove": "aws iam delete-role-policy --role-name deploy --policy-name hand-made",
            })
        );
        let arn = "arn:aws:iam::123456789012:policy/hand-attached";
        let managed = ForeignPolicy {
            kind: PolicyKind::Managed,
            name: arn.into(),
            admin_equivalent: None,
            ..inline
        };
        let doc = serde_json::to_value(&managed).unwrap();
        assert_eq!(doc["kind"], "managed");
        assert_eq!(doc["admin_equivalent"], serde_json::Value::Null);
        assert_eq!(
            doc["remove"],
            format!("aws iam detach-role-policy --role-name deploy --policy-arn {arn}")
        );
        let text = foreign_text(Paint::NONE, &[managed]);
        assert!(
            text.contains(&format!("  managed policy {arn}  not defined by the stack\n    remove it: aws iam detach-role-policy")),
            "{text}"
        );
    }
}
