//! One CloudFormation stack as it is: its status, termination protection, parameters,
//! outputs and deployed template; why its last operation failed (from its events); its
//! resources. Reads only.

use std::collections::BTreeMap;

use aws_sdk_cloudformation::types::StackEvent;
use aws_sdk_cloudformation::Client;
use aws_smithy_types::date_time::Format;
use serde::Serialize;

use crate::aws::{classify, errors};
use crate::error::Result;

/// The stack as CloudFormation describes it.
#[derive(Debug, Clone, Serialize)]
pub struct ObservedStack {
    pub stack_id: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    pub termination_protection: bool,
    pub parameters: BTreeMap<String, String>,
    pub outputs: BTreeMap<String, String>,
    #[serde(skip)]
    pub template_body: Option<String>,
    /// Why its operations failed, for the statuses a failure leaves (read from its events).
    #[serde(skip)]
    pub failures: Failures,
}

/// The first failed resource of the stack's last operations, as `id (type) STATUS: reason`.
#[derive(Debug, Clone, Default)]
pub struct Failures {
    /// Of the last operation (since the last "User Initiated" stack event).
    pub operation: Option<String>,
    /// Of the rollback that followed (since the stack turned UPDATE_ROLLBACK_IN_PROGRESS).
    pub rollback: Option<String>,
}

/// One stack event, as shown to the user.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Event {
    pub time: String,
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Event {
    pub fn line(&self) -> String {
        let mut l = format!(
            "  {} {:<24} {:<26} {}",
            self.time, self.status, self.resource_type, self.logical_id
        );
        if let Some(r) = &self.reason {
            l.push_str(&format!(": {r}"));
        }
        l
    }
}

/// A stack event as a plain value (the time of day, no empty reason).
pub fn event(e: &StackEvent) -> Event {
    Event {
        time: e
            .timestamp()
            .and_then(|t| t.fmt(Format::DateTime).ok())
            .map(|t| t.get(11..19).unwrap_or(&t).to_string())
            .unwrap_or_default(),
        logical_id: e.logical_resource_id().unwrap_or_default().to_string(),
        resource_type: e.resource_type().unwrap_or_default().to_string(),
        status: e
            .resource_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        reason: e
            .resource_status_reason()
            .filter(|r| !r.is_empty())
            .map(str::to_string),
    }
}

/// The event that explains a failure among `events` (oldest first): the first resource that
/// failed (not the stack's own summary, nor resources cancelled because another failed).
pub fn first_failure(events: &[Event]) -> Option<&Event> {
    let failed = |e: &&Event| e.status.ends_with("_FAILED");
    let explains = |e: &&Event| {
        let r = e.reason.as_deref().unwrap_or("");
        e.resource_type != "AWS::CloudFormation::Stack"
            && !r.contains("Resource creation cancelled")
            && !r.contains("Resource update cancelled")
    };
    events
        .iter()
        .filter(failed)
        .find(explains)
        .or_else(|| events.iter().find(failed))
}

/// Read the stack (and its template) by name; `None` when there is no such stack.
pub async fn describe(cfn: &Client, name: &str) -> Result<Option<ObservedStack>> {
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
    // A stack a change set started and never ran has no template yet: its change set's
    // template says whose it is.
    let template_body = if status == "REVIEW_IN_PROGRESS" {
        review_template(cfn, &stack_id, name).await?
    } else {
        let t = cfn
            .get_template()
            .stack_name(&stack_id)
            .send()
            .await
            .map_err(|e| classify(&e, "reading the deployed template", name))?;
        t.template_body().map(str::to_string)
    };
    Ok(Some(ObservedStack {
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
        outputs: stack
            .outputs()
            .iter()
            .filter_map(|o| Some((o.output_key()?.to_string(), o.output_value()?.to_string())))
            .collect(),
        template_body,
        failures: Failures::default(),
    }))
}

/// The template of the change set that started stack `stack_id` (REVIEW_IN_PROGRESS), if any.
async fn review_template(cfn: &Client, stack_id: &str, name: &str) -> Result<Option<String>> {
    let sets = cfn
        .list_change_sets()
        .stack_name(stack_id)
        .send()
        .await
        .map_err(|e| classify(&e, "listing the stack's change sets", name))?;
    let Some(id) = sets
        .summaries()
        .iter()
        .filter(|c| c.stack_id().is_none_or(|s| s == stack_id))
        .find_map(|c| c.change_set_id())
    else {
        return Ok(None);
    };
    let t = cfn
        .get_template()
        .stack_name(stack_id)
        .change_set_name(id)
        .send()
        .await
        .map_err(|e| classify(&e, "reading the change set's template", name))?;
    Ok(t.template_body().map(str::to_string))
}

