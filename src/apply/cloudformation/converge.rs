//! `init` on one stack: walk its plan, each step confirmed by the caller before it is carried
//! out (create, re-create a failed first create, resume a failed rollback, update through a
//! change set that is computed, confirmed and only then executed, protect).

use std::collections::BTreeMap;

use aws_sdk_cloudformation::Client;
use serde::Serialize;

use super::changeset::{self, ChangeSetSummary, Computed};
use super::events::{Event, WaitConfig};
use super::stack as stack_apply;
use crate::apply::ask::{Ask, Confirm};
use crate::error::{Error, Result};
use crate::observe;
use crate::observe::stack::ObservedStack;
use crate::plan;
use crate::plan::stack::{StackAction, StackPlan, StackSpec};
use crate::progress::Progress;

/// What `init` did to the stack, and the stack afterwards.
#[derive(Debug, Clone, Serialize)]
pub struct StackOutcome {
    pub stack_id: String,
    pub status: String,
    /// What was done, in order ("created the stack", ...); empty when nothing was.
    pub done: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_set: Option<ChangeSetSummary>,
    pub events: Vec<Event>,
    pub outputs: BTreeMap<String, String>,
}

/// The stack as it is, and what `init` would do to it.
pub async fn read_plan(cfn: &Client, spec: &StackSpec) -> Result<StackPlan> {
    plan::stack::plan(spec, observe::stack::stack(cfn, &spec.name).await?)
}

/// `init`'s walk over a stack plan: each step confirmed, then carried out; what was done and
/// the events it raised, in order.
struct Walk<'a> {
    cfn: &'a Client,
    spec: &'a StackSpec,
    confirm: &'a Confirm<'a>,
    progress: &'a dyn Progress,
    wait: WaitConfig,
    done: Vec<String>,
    events: Vec<Event>,
}

/// Converge the stack as `sp` says, asking `confirm` before every change. After a resumed
/// rollback the stack is read and planned again.
pub async fn converge(
    cfn: &Client,
    spec: &StackSpec,
    sp: StackPlan,
    confirm: &Confirm<'_>,
    progress: &dyn Progress,
    wait: WaitConfig,
) -> Result<StackOutcome> {
    let mut w = Walk {
        cfn,
        spec,
        confirm,
        progress,
        wait,
        done: Vec::new(),
        events: Vec::new(),
    };
    confirm(Ask::StackPlan(&sp))?;
    let sp = match sp.action {
        StackAction::ResumeRollback => w.resume(&sp).await?,
        _ => sp,
    };
    let mut change_set = None;
    match sp.action {
        StackAction::Create => w.create().await?,
        StackAction::Recreate => w.recreate(&sp).await?,
        StackAction::Update => change_set = Some(w.update(&sp).await?),
        StackAction::ResumeRollback | StackAction::None => {}
    }
    if sp.enable_termination_protection {
        w.protect(&sp).await?;
    }
    let now = observe::stack::describe(cfn, &spec.name)
        .await?
        .ok_or_else(|| Error::failure("the stack is gone").resource(spec.name.clone()))?;
    Ok(StackOutcome {
        stack_id: now.stack_id,
        status: now.status,
        done: w.done,
        change_set,
        events: w.events,
        outputs: now.outputs,
    })
}

fn deployed<'a>(sp: &'a StackPlan, missing: &str) -> Result<&'a ObservedStack> {
    sp.deployed
        .as_ref()
        .ok_or_else(|| Error::failure(missing.to_string()))
}

impl Walk<'_> {
    fn ask(&self, question: String) -> Result<()> {
        (self.confirm)(Ask::StackStep(question))
    }

    fn did(&mut self, events: Vec<Event>, what: String) {
        self.events.extend(events);
        self.done.push(what);
    }

    /// Resume the failed rollback, then plan again (shown when there is more to do).
    async fn resume(&mut self, sp: &StackPlan) -> Result<StackPlan> {
        let (cfn, name) = (self.cfn, &self.spec.name);
        let stack_id = &deployed(sp, "no stack to resume")?.stack_id;
        self.ask(format!(
            "Resume the rollback of stack {name} (ContinueUpdateRollback)?"
        ))?;
        let events = stack_apply::resume_rollback(cfn, name, stack_id, self.progress, self.wait);
        self.did(events.await?, "resumed the failed rollback".to_string());
        let sp = read_plan(cfn, self.spec).await?;
        if sp.action == StackAction::ResumeRollback {
            let still = Error::failure("the stack is still UPDATE_ROLLBACK_FAILED");
            return Err(still.resource(name.clone()));
        }
        if sp.has_changes() {
            (self.confirm)(Ask::StackPlan(&sp))?;
        }
        Ok(sp)
    }

    async fn create(&mut self) -> Result<()> {
        let name = &self.spec.name;
        self.ask(format!("Create stack {name}?"))?;
        let events = stack_apply::create(self.cfn, self.spec, self.progress, self.wait).await?;
        self.did(events, format!("created stack {name}"));
        Ok(())
    }

    /// Delete the stack whose first create failed, then create it.
    async fn recreate(&mut self, sp: &StackPlan) -> Result<()> {
        let name = &self.spec.name;
        let stack = deployed(sp, "no stack to re-create")?;
        self.ask(format!("Delete the failed stack {name} and create it again? (it holds no resources: a failed first create removes what it made)"))?;
        let events = stack_apply::delete_failed(self.cfn, name, stack, self.progress, self.wait);
        self.did(
            events.await?,
            format!("deleted the rolled-back stack {name}"),
        );
        let events = stack_apply::create(self.cfn, self.spec, self.progress, self.wait).await?;
        self.did(events, format!("created stack {name}"));
        Ok(())
    }

    /// Update through a change set: computed, confirmed, then executed (or deleted).
    async fn update(&mut self, sp: &StackPlan) -> Result<ChangeSetSummary> {
        let (cfn, spec, progress, wait) = (self.cfn, self.spec, self.progress, self.wait);
        let stack_id = &deployed(sp, "no stack to update")?.stack_id;
        let mut cs =
            match changeset::create(cfn, spec, stack_id, &sp.changes, progress, wait).await? {
                Computed::NoChanges(cs) => return Ok(cs),
                Computed::Ready(cs) => cs,
            };
        let question = format!("Execute change set {} on stack {}?", cs.name, spec.name);
        let asked = Ask::ChangeSet {
            change_set: &cs,
            question,
        };
        if let Err(e) = (self.confirm)(asked) {
            changeset::delete(cfn, stack_id, &cs.id).await?;
            return Err(e);
        }
        let events = changeset::execute(cfn, spec, stack_id, &mut cs, progress, wait).await?;
        self.did(events, format!("executed change set {}", cs.name));
        Ok(cs)
    }

    /// Turn termination protection on (asked for when nothing else changes).
    async fn protect(&mut self, sp: &StackPlan) -> Result<()> {
        let name = &self.spec.name;
        if sp.action == StackAction::None {
            self.ask(format!("Turn on termination protection for stack {name}?"))?;
        }
        let id = sp.deployed.as_ref().map_or(name, |s| &s.stack_id);
        stack_apply::set_termination_protection(self.cfn, id, true).await?;
        self.progress.progress(&format!(
            "turned on termination protection for stack {name}"
        ));
        self.did(Vec::new(), "turned on termination protection".to_string());
        Ok(())
    }
}
