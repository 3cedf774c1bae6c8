//! The operations on one stack, each carried out and waited for (events streamed): create
//! it, delete a failed one, resume a failed rollback (never delete), set termination
//! protection. Each runs when told; none decides or asks.

use aws_sdk_cloudformation::types::{Capability, OnFailure};
use aws_sdk_cloudformation::Client;

use super::events::{self, Event, EventLog, WaitConfig};
use crate::aws::classify;
use crate::error::{Error, Result};
use crate::observe::stack::ObservedStack;
use crate::plan::stack::StackSpec;
use crate::progress::Progress;

/// The error for an operation that ended in `status`: the first failed event's reason.
pub(super) fn failed(stack: &str, status: &str, log: &EventLog, what: &str) -> Error {
    let why = log.first_failure().map_or_else(
        || "no failed event was recorded".into(),
        |e| {
            format!(
                "{} ({}): {}",
                e.logical_id,
                e.resource_type,
                e.reason.as_deref().unwrap_or(&e.status)
            )
        },
    );
    let hint = match status {
        "ROLLBACK_COMPLETE" => "fix the cause, then run `bootstrap init --mode cloudformation` again: it deletes the rolled-back stack and creates it again after you confirm",
        // init refuses a stack whose rollback failed: it has to be deleted first.
        "ROLLBACK_FAILED" => "fix the cause, delete the stack with `bootstrap destroy --mode cloudformation` (what blocked the rollback may block it again: the events name it), then run `bootstrap init --mode cloudformation`",
        "UPDATE_ROLLBACK_COMPLETE" => "the stack is back as it was; fix the cause and run init again",
        "UPDATE_ROLLBACK_FAILED" => "run `bootstrap init --mode cloudformation` again to resume the rollback (ContinueUpdateRollback); the stack is never deleted",
        _ => "see the stack's events in the CloudFormation console",
    };
    Error::failure(format!("{what} failed ({status}): {why}"))
        .resource(stack.to_string())
        .code(status.to_string())
        .hint(hint)
}

pub async fn set_termination_protection(cfn: &Client, stack_id: &str, on: bool) -> Result<()> {
    cfn.update_termination_protection()
        .stack_name(stack_id)
        .enable_termination_protection(on)
        .send()
        .await
        .map_err(|e| classify(&e, "setting termination protection", stack_id))?;
    Ok(())
}

/// Create the stack (termination protection on) and wait for CREATE_COMPLETE.
pub async fn create(
    cfn: &Client,
    spec: &StackSpec,
    reporter: &dyn Progress,
    wait: WaitConfig,
) -> Result<Vec<Event>> {
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
    reporter.progress(&format!("creating stack {}", spec.name));
    let mut log = EventLog::from_start(&id);
    let status =
        events::wait_stack(cfn, &id, &mut log, wait, reporter, "creating the stack").await?;
    if status != "CREATE_COMPLETE" {
        return Err(failed(&spec.name, &status, &log, "creating the stack"));
    }
    Ok(log.events)
}

/// Delete a stack whose first create failed (it holds no resources): termination
/// protection off, DeleteStack, and wait for DELETE_COMPLETE.
pub async fn delete_failed(
    cfn: &Client,
    name: &str,
    d: &ObservedStack,
    reporter: &dyn Progress,
    wait: WaitConfig,
) -> Result<Vec<Event>> {
    if d.termination_protection {
        set_termination_protection(cfn, &d.stack_id, false).await?;
    }
    let mut log = EventLog::starting_now(cfn, &d.stack_id).await?;
    cfn.delete_stack()
        .stack_name(&d.stack_id)
        .send()
        .await
        .map_err(|e| classify(&e, "deleting the failed stack", name))?;
    reporter.progress(&format!("deleting the failed stack {name}"));
    let what = "deleting the failed stack";
    let status = events::wait_stack(cfn, &d.stack_id, &mut log, wait, reporter, what).await?;
    if status != "DELETE_COMPLETE" {
        return Err(failed(name, &status, &log, what));
    }
    Ok(log.events)
}

/// Resume a failed update rollback (ContinueUpdateRollback) and wait for
/// UPDATE_ROLLBACK_COMPLETE. The stack is never deleted.
pub async fn resume_rollback(
    cfn: &Client,
    name: &str,
    stack_id: &str,
    reporter: &dyn Progress,
    wait: WaitConfig,
) -> Result<Vec<Event>> {
    let mut log = EventLog::starting_now(cfn, stack_id).await?;
    cfn.continue_update_rollback()
        .stack_name(stack_id)
        .send()
        .await
        .map_err(|e| {
            classify(&e, "resuming the rollback (ContinueUpdateRollback)", name)
                .hint("see docs/cloudformation.md: a resource that cannot roll back can be skipped with aws cloudformation continue-update-rollback --resources-to-skip")
        })?;
    reporter.progress(&format!("resuming the rollback of stack {name}"));
    let what = "resuming the rollback";
    let status = events::wait_stack(cfn, stack_id, &mut log, wait, reporter, what).await?;
    if status != "UPDATE_ROLLBACK_COMPLETE" {
        return Err(failed(name, &status, &log, what)
            .hint("the stack was not deleted; see docs/cloudformation.md on continue-update-rollback --resources-to-skip"));
    }
    Ok(log.events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_rollback_is_sent_to_destroy_not_to_an_init_that_refuses_it() {
        let log = EventLog::from_start("id");
        let e = failed("s", "ROLLBACK_FAILED", &log, "creating the stack");
        let hint = e.hint.unwrap();
        assert!(
            hint.contains("bootstrap destroy --mode cloudformation"),
            "{hint}"
        );
        assert!(!hint.contains("creates it again"), "{hint}");
        let e = failed("s", "ROLLBACK_COMPLETE", &log, "creating the stack");
        assert!(e.hint.unwrap().contains("creates it again"));
    }
}