/// The statuses a failed operation leaves, which its events explain.
fn needs_explaining(status: &str) -> bool {
    matches!(
        status,
        "ROLLBACK_COMPLETE"
            | "UPDATE_ROLLBACK_FAILED"
            | "ROLLBACK_FAILED"
            | "DELETE_FAILED"
            | "IMPORT_ROLLBACK_FAILED"
    )
}

/// Read the stack as [`describe`] does, and for a stack a failure left behind, why it failed.
pub async fn stack(cfn: &Client, name: &str) -> Result<Option<ObservedStack>> {
    let Some(mut s) = describe(cfn, name).await? else {
        return Ok(None);
    };
    if needs_explaining(&s.status) {
        s.failures = failures(cfn, &s.stack_id).await;
    }
    Ok(Some(s))
}

/// The first failures of the stack's last operation and of the rollback after it, from its
/// latest events; none when the events cannot be read (they only explain).
async fn failures(cfn: &Client, stack_id: &str) -> Failures {
    let Ok(out) = cfn
        .describe_stack_events()
        .stack_name(stack_id)
        .send()
        .await
    else {
        return Failures::default();
    };
    let newest_first: Vec<Event> = out.stack_events().iter().map(event).collect();
    Failures {
        operation: failure_since(&newest_first, |e| {
            e.reason.as_deref() == Some("User Initiated")
        }),
        rollback: failure_since(&newest_first, |e| {
            e.resource_type == "AWS::CloudFormation::Stack"
                && e.status == "UPDATE_ROLLBACK_IN_PROGRESS"
        }),
    }
}

/// The first failure among the events since the newest one that `starts` an operation (all
/// of them when none does), as `id (type) STATUS: reason`.
fn failure_since(newest_first: &[Event], starts: impl Fn(&Event) -> bool) -> Option<String> {
    let end = newest_first
        .iter()
        .position(starts)
        .map_or(newest_first.len(), |i| i + 1);
    let mut since: Vec<Event> = newest_first[..end].to_vec();
    since.reverse();
    first_failure(&since).map(|e| {
        format!(
            "{} ({}) {}: {}",
            e.logical_id,
            e.resource_type,
            e.status,
            e.reason.as_deref().unwrap_or("no reason given")
        )
    })
}

/// One resource of a deployed stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedResource {
    pub logical_id: String,
    pub resource_type: String,
    /// Empty when there is nothing behind it (yet).
    pub physical_id: String,
    pub status: Option<String>,
    /// CloudFormation's drift status (NOT_CHECKED until drift detection runs).
    pub drift: Option<String>,
}

/// The stack's resources (DescribeStackResources). `name` names the stack in errors.
pub async fn resources(cfn: &Client, stack_id: &str, name: &str) -> Result<Vec<ObservedResource>> {
    let out = cfn
        .describe_stack_resources()
        .stack_name(stack_id)
        .send()
        .await
        .map_err(|e| classify(&e, "reading the stack's resources", name))?;
    Ok(out
        .stack_resources()
        .iter()
        .map(|r| ObservedResource {
            logical_id: r.logical_resource_id().unwrap_or_default().to_string(),
            resource_type: r.resource_type().unwrap_or_default().to_string(),
            physical_id: r.physical_resource_id().unwrap_or_default().to_string(),
            status: r.resource_status().map(|s| s.as_str().to_string()),
            drift: r
                .drift_information()
                .and_then(|d| d.stack_resource_drift_status())
                .map(|s| s.as_str().to_string()),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id: &str, ty: &str, status: &str, reason: &str) -> Event {
        Event {
            time: String::new(),
            logical_id: id.into(),
            resource_type: ty.into(),
            status: status.into(),
            reason: (!reason.is_empty()).then(|| reason.to_string()),
        }
    }

    #[test]
    fn first_failure_is_the_resource_that_caused_it() {
        let events = vec![
            ev(
                "s",
                "AWS::CloudFormation::Stack",
                "CREATE_IN_PROGRESS",
                "User Initiated",
            ),
            ev(
                "LockTable",
                "AWS::DynamoDB::Table",
                "CREATE_FAILED",
                "Resource creation cancelled",
            ),
            ev(
                "StateBucket",
                "AWS::S3::Bucket",
                "CREATE_FAILED",
                "bucket already exists",
            ),
            ev(
                "s",
                "AWS::CloudFormation::Stack",
                "ROLLBACK_IN_PROGRESS",
                "The following resource(s) failed to create: [StateBucket, LockTable].",
            ),
            ev("DeployRole", "AWS::IAM::Role", "DELETE_FAILED", "later"),
        ];
        let f = first_failure(&events).unwrap();
        assert_eq!(f.logical_id, "StateBucket");
        assert_eq!(f.reason.as_deref(), Some("bucket already exists"));
    }
}
