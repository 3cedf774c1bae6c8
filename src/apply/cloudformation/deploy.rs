//! One stack, converged as its plan says: create it, update it through a change set shown
//! before it runs, recover a stack whose first create rolled back, resume a failed update
//! rollback (never delete), and keep termination protection on.

use std::collections::BTreeMap;

use aws_sdk_cloudformation::types::{Capability, OnFailure};
use aws_sdk_cloudformation::Client;
use serde::Serialize;

use super::changeset::{self, ChangeSetSummary};
use super::events::{self, EventLog, WaitConfig};
use crate::aws::classify;
use crate::error::{Error, Result};
use crate::report::Reporter;

pub use super::stack::{describe, plan, Deployed, StackAction, StackPlan, StackSpec};

/// How `apply` talks to the user: `show` prints what is about to happen, `confirm` asks
/// (and returns an error when the answer is no).
pub struct Prompt<'a> {
    pub show: &'a (dyn Fn(&str) + Sync),
    pub confirm: &'a (dyn Fn(&str) -> Result<()> + Sync),
}
#[derive(Debug, Clone, Serialize)]
pub struct StackOutcome {
    pub stack_id: String,
    pub status: String,
    /// What was done, in order ("created the stack", ...); empty when nothing was.
    pub done: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_set: Option<ChangeSetSummary>,
    pub events: Vec<events::Event>,
    pub outputs: BTreeMap<String, String>,
}
/// Converge the stack as `plan` says. Asks before every change through `prompt`.
pub async fn apply(
    cfn: &Client,
    spec: &StackSpec,
    plan: &StackPlan,
    prompt: &Prompt<'_>,
    reporter: &Reporter,
    wait: WaitConfig,
) -> Result<StackOutcome> {
    let mut plan = plan.clone();
    let mut done = Vec::new();
    let mut all_events = Vec::new();
    let mut change_set = None;

    if plan.action == StackAction::ResumeRollback {
        let d = plan
            .deployed
            .clone()
            .ok_or_else(|| Error::failure("no stack to resume"))?;
        (prompt.confirm)(&format!(
            "Resume the rollback of stack {} (ContinueUpdateRollback)?",
            spec.name
        ))?;
        let mut log = EventLog::starting_now(cfn, &d.stack_id).await?;
        cfn.continue_update_rollback()
            .stack_name(&d.stack_id)
            .send()
            .await
            .map_err(|e| {
                classify(&e, "resuming the rollback (ContinueUpdateRollback)", &spec.name)
                    .hint("see docs/cloudformation.md: a resource that cannot roll back can be skipped with aws cloudformation continue-update-rollback --resources-to-skip")
            })?;
        reporter.progress(format!("resuming the rollback of stack {}", spec.name));
        let status = events::wait_stack(
            cfn,
            &d.stack_id,
            &mut log,
            wait,
            reporter,
            "resuming the rollback",
        )
        .await?;
        all_events.extend(log.events.clone());
        if status != "UPDATE_ROLLBACK_COMPLETE" {
            return Err(failed(&spec.name, &status, &log, "resuming the rollback")
                .hint("the stack was not deleted; see docs/cloudformation.md on continue-update-rollback --resources-to-skip"));
        }
        done.push("resumed the failed rollback".to_string());
        plan = super::stack::plan(cfn, spec).await?;
        if plan.action == StackAction::ResumeRollback {
            return Err(Error::failure("the stack is still UPDATE_ROLLBACK_FAILED")
                .resource(spec.name.clone()));
        }
        if plan.has_changes() {
            (prompt.show)(&super::text::plan_text(&plan));
        }
    }

    match plan.action {
        StackAction::Create => {
            (prompt.confirm)(&format!("Create stack {}?", spec.name))?;
            let (id, events) = create(cfn, spec, reporter, wait).await?;
            all_events.extend(events);
            done.push(format!("created stack {}", spec.name));
            let _ = id;
        }
        StackAction::Recreate => {
            let d = plan
                .deployed
                .clone()
                .ok_or_else(|| Error::failure("no stack to re-create"))?;
            (prompt.confirm)(&format!(
                "Delete the failed stack {} and create it again? (it holds no resources: a failed first create removes what it made)",
                spec.name
            ))?;
            if d.termination_protection {
                set_termination_protection(cfn, &d.stack_id, false).await?;
            }
            let mut log = EventLog::starting_now(cfn, &d.stack_id).await?;
            cfn.delete_stack()
                .stack_name(&d.stack_id)
                .send()
                .await
                .map_err(|e| classify(&e, "deleting the failed stack", &spec.name))?;
            reporter.progress(format!("deleting the failed stack {}", spec.name));
            let status = events::wait_stack(
                cfn,
                &d.stack_id,
                &mut log,
                wait,
                reporter,
                "deleting the failed stack",
            )
            .await?;
            all_events.extend(log.events.clone());
            if status != "DELETE_COMPLETE" {
                return Err(failed(
                    &spec.name,
                    &status,
                    &log,
                    "deleting the failed stack",
                ));
            }
            done.push(format!("deleted the rolled-back stack {}", spec.name));
            let (_, events) = create(cfn, spec, reporter, wait).await?;
            all_events.extend(events);
            done.push(format!("created stack {}", spec.name));
        }
        StackAction::Update => {
            let d = plan
                .deployed
                .clone()
                .ok_or_else(|| Error::failure("no stack to update"))?;
            let (cs, events) =
                changeset::update(cfn, spec, &plan, &d, prompt, reporter, wait).await?;
            all_events.extend(events);
            if cs.executed {
                done.push(format!("executed change set {}", cs.name));
            }
            change_set = Some(cs);
        }
        StackAction::ResumeRollback | StackAction::None => {}
    }

    if plan.enable_termination_protection {
        if plan.action == StackAction::None {
            (prompt.confirm)(&format!(
                "Turn on termination protection for stack {}?",
                spec.name
            ))?;
        }
        let id = plan
            .deployed
            .as_ref()
            .map(|d| d.stack_id.clone())
            .unwrap_or(spec.name.clone());
        set_termination_protection(cfn, &id, true).await?;
        reporter.progress(format!(
            "turned on termination protection for stack {}",
            spec.name
        ));
        done.push("turned on termination protection".to_string());
    }

    let now = describe(cfn, &spec.name)
        .await?
        .ok_or_else(|| Error::failure("the stack is gone").resource(spec.name.clone()))?;
    Ok(StackOutcome {
        stack_id: now.stack_id,
        status: now.status,
        done,
        change_set,
        events: all_events,
        outputs: now.outputs,
    })
}

