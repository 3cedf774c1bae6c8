//! Policies on the stack's role that the template does not define: an inline policy put on
//! it by hand, a managed policy attached by hand. CloudFormation neither shows nor removes
//! them (drift detection ignores what the template leaves out), so `plan` and `status` name
//! each one, with the administrator-equivalence verdict and the command that removes it.

use crate::model::admin::{admin_statement, AdminStatement};
use crate::model::{DesiredRole, DesiredState};
use crate::observe::ObservedRole;

/// One policy on the role that the template does not define. How it reads, with the AWS CLI
/// command that removes it, in the text and the JSON, is `report`'s (`report::stack_text`).
#[derive(Debug, Clone)]
pub struct ForeignPolicy {
    /// The role it is on.
    pub role: String,
    pub kind: PolicyKind,
    /// The inline policy's name, or the managed policy's ARN.
    pub name: String,
    /// The statement that makes it administrator-equivalent, when one does.
    pub admin_equivalent: Option<AdminStatement>,
}

/// An inline policy of the role's own, or a managed policy attached to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    Inline,
    Managed,
}

/// The policies on the live roles (`live`, in the order of the desired roles) that the
/// template does not define, role by role.
pub fn on_roles(d: &DesiredState, live: &[Option<ObservedRole>]) -> Vec<ForeignPolicy> {
    let found = d.roles.iter().zip(live);
    found
        .flat_map(|(role, live)| foreign_policies(role, live.as_ref()))
        .collect()
}

/// The policies on the live role (`None`: no role yet) beyond the template's inline policy
/// and `--policy-arn`.
pub fn foreign_policies(role: &DesiredRole, live: Option<&ObservedRole>) -> Vec<ForeignPolicy> {
    let Some(o) = live else {
        return Vec::new();
    };
    let inline = o
        .foreign_inline_policies
        .iter()
        .map(|(name, doc)| ForeignPolicy {
            role: role.name.clone(),
            kind: PolicyKind::Inline,
            name: name.clone(),
            admin_equivalent: admin_statement(doc),
        });
    let managed = o
        .managed_documents
        .iter()
        .filter(|(arn, _)| !role.managed_policies.contains(arn))
        .map(|(arn, doc)| ForeignPolicy {
            role: role.name.clone(),
            kind: PolicyKind::Managed,
            name: arn.clone(),
            admin_equivalent: admin_statement(doc),
        });
    inline.chain(managed).collect()
}
