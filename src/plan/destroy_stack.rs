//! The destroy plan in CloudFormation mode: from the stack as read
//! ([`crate::observe::destroy_stack`]), what goes with it and what its DeletionPolicy keeps
//! in the account; a stack another operation is busy with is refused. After the deletion,
//! what was read back is compared with the plan. No AWS calls.

use serde::Serialize;
use serde_json::Value;

use super::compare;
use crate::error::{Error, Result};
use crate::observe::stack::{ObservedResource, ObservedStack};

/// One resource of the stack, and whether deleting the stack deletes it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StackResource {
    pub logical_id: String,
    pub resource_type: String,
    pub physical_id: String,
    /// Kept in the account when the stack is deleted (`DeletionPolicy: Retain`).
    pub retained: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<String>,
}

/// The stack as it is before `destroy` touches it.
#[derive(Debug, Clone, Serialize)]
pub struct DeletePlan {
    pub stack: String,
    pub stack_id: String,
    pub status: String,
    pub termination_protection: bool,
    pub resources: Vec<StackResource>,
    /// The host/path of the OIDC provider deleting the stack deletes with it (the deployed
    /// template's provider without a Retain policy); None when it keeps it or has none.
    #[serde(skip)]
    pub provider_host_path: Option<String>,
}

impl DeletePlan {
    pub fn retained(&self) -> impl Iterator<Item = &StackResource> {
        self.resources.iter().filter(|r| r.retained)
    }
    pub fn deleted(&self) -> impl Iterator<Item = &StackResource> {
        self.resources.iter().filter(|r| !r.retained)
    }
    /// The names of the roles the stack holds.
    pub fn role_names(&self) -> Vec<String> {
        self.resources
            .iter()
            .filter(|r| r.resource_type == "AWS::IAM::Role")
            .map(|r| r.physical_id.clone())
            .collect()
    }
}

/// The host/path of the template's OIDC provider, when deleting the stack deletes it.
fn deleted_provider(template: &Value) -> Option<String> {
    let resources = template.get("Resources")?.as_object()?;
    let provider = resources.values().find(|r| {
        r["Type"] == "AWS::IAM::OIDCProvider" && !r["DeletionPolicy"].as_str().is_some_and(keeps)
    })?;
    let url = provider.pointer("/Properties/Url")?.as_str()?;
    Some(url.trim_start_matches("https://").to_string())
}

/// Refuse to delete the stack while roles outside it (`trusting`: another set's, direct-mode
/// or hand-made ones) trust the provider it would delete: they would stop working. As in
/// direct mode, the provider stays while any role of any set trusts it; a stack cannot keep
/// it, so the stack is left as it is. Nothing overrides this.
pub fn check_provider_trust(plan: &DeletePlan, arn: &str, trusting: &[String]) -> Result<()> {
    if plan.provider_host_path.is_none() || trusting.is_empty() {
        return Ok(());
    }
    let name = &plan.stack;
    Err(Error::usage(format!(
        "stack {name} is not deleted: its OIDC provider {arn} is still trusted by role(s) {} outside the stack (another set's, direct-mode or made by hand), which would stop working; it is left as it is",
        trusting.join(", ")
    ))
    .resource(name.clone())
    .hint("remove those roles first (bootstrap destroy in their own configuration), then run destroy again; --force does not override this"))
}

/// DeletionPolicy values that leave the resource in the account when the stack goes.
fn keeps(policy: &str) -> bool {
    matches!(policy, "Retain" | "RetainExceptOnCreate")
}

/// `logical id -> DeletionPolicy` from the deployed template.
fn deletion_policy(template: Option<&Value>, logical_id: &str) -> Option<String> {
    template?
        .get("Resources")?
        .get(logical_id)?
        .get("DeletionPolicy")?
        .as_str()
        .map(str::to_string)
}

/// Refuse a stack another operation is busy with (checked before its resources are read).
pub fn check_idle(name: &str, stack: &ObservedStack) -> Result<()> {
    // REVIEW_IN_PROGRESS is a stack a change set started and never ran: nothing is busy.
    if stack.status.ends_with("_IN_PROGRESS") && stack.status != "REVIEW_IN_PROGRESS" {
        return Err(Error::failure(format!(
            "the stack is {}: another operation is running, so it is not deleted now",
            stack.status
        ))
        .resource(name.to_string())
        .code(stack.status.clone())
        .hint("wait for it to finish (bootstrap status --mode cloudformation), then run destroy again"));
    }
    Ok(())
}

