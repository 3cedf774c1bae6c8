//! Updating a stack through a change set: create it and wait until CloudFormation has
//! computed it; then (once the command has shown it and had it confirmed) execute it, or
//! delete it.

use aws_sdk_cloudformation::types::{
    Capability, ChangeSetStatus, ChangeSetType, ResourceAttribute, ResourceChange,
};
use aws_sdk_cloudformation::Client;
use serde::Serialize;

use super::events::{self, Event, EventLog, WaitConfig};
use super::stack::failed;
use crate::aws::{classify, errors};
use crate::error::{Error, Result};
use crate::oidc::thumbprint::sha1_hex;
use crate::plan::compare::ResourceDiff;
use crate::plan::stack::StackSpec;
use crate::progress::Progress;

/// A change as CloudFormation computed it in a change set.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub action: String,
    pub logical_id: String,
    pub resource_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replacement: Option<String>,
    /// What changes (property names), from CloudFormation's details or our own diff.
    pub fields: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChangeSetSummary {
    pub name: String,
    pub id: String,
    pub changes: Vec<Change>,
    pub executed: bool,
}

/// The change set's name: derived from what it changes, never random.
pub fn change_set_name(spec: &StackSpec) -> String {
    let hash = sha1_hex(spec.body.as_bytes());
    format!("bootstrap-{}", &hash[..12])
}

/// A change set CloudFormation has computed.
pub enum Computed {
    /// Ready to execute, once confirmed.
    Ready(ChangeSetSummary),
    /// CloudFormation sees nothing to change; the change set is deleted again.
    NoChanges(ChangeSetSummary),
}

/// Create the change set that updates the stack to `spec` and wait until CloudFormation has
/// computed it. `local` names the properties where CloudFormation does not. A change set of
/// the same name left by an earlier run is replaced.
pub async fn create(
    cfn: &Client,
    spec: &StackSpec,
    stack_id: &str,
    local: &[ResourceDiff],
    reporter: &dyn Progress,
    wait: WaitConfig,
) -> Result<Computed> {
    let name = change_set_name(spec);
    let create = || {
        cfn.create_change_set()
            .stack_name(&spec.name)
            .change_set_name(&name)
            .change_set_type(ChangeSetType::Update)
            .template_body(&spec.body)
            .capabilities(Capability::CapabilityNamedIam)
            .description("bootstrap init --mode cloudformation")
            .send()
    };
    let id = match create().await {
        Ok(out) => out.id().unwrap_or(&name).to_string(),
        Err(e) if errors::is(&e, &["AlreadyExistsException"]) => {
            // Left by an earlier run that stopped before executing or deleting it.
            delete(cfn, stack_id, &name).await?;
            create()
                .await
                .map_err(|e| classify(&e, "creating the change set", &spec.name))?
                .id()
                .unwrap_or(&name)
                .to_string()
        }
        Err(e) => return Err(classify(&e, "creating the change set", &spec.name)),
    };
    reporter.progress(&format!(
        "created change set {name}; waiting for CloudFormation to compute it"
    ));
    let (status, reason, mut changes) = wait_change_set(cfn, &id, &spec.name, wait).await?;
    // Name the properties where CloudFormation did not.
    for c in &mut changes {
        if c.fields.is_empty() {
            if let Some(l) = local.iter().find(|l| l.logical_id == c.logical_id) {
                c.fields = l.fields.clone();
            }
        }
    }
    let summary = ChangeSetSummary {
        name,
        id,
        changes,
        executed: false,
    };
    if status != ChangeSetStatus::Failed {
        return Ok(Computed::Ready(summary));
    }
    let reason = reason.unwrap_or_default();
    delete(cfn, stack_id, &summary.id).await?;
    if reason.contains("didn't contain changes") || reason.contains("No updates") {
        reporter.progress("CloudFormation sees no change to make; change set deleted");
        return Ok(Computed::NoChanges(summary));
    }
    Err(Error::failure(format!("CloudFormation refused the change set: {reason}"))
        .resource(spec.name.clone())
        .code("FAILED")
        .hint("the template or the stack is in a state CloudFormation cannot update; see the message"))
}

