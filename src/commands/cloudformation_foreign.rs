//! Policies on the stack's role that the template does not define: an inline policy put on
//! it by hand, a managed policy attached by hand. CloudFormation neither shows nor removes
//! them (drift detection ignores what the template leaves out), so `plan` and `status` read
//! the live role and name each one, with the administrator-equivalence verdict and the
//! command that removes it.

use std::fmt::Write;

use serde::Serialize;

use crate::aws::Aws;
use crate::error::Result;
use crate::model::admin::admin_statement;
use crate::model::DesiredRole;
use crate::observe;
use crate::report::{Reporter, RED};

/// One policy on the role that the template does not define.
#[derive(Debug, Clone, Serialize)]
pub(super) struct ForeignPolicy {
    /// `inline` or `managed`.
    pub kind: &'static str,
    /// The inline policy's name, or the managed policy's ARN.
    pub name: String,
    /// The statement that makes it administrator-equivalent, when one does.
    pub admin_equivalent: Option<String>,
    /// The AWS CLI command that removes it from the role.
    pub remove: String,
}

/// The policies on the live role beyond the template's inline policy and `--policy-arn`;
/// empty when the role does not exist (yet).
pub(super) async fn foreign_policies(aws: &Aws, role: &DesiredRole) -> Result<Vec<ForeignPolicy>> {
    let Some(o) = observe::role(aws, &role.name, &role.inline_policy_name).await? else {
        return Ok(Vec::new());
    };
    let inline = o
        .foreign_inline_policies
        .iter()
        .map(|(name, doc)| ForeignPolicy {
            kind: "inline",
            name: name.clone(),
            admin_equivalent: admin_statement(doc).map(|s| s.to_string()),
            remove: format!(
                "aws iam delete-role-policy --role-name {} --policy-name {name}",
                role.name
            ),
        });
    let managed = o
        .managed_documents
        .iter()
        .filter(|(arn, _)| !role.managed_policies.contains(arn))
        .map(|(arn, doc)| ForeignPolicy {
            kind: "managed",
            name: arn.clone(),
            admin_equivalent: admin_statement(doc).map(|s| s.to_string()),
            remove: format!(
                "aws iam detach-role-policy --role-name {} --policy-arn {arn}",
                role.name
            ),
        });
    Ok(inline.chain(managed).collect())
}

/// The text block naming each foreign policy and how to remove it; empty when none.
pub(super) fn text(reporter: &Reporter, role: &str, found: &[ForeignPolicy]) -> String {
    let mut t = String::new();
    if found.is_empty() {
        return t;
    }
    let _ = writeln!(
        t,
        "\nrole {role} has policies the stack's template does not define; CloudFormation does not remove them:"
    );
    for f in found {
        let verdict = f
            .admin_equivalent
            .as_deref()
            .map(|s| format!("  {}: {s}", reporter.paint(RED, "ADMIN-EQUIVALENT")))
            .unwrap_or_default();
        let _ = writeln!(
            t,
            "  {} policy {}  not defined by the stack{verdict}",
            f.kind, f.name
        );
        let _ = writeln!(t, "    remove it: {}", f.remove);
    }
    let _ = writeln!(
        t,
        "`init --mode cloudformation` leaves them; remove them by hand with the commands above"
    );
    t
}