/// The error for an operation that ended in `status`: the first failed event's reason.
pub(super) fn failed(stack: &str, status: &str, log: &EventLog, what: &str) -> Error {
    let why = log
        .first_failure()
        .map(|e| {
            format!(
                "{} ({}): {}",
                e.logical_id,
                e.resource_type,
                e.reason.as_deref().unwrap_or(&e.status)
            )
        })
        .unwrap_or_else(|| "no failed event was recorded".into());
    let hint = match status {
        "ROLLBACK_COMPLETE" | "ROLLBACK_FAILED" => "fix the cause, then run `bootstrap init --mode cloudformation` again: it deletes the rolled-back stack and creates it again after you confirm",
        "UPDATE_ROLLBACK_COMPLETE" => "the stack is back as it was; fix the cause and run init again",
        "UPDATE_ROLLBACK_FAILED" => "run `bootstrap init --mode cloudformation` again to resume the rollback (ContinueUpdateRollback); the stack is never deleted",
        _ => "see the stack's events in the CloudFormation console",
    };
    Error::failure(format!("{what} failed ({status}): {why}"))
        .resource(stack.to_string())
        .code(status.to_string())
        .hint(hint)
}

pub(super) async fn set_termination_protection(
    cfn: &Client,
    stack_id: &str,
    on: bool,
) -> Result<()> {
    cfn.update_termination_protection()
        .stack_name(stack_id)
        .enable_termination_protection(on)
        .send()
        .await
        .map_err(|e| classify(&e, "setting termination protection", stack_id))?;
    Ok(())
}

async fn create(
    cfn: &Client,
    spec: &StackSpec,
    reporter: &Reporter,
    wait: WaitConfig,
) -> Result<(String, Vec<events::Event>)> {
    let out = cfn
        .create_stack()
        .stack_name(&spec.name)
        .template_body(&spec.body)
        .capabilities(Capability::CapabilityNamedIam)
        .enable_termination_protection(true)
        // A failed first create removes what it made, Retain or not: nothing is left over
        // to block the next attempt (the bucket is empty then).
        .retain_except_on_create(true)
        .on_failure(OnFailure::Rollback)
        .timeout_in_minutes(30)
        .send()
        .await
        .map_err(|e| classify(&e, "creating the stack", &spec.name))?;
    let id = out.stack_id().unwrap_or(&spec.name).to_string();
    reporter.progress(format!("creating stack {}", spec.name));
    let mut log = EventLog::from_start(&id);
    let status =
        events::wait_stack(cfn, &id, &mut log, wait, reporter, "creating the stack").await?;
    if status != "CREATE_COMPLETE" {
        return Err(failed(&spec.name, &status, &log, "creating the stack"));
    }
    Ok((id, log.events))
}
