//! Deleting the stack (`destroy --mode cloudformation`) as planned
//! ([`crate::plan::destroy_stack`]): termination protection off just before DeleteStack, and
//! the deletion waited for (bounded) with the stack's events streamed. Never deletes a
//! retained resource.

use aws_sdk_cloudformation::Client;
use serde::Serialize;

use super::events::{self, EventLog, WaitConfig};
use super::stack::{failed, set_termination_protection};
use crate::aws::classify;
use crate::error::Result;
use crate::plan::destroy_stack::DeletePlan;
use crate::progress::Progress;

#[derive(Debug, Clone, Serialize)]
pub struct DeleteOutcome {
    pub status: String,
    /// What was done, in order.
    pub done: Vec<String>,
    pub events: Vec<events::Event>,
}

/// Turn termination protection back on after a deletion that did not happen (best effort:
/// the error being reported matters more).
async fn restore_protection(cfn: &Client, plan: &DeletePlan, reporter: &dyn Progress) {
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
    reporter: &dyn Progress,
    wait: WaitConfig,
) -> Result<DeleteOutcome> {
    let mut done = Vec::new();
    let mut log = EventLog::starting_now(cfn, &plan.stack_id).await?;
    if plan.termination_protection {
        set_termination_protection(cfn, &plan.stack_id, false).await?;
        reporter.progress(&format!(
            "turned off termination protection for stack {}",
            plan.stack
        ));
        done.push("turned off termination protection".to_string());
    }
    if let Err(e) = cfn.delete_stack().stack_name(&plan.stack_id).send().await {
        restore_protection(cfn, plan, reporter).await;
        return Err(classify(&e, "deleting the stack", &plan.stack));
    }
    reporter.progress(&format!("deleting stack {}", plan.stack));
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