/// Execute the computed change set `cs` and wait for UPDATE_COMPLETE.
pub async fn execute(
    cfn: &Client,
    spec: &StackSpec,
    stack_id: &str,
    cs: &mut ChangeSetSummary,
    reporter: &dyn Progress,
    wait: WaitConfig,
) -> Result<Vec<Event>> {
    let mut log = EventLog::starting_now(cfn, stack_id).await?;
    cfn.execute_change_set()
        .change_set_name(&cs.id)
        .stack_name(stack_id)
        .retain_except_on_create(true)
        .send()
        .await
        .map_err(|e| classify(&e, "executing the change set", &spec.name))?;
    cs.executed = true;
    reporter.progress(&format!(
        "executing change set {} on stack {}",
        cs.name, spec.name
    ));
    let what = "updating the stack";
    let status = events::wait_stack(cfn, stack_id, &mut log, wait, reporter, what).await?;
    if status != "UPDATE_COMPLETE" {
        return Err(failed(&spec.name, &status, &log, what));
    }
    Ok(log.events)
}

/// Delete a change set that is not to be executed.
pub async fn delete(cfn: &Client, stack_id: &str, name_or_id: &str) -> Result<()> {
    cfn.delete_change_set()
        .stack_name(stack_id)
        .change_set_name(name_or_id)
        .send()
        .await
        .map_err(|e| classify(&e, "deleting the change set", name_or_id))?;
    Ok(())
}

/// A resource change as a plain value: what CloudFormation does to the resource, and which
/// properties (or attributes) it changes.
fn change(rc: &ResourceChange) -> Change {
    let mut fields: Vec<String> = Vec::new();
    for t in rc.details().iter().filter_map(|d| d.target()) {
        let f = match (t.attribute().map(ResourceAttribute::as_str), t.name()) {
            (Some("Properties"), Some(n)) => format!("Properties.{n}"),
            (Some(a), _) => a.to_string(),
            (None, Some(n)) => n.to_string(),
            (None, None) => continue,
        };
        if !fields.contains(&f) {
            fields.push(f);
        }
    }
    Change {
        action: rc
            .action()
            .map(|a| a.as_str().to_string())
            .unwrap_or_default(),
        logical_id: rc.logical_resource_id().unwrap_or_default().to_string(),
        resource_type: rc.resource_type().unwrap_or_default().to_string(),
        replacement: rc.replacement().map(|r| r.as_str().to_string()),
        fields,
    }
}

/// Wait until the change set is computed; its status, reason and changes.
async fn wait_change_set(
    cfn: &Client,
    id: &str,
    stack: &str,
    wait: WaitConfig,
) -> Result<(ChangeSetStatus, Option<String>, Vec<Change>)> {
    let start = std::time::Instant::now();
    let mut delay = wait.first_delay;
    loop {
        let mut changes = Vec::new();
        let mut token: Option<String> = None;
        let (status, reason) = loop {
            let out = cfn
                .describe_change_set()
                .change_set_name(id)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| classify(&e, "reading the change set", stack))?;
            changes.extend(
                out.changes()
                    .iter()
                    .filter_map(|c| c.resource_change().map(change)),
            );
            token = out.next_token().map(str::to_string);
            if token.is_none() {
                break (
                    out.status()
                        .cloned()
                        .unwrap_or(ChangeSetStatus::CreatePending),
                    out.status_reason().map(str::to_string),
                );
            }
        };
        match status {
            ChangeSetStatus::CreateComplete | ChangeSetStatus::Failed => {
                return Ok((status, reason, changes))
            }
            _ if start.elapsed() >= wait.timeout => {
                return Err(Error::failure("the change set was not ready in time")
                    .resource(stack.to_string())
                    .hint("run init again; an unused change set is replaced"))
            }
            _ => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(wait.max_delay);
            }
        }
    }
}
