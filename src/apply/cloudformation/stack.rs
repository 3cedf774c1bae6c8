//! One stack: what is deployed, and what `init` has to do about it (the plan). Reads only.

use std::collections::BTreeMap;

use aws_sdk_cloudformation::Client;
use serde::Serialize;
use serde_json::Value;

use super::events::{self, EventLog};
use crate::aws::{classify, errors};
use crate::error::{Error, Result};
use crate::plan::compare::{self, ResourceDiff};

/// The stack to converge to.
#[derive(Debug, Clone)]
pub struct StackSpec {
    pub name: String,
    /// The template text submitted (YAML).
    pub body: String,
    /// The same template as a document.
    pub template: Value,
}

/// What is deployed now.
#[derive(Debug, Clone, Serialize)]
pub struct Deployed {
    pub stack_id: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    pub termination_protection: bool,
    pub parameters: BTreeMap<String, String>,
    pub outputs: BTreeMap<String, String>,
    #[serde(skip)]
    pub template_body: Option<String>,
}

/// What `init` does to the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StackAction {
    /// No stack: create it.
    Create,
    /// The first create failed and rolled back (ROLLBACK_COMPLETE), or an unexecuted change
    /// set left an empty stack (REVIEW_IN_PROGRESS): delete it, then create it.
    Recreate,
    /// An update failed and so did its rollback (UPDATE_ROLLBACK_FAILED): resume the rollback
    /// with ContinueUpdateRollback, then update.
    ResumeRollback,
    /// The template differs: update through a change set.
    Update,
    /// Nothing to do to the template.
    None,
}

#[derive(Debug, Clone, Serialize)]
pub struct StackPlan {
    pub stack: String,
    /// `None` when there is no stack.
    pub status: Option<String>,
    pub action: StackAction,
    /// Resources of the template that differ from the deployed one (all of them for a new
    /// stack).
    pub changes: Vec<ResourceDiff>,
    /// Termination protection is off and will be turned on.
    pub enable_termination_protection: bool,
    /// Why, for the stack states that need explaining.
    pub notes: Vec<String>,
    #[serde(skip)]
    pub deployed: Option<Deployed>,
}

impl StackPlan {
    pub fn has_changes(&self) -> bool {
        self.action != StackAction::None || self.enable_termination_protection
    }
}

/// Read the stack (and its template) by name; `None` when there is no such stack.
pub async fn describe(cfn: &Client, name: &str) -> Result<Option<Deployed>> {
    let out = match cfn.describe_stacks().stack_name(name).send().await {
        Ok(out) => out,
        Err(e) if errors::is_missing_stack(&e) => return Ok(None),
        Err(e) => return Err(classify(&e, "reading the stack", name)),
    };
    let Some(stack) = out.stacks().first() else {
        return Ok(None);
    };
    let status = stack
        .stack_status()
        .map(|s| s.as_str().to_string())
        .unwrap_or_default();
    let stack_id = stack.stack_id().unwrap_or(name).to_string();
    let template_body = if status == "REVIEW_IN_PROGRESS" {
        None
    } else {
        let t = cfn
            .get_template()
            .stack_name(&stack_id)
            .send()
            .await
            .map_err(|e| classify(&e, "reading the deployed template", name))?;
        t.template_body().map(str::to_string)
    };
    Ok(Some(Deployed {
        stack_id,
        status,
        status_reason: stack.stack_status_reason().map(str::to_string),
        termination_protection: stack.enable_termination_protection().unwrap_or(false),
        parameters: stack
            .parameters()
            .iter()
            .map(|p| {
                (
                    p.parameter_key().unwrap_or_default().to_string(),
                    p.parameter_value().unwrap_or_default().to_string(),
                )
            })
            .collect(),
        outputs: outputs(stack.outputs()),
        template_body,
    }))
}

fn outputs(o: &[aws_sdk_cloudformation::types::Output]) -> BTreeMap<String, String> {
    o.iter()
        .filter_map(|o| Some((o.output_key()?.to_string(), o.output_value()?.to_string())))
        .collect()
}

/// The reason the last operation failed, from the stack's events: the first failure after
/// the stack event with status `from` (the operation's start when `None`).
async fn last_failure(cfn: &Client, stack_id: &str, from: Option<&str>) -> Option<String> {
    let out = cfn
        .describe_stack_events()
        .stack_name(stack_id)
        .send()
        .await
        .ok()?;
    let mut log = EventLog::from_start(stack_id);
    // Newest first; keep the events of the last operation only (after the last
    // "User Initiated" stack event), or from the last `from` stack event.
    for e in out.stack_events() {
        let status = e.resource_status().map(|s| s.as_str()).unwrap_or_default();
        log.events.push(events::Event {
            time: String::new(),
            logical_id: e.logical_resource_id().unwrap_or_default().into(),
            resource_type: e.resource_type().unwrap_or_default().into(),
            status: status.into(),
            reason: e.resource_status_reason().map(str::to_string),
        });
        let is_stack = e.resource_type() == Some("AWS::CloudFormation::Stack");
        let start = match from {
            Some(f) => is_stack && status == f,
            None => e.resource_status_reason() == Some("User Initiated"),
        };
        if start {
            break;
        }
    }
    log.events.reverse();
    log.first_failure().map(|e| {
        format!(
            "{} ({}) {}: {}",
            e.logical_id,
            e.resource_type,
            e.status,
            e.reason.as_deref().unwrap_or("no reason given")
        )
    })
}

