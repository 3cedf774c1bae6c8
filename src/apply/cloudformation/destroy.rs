//! Deleting the stack (`destroy --mode cloudformation`): what goes with it and what its
//! DeletionPolicy keeps in the account, read before anything changes; then termination
//! protection off just before DeleteStack, and the deletion waited for (bounded) with the
//! stack's events streamed. Never deletes a retained resource.

use aws_sdk_cloudformation::Client;
use serde::Serialize;
use serde_json::Value;

use super::events::{self, EventLog, WaitConfig};
use super::stack::{failed, set_termination_protection};
use crate::aws::classify;
use crate::error::{Error, Result};
use crate::observe::stack::describe;
use crate::plan::compare;
use crate::report::Reporter;

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
}

impl DeletePlan {
    pub fn retained(&self) -> impl Iterator<Item = &StackResource> {
        self.resources.iter().filter(|r| r.retained)
    }
    pub fn deleted(&self) -> impl Iterator<Item = &StackResource> {
        self.resources.iter().filter(|r| !r.retained)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DeleteOutcome {
    pub status: String,
    /// What was done, in order.
    pub done: Vec<String>,
    pub events: Vec<events::Event>,
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

/// Read the stack, its resources and the deployed template's DeletionPolicies. `None` when
/// there is no stack. Refuses a stack another operation is busy with. Makes no change.
pub async fn plan(cfn: &Client, name: &str) -> Result<Option<DeletePlan>> {
    let Some(d) = describe(cfn, name).await? else {
        return Ok(None);
    };
    // REVIEW_IN_PROGRESS is a stack a change set started and never ran: nothing is busy.
    if d.status.ends_with("_IN_PROGRESS") && d.status != "REVIEW_IN_PROGRESS" {
        return Err(Error::failure(format!(
            "the stack is {}: another operation is running, so it is not deleted now",
            d.status
        ))
        .resource(name.to_string())
        .code(d.status.clone())
        .hint("wait for it to finish (bootstrap status --mode cloudformation), then run destroy again"));
    }
    let template = d.template_body.as_deref().and_then(compare::parse);
    let out = cfn
        .describe_stack_resources()
        .stack_name(&d.stack_id)
        .send()
        .await
        .map_err(|e| classify(&e, "reading the stack's resources", name))?;
    let resources = out
        .stack_resources()
        .iter()
        .filter(|r| {
            // Nothing exists behind a resource that was never created or is already gone.
            r.physical_resource_id().is_some_and(|p| !p.is_empty())
                && r.resource_status().map(|s| s.as_str()) != Some("DELETE_COMPLETE")
        })
        .map(|r| {
            let logical_id = r.logical_resource_id().unwrap_or_default().to_string();
            let policy = deletion_policy(template.as_ref(), &logical_id);
            StackResource {
                retained: policy.as_deref().is_some_and(keeps),
                deletion_policy: policy,
                resource_type: r.resource_type().unwrap_or_default().to_string(),
                physical_id: r.physical_resource_id().unwrap_or_default().to_string(),
                logical_id,
            }
        })
        .collect();
    Ok(Some(DeletePlan {
        stack: name.to_string(),
        stack_id: d.stack_id,
        status: d.status,
        termination_protection: d.termination_protection,
        resources,
    }))
}

/// Turn termination protection back on after a deletion that did not happen (best effort:
/// the error being reported matters more).
async fn restore_protection(cfn: &Client, plan: &DeletePlan, reporter: &Reporter) {
    if plan.termination_protection {
        match set_termination_protection(cfn, &plan.stack_id, true).await {
            Ok(()) => reporter.progress("turned termination protection back on"),
            Err(e) => reporter.warn(format!(
                "termination protection of stack {} is still off: {}",
                plan.stack, e.message
            )),
        }
    }
}

/// Delete the stack `plan` describes: termination protection off (when on), DeleteStack,
/// then wait for DELETE_COMPLETE. The caller has asked for confirmation.
pub async fn apply(
    cfn: &Client,
    plan: &DeletePlan,
    reporter: &Reporter,
    wait: WaitConfig,
) -> Result<DeleteOutcome> {
    let mut done = Vec::new();
    let mut log = EventLog::starting_now(cfn, &plan.stack_id).await?;
    if plan.termination_protection {
        set_termination_protection(cfn, &plan.stack_id, false).await?;
        reporter.progress(format!(
            "turned off termination protection for stack {}",
            plan.stack
        ));
        done.push("turned off termination protection".to_string());
    }
    if let Err(e) = cfn.delete_stack().stack_name(&plan.stack_id).send().await {
        restore_protection(cfn, plan, reporter).await;
        return Err(classify(&e, "deleting the stack", &plan.stack));
    }
    reporter.progress(format!("deleting stack {}", plan.stack));
    let status = events::wait_stack(
        cfn,
        &plan.stack_id,
        &mut log,
        wait,
        reporter,
        "deleting the stack",
    )
    .await?;
    if status != "DELETE_COMPLETE" {
        restore_protection(cfn, plan, reporter).await;
        return Err(failed(&plan.stack, &status, &log, "deleting the stack")
            .hint("fix what blocks the deletion (the stack's events above name it), then run `bootstrap destroy --mode cloudformation` again"));
    }
    done.push(format!("deleted stack {}", plan.stack));
    Ok(DeleteOutcome {
        status,
        done,
        events: log.events,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
