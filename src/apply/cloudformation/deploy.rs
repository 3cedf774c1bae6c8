//! One stack: read what is deployed, plan, and converge: create it, update it through a change
//! set shown before it runs, recover a stack whose first create rolled back, resume a failed
//! update rollback (never delete), and keep termination protection on.

use std::collections::BTreeMap;

use aws_sdk_cloudformation::types::{Capability, ChangeSetStatus, ChangeSetType, OnFailure};
use aws_sdk_cloudformation::Client;
use serde::Serialize;
use serde_json::Value;

use super::compare::{self, ResourceDiff};
use super::events::{self, EventLog, WaitConfig};
use crate::aws::{classify, errors};
use crate::error::{Error, Result};
use crate::oidc::thumbprint::sha1_hex;
use crate::report::Reporter;

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

/// How `apply` talks to the user: `show` prints what is about to happen, `confirm` asks
/// (and returns an error when the answer is no).
pub struct Prompt<'a> {
    pub show: &'a (dyn Fn(&str) + Sync),
    pub confirm: &'a (dyn Fn(&str) -> Result<()> + Sync),
}

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

/// Read the stack (and its template) by name; `None` when there is no such stack.
pub async fn describe(cfn: &Client, name: &str) -> Result<Option<Deployed>> {
    let out = match cfn.describe_stacks().stack_name(name).send().await {
        Ok(out) => out,
        Err(e) if events::is_missing_stack(&e) => return Ok(None),
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
        plan = self::plan(cfn, spec).await?;
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
            let (cs, events) = update(cfn, spec, &plan, &d, prompt, reporter, wait).await?;
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
fn failed(stack: &str, status: &str, log: &EventLog, what: &str) -> Error {
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

async fn set_termination_protection(cfn: &Client, stack_id: &str, on: bool) -> Result<()> {
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

/// The change set's name: derived from what it changes, never random.
pub fn change_set_name(spec: &StackSpec) -> String {
    let hash = sha1_hex(spec.body.as_bytes());
    format!("bootstrap-{}", &hash[..12])
}

#[allow(clippy::too_many_arguments)]
async fn update(
    cfn: &Client,
    spec: &StackSpec,
    plan: &StackPlan,
    d: &Deployed,
    prompt: &Prompt<'_>,
    reporter: &Reporter,
    wait: WaitConfig,
) -> Result<(ChangeSetSummary, Vec<events::Event>)> {
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
            delete_change_set(cfn, &d.stack_id, &name).await?;
            create()
                .await
                .map_err(|e| classify(&e, "creating the change set", &spec.name))?
                .id()
                .unwrap_or(&name)
                .to_string()
        }
        Err(e) => return Err(classify(&e, "creating the change set", &spec.name)),
    };
    reporter.progress(format!(
        "created change set {name}; waiting for CloudFormation to compute it"
    ));
    let (status, reason, mut changes) = wait_change_set(cfn, &id, &spec.name, wait).await?;
    // Name the properties where CloudFormation did not.
    for c in &mut changes {
        if c.fields.is_empty() {
            if let Some(local) = plan.changes.iter().find(|l| l.logical_id == c.logical_id) {
                c.fields = local.fields.clone();
            }
        }
    }
    let mut summary = ChangeSetSummary {
        name: name.clone(),
        id: id.clone(),
        changes,
        executed: false,
    };
    if status == ChangeSetStatus::Failed {
        let reason = reason.unwrap_or_default();
        delete_change_set(cfn, &d.stack_id, &id).await?;
        if reason.contains("didn't contain changes") || reason.contains("No updates") {
            reporter.progress("CloudFormation sees no change to make; change set deleted");
            return Ok((summary, Vec::new()));
        }
        return Err(Error::failure(format!("CloudFormation refused the change set: {reason}"))
            .resource(spec.name.clone())
            .code("FAILED")
            .hint("the template or the stack is in a state CloudFormation cannot update; see the message"));
    }
    (prompt.show)(&super::text::change_set_text(&summary));
    if let Err(e) = (prompt.confirm)(&format!(
        "Execute change set {name} on stack {}?",
        spec.name
    )) {
        delete_change_set(cfn, &d.stack_id, &id).await?;
        return Err(e);
    }
    let mut log = EventLog::starting_now(cfn, &d.stack_id).await?;
    cfn.execute_change_set()
        .change_set_name(&id)
        .stack_name(&d.stack_id)
        .retain_except_on_create(true)
        .send()
        .await
        .map_err(|e| classify(&e, "executing the change set", &spec.name))?;
    summary.executed = true;
    reporter.progress(format!(
        "executing change set {name} on stack {}",
        spec.name
    ));
    let status = events::wait_stack(
        cfn,
        &d.stack_id,
        &mut log,
        wait,
        reporter,
        "updating the stack",
    )
    .await?;
    if status != "UPDATE_COMPLETE" {
        return Err(failed(&spec.name, &status, &log, "updating the stack"));
    }
    Ok((summary, log.events))
}

async fn delete_change_set(cfn: &Client, stack_id: &str, name_or_id: &str) -> Result<()> {
    cfn.delete_change_set()
        .stack_name(stack_id)
        .change_set_name(name_or_id)
        .send()
        .await
        .map_err(|e| classify(&e, "deleting the change set", name_or_id))?;
    Ok(())
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
            for c in out.changes() {
                let Some(rc) = c.resource_change() else {
                    continue;
                };
                let mut fields: Vec<String> = Vec::new();
                for d in rc.details() {
                    if let Some(t) = d.target() {
                        let f = match (t.attribute().map(|a| a.as_str()), t.name()) {
                            (Some("Properties"), Some(n)) => format!("Properties.{n}"),
                            (Some(a), _) => a.to_string(),
                            (None, Some(n)) => n.to_string(),
                            (None, None) => continue,
                        };
                        if !fields.contains(&f) {
                            fields.push(f);
                        }
                    }
                }
                changes.push(Change {
                    action: rc
                        .action()
                        .map(|a| a.as_str().to_string())
                        .unwrap_or_default(),
                    logical_id: rc.logical_resource_id().unwrap_or_default().to_string(),
                    resource_type: rc.resource_type().unwrap_or_default().to_string(),
                    replacement: rc.replacement().map(|r| r.as_str().to_string()),
                    fields,
                });
            }
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