/// Compare what is deployed with `spec` and decide what `init` does. Makes no change.
pub async fn plan(cfn: &Client, spec: &StackSpec) -> Result<StackPlan> {
    let deployed = describe(cfn, &spec.name).await?;
    let mut plan = StackPlan {
        stack: spec.name.clone(),
        status: deployed.as_ref().map(|d| d.status.clone()),
        action: StackAction::None,
        changes: Vec::new(),
        enable_termination_protection: false,
        notes: Vec::new(),
        deployed: deployed.clone(),
    };
    let Some(d) = deployed else {
        plan.action = StackAction::Create;
        plan.changes = compare::diff(None, &spec.template);
        return Ok(plan);
    };
    let deployed_template = d.template_body.as_deref().and_then(compare::parse);
    let same = d
        .template_body
        .as_deref()
        .is_some_and(|b| compare::same(b, &spec.body, &spec.template))
        && d.parameters.is_empty();
    let busy = |status: &str| {
        Error::failure(format!(
            "the stack is {status}: another operation is running"
        ))
        .resource(spec.name.clone())
        .code(status.to_string())
        .hint("wait for it to finish (bootstrap status --mode cloudformation), then run again")
    };
    match d.status.as_str() {
        "ROLLBACK_COMPLETE" => {
            plan.action = StackAction::Recreate;
            plan.changes = compare::diff(None, &spec.template);
            plan.notes.push(
                "the stack's first create failed and was rolled back (ROLLBACK_COMPLETE); such a stack can only be deleted, so init deletes it and creates it again".into(),
            );
            if let Some(reason) = last_failure(cfn, &d.stack_id, None).await {
                plan.notes.push(format!("it failed on {reason}"));
            }
        }
        "REVIEW_IN_PROGRESS" => {
            plan.action = StackAction::Recreate;
            plan.changes = compare::diff(None, &spec.template);
            plan.notes.push(
                "the stack was started by a change set that never ran (REVIEW_IN_PROGRESS) and holds no resources; init deletes it and creates it".into(),
            );
        }
        "UPDATE_ROLLBACK_FAILED" => {
            plan.action = StackAction::ResumeRollback;
            plan.changes = compare::diff(deployed_template.as_ref(), &spec.template);
            plan.notes.push(
                "an update failed and so did its rollback (UPDATE_ROLLBACK_FAILED); init resumes the rollback with ContinueUpdateRollback (the stack is never deleted), then updates".into(),
            );
            if let Some(reason) = last_failure(cfn, &d.stack_id, None).await {
                plan.notes.push(format!("the update failed on {reason}"));
            }
            if let Some(reason) =
                last_failure(cfn, &d.stack_id, Some("UPDATE_ROLLBACK_IN_PROGRESS")).await
            {
                plan.notes.push(format!("the rollback failed on {reason}"));
            }
        }
        "ROLLBACK_FAILED" | "DELETE_FAILED" | "IMPORT_ROLLBACK_FAILED" => {
            let reason = last_failure(cfn, &d.stack_id, None).await;
            return Err(Error::failure(format!(
                "the stack is {}: CloudFormation could not clean it up{}",
                d.status,
                reason.map(|r| format!(" ({r})")).unwrap_or_default()
            ))
            .resource(spec.name.clone())
            .code(d.status.clone())
            .hint("fix what blocks the cleanup and delete the stack in the CloudFormation console (keeping resources it cannot delete), or pick another --stack-name"));
        }
        s if s.ends_with("_IN_PROGRESS") => return Err(busy(s)),
        _ => {
            if !same {
                plan.action = StackAction::Update;
                plan.changes = compare::diff(deployed_template.as_ref(), &spec.template);
                if plan.changes.is_empty() {
                    // Different text that reads differently but is not a different document
                    // we can name (e.g. YAML short forms): let CloudFormation compare.
                    plan.changes.push(ResourceDiff {
                        logical_id: "(template)".into(),
                        resource_type: String::new(),
                        action: "modify".into(),
                        fields: vec!["text".into()],
                    });
                }
            }
        }
    }
    plan.enable_termination_protection = !d.termination_protection
        && !matches!(plan.action, StackAction::Create | StackAction::Recreate);
    Ok(plan)
}