/// The plan for deleting the stack `name`: each resource that exists, retained or not, as the
/// deployed template's DeletionPolicy says.
pub fn plan(name: &str, stack: ObservedStack, listed: Vec<ObservedResource>) -> DeletePlan {
    let template = stack.template_body.as_deref().and_then(compare::parse);
    let resources = listed
        .into_iter()
        // Nothing exists behind a resource that was never created or is already gone.
        .filter(|r| !r.physical_id.is_empty() && r.status.as_deref() != Some("DELETE_COMPLETE"))
        .map(|r| {
            let policy = deletion_policy(template.as_ref(), &r.logical_id);
            StackResource {
                retained: policy.as_deref().is_some_and(keeps),
                deletion_policy: policy,
                resource_type: r.resource_type,
                physical_id: r.physical_id,
                logical_id: r.logical_id,
            }
        })
        .collect();
    DeletePlan {
        stack: name.to_string(),
        stack_id: stack.stack_id,
        status: stack.status,
        termination_protection: stack.termination_protection,
        resources,
        provider_host_path: template.as_ref().and_then(deleted_provider),
    }
}

/// Compare the stack read back after the deletion with the plan: it must be gone.
pub fn check_gone(plan: &DeletePlan, after: Option<&ObservedStack>) -> Result<()> {
    if after.is_none() {
        return Ok(());
    }
    let name = &plan.stack;
    Err(Error::failure(format!(
        "stack {name} was deleted, but a stack of that name is still there"
    ))
    .resource(name.clone())
    .hint("another process may have created it again; see bootstrap status --mode cloudformation"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_provider_other_roles_trust_stops_the_stack_destroy() {
        let provider = |policy: Option<&str>| {
            let mut p = json!({"Type": "AWS::IAM::OIDCProvider",
                "Properties": {"Url": "https://issuer.example/oidc"}});
            if let Some(policy) = policy {
                p["DeletionPolicy"] = json!(policy);
            }
            json!({"Resources": {"OidcProvider": p, "DeployRole": {"Type": "AWS::IAM::Role"}}})
        };
        assert_eq!(
            deleted_provider(&provider(None)).as_deref(),
            Some("issuer.example/oidc")
        );
        assert_eq!(deleted_provider(&provider(Some("Retain"))), None);
        assert_eq!(deleted_provider(&json!({"Resources": {}})), None);
        let mut p = DeletePlan {
            stack: "s".into(),
            stack_id: "id".into(),
            status: "CREATE_COMPLETE".into(),
            termination_protection: false,
            resources: vec![StackResource {
                logical_id: "DeployRole".into(),
                resource_type: "AWS::IAM::Role".into(),
                physical_id: "r1".into(),
                retained: false,
                deletion_policy: None,
            }],
            provider_host_path: Some("issuer.example/oidc".into()),
        };
        assert_eq!(p.role_names(), ["r1"]);
        assert!(check_provider_trust(&p, "arn:p", &[]).is_ok());
        let e = check_provider_trust(&p, "arn:p", &["b-apply".into()]).unwrap_err();
        assert_eq!(e.exit_code(), 64);
        assert!(
            e.message
                .contains("arn:p is still trusted by role(s) b-apply"),
            "{}",
            e.message
        );
        p.provider_host_path = None;
        assert!(check_provider_trust(&p, "arn:p", &["b-apply".into()]).is_ok());
    }

    #[test]
    fn retain_policies_keep_the_resource() {
        let t = json!({"Resources": {
            "StateBucket": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"},
            "LockTable": {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "RetainExceptOnCreate"},
            "DeployRole": {"Type": "AWS::IAM::Role"},
            "Snap": {"Type": "AWS::RDS::DBInstance", "DeletionPolicy": "Snapshot"},
        }});
        let kept = |id: &str| deletion_policy(Some(&t), id).as_deref().is_some_and(keeps);
        assert!(kept("StateBucket"));
        assert!(kept("LockTable"));
        assert!(!kept("DeployRole"));
        assert!(!kept("Snap"));
        assert!(!kept("Missing"));
        assert_eq!(deletion_policy(None, "StateBucket"), None);
    }
}
