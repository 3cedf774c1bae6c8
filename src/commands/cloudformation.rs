//! `plan`, `init` and `status` with `--mode cloudformation`: the same settings, rendered as a
//! template and deployed as one stack (or, with `--stackset`, a StackSet: [`super::stackset`]).

use aws_sdk_cloudformation::Client;

use super::init::next_steps;
use super::render::{prepare, Prepared};
use super::stackset;
use crate::apply::cloudformation::changeset::{self, Computed};
use crate::apply::cloudformation::events::WaitConfig;
use crate::apply::cloudformation::stack as apply;
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::observe;
use crate::plan::stack::{self as plan, StackAction, StackPlan, StackSpec};
use crate::plan::stack_foreign::{foreign_policies, ForeignPolicy};
use crate::report::stack::{
    Context, MissingStack, PresentStack, StackInitReport, StackOutcome, StackOutputs,
    StackPlanReport, StackStatusReport,
};
use crate::report::stack_text::{change_set_text, plan_text};
use crate::report::{Output, Reporter};

/// The one command being run, in either deployment.
enum Step {
    Plan { detailed_exitcode: bool },
    Init { yes: bool },
    Status,
}

pub async fn plan(settings: &Settings, reporter: &Reporter, detailed: bool) -> Result<Output> {
    let step = Step::Plan {
        detailed_exitcode: detailed,
    };
    run(settings, reporter, step).await
}

pub async fn init(settings: &Settings, reporter: &Reporter, yes: bool) -> Result<Output> {
    run(settings, reporter, Step::Init { yes }).await
}

pub async fn status(settings: &Settings, reporter: &Reporter) -> Result<Output> {
    run(settings, reporter, Step::Status).await
}

/// Build the template for the account, then run `step` on the stack or the StackSet.
async fn run(settings: &Settings, reporter: &Reporter, step: Step) -> Result<Output> {
    let p = prepare(settings, reporter).await?;
    match (&settings.stackset, step) {
        (Some(ss), Step::Plan { detailed_exitcode }) => {
            stackset::plan(ss, p, reporter, detailed_exitcode).await
        }
        (Some(ss), Step::Init { yes }) => stackset::init(ss, p, reporter, yes).await,
        (Some(ss), Step::Status) => stackset::status(ss, p, reporter).await,
        (None, Step::Plan { detailed_exitcode }) => {
            stack_plan(settings, p, reporter, detailed_exitcode).await
        }
        (None, Step::Init { yes }) => stack_init(settings, p, reporter, yes).await,
        (None, Step::Status) => stack_status(settings, p, reporter).await,
    }
}

fn spec(settings: &Settings, p: &Prepared) -> StackSpec {
    StackSpec {
        name: settings.stack_name.clone(),
        body: p.body.clone(),
        template: p.template.body.clone(),
    }
}

/// The stack as it is, and what `init` would do to it.
pub async fn read_plan(cfn: &Client, spec: &StackSpec) -> Result<StackPlan> {
    plan::plan(spec, observe::stack::stack(cfn, &spec.name).await?)
}

/// A new stack cannot take over resources that exist outside it: refused before anything.
async fn refuse_existing(p: &Prepared, stack: &str) -> Result<()> {
    let o = observe::all(&p.aws, &p.desired).await?;
    plan::refuse_existing(&p.desired, &o, stack)
}

/// The policies on the live role that the template does not define.
async fn foreign(p: &Prepared) -> Result<Vec<ForeignPolicy>> {
    let role = &p.desired.role;
    let live = observe::role(&p.aws, &role.name, &role.inline_policy_name).await?;
    Ok(foreign_policies(role, live.as_ref()))
}

async fn stack_plan(
    settings: &Settings,
    p: Prepared,
    reporter: &Reporter,
    detailed_exitcode: bool,
) -> Result<Output> {
    let spec = spec(settings, &p);
    reporter.progress(format!("reading stack {}", spec.name));
    let sp = read_plan(&p.aws.cloudformation, &spec).await?;
    let foreign_policies = if sp.creates() {
        refuse_existing(&p, &spec.name).await?;
        Vec::new()
    } else {
        foreign(&p).await?
    };
    let report = StackPlanReport {
        context: Context::new(&p.desired, &p.facts.thumbprints),
        changes: sp.has_changes(),
        stack: sp,
        foreign_policies,
        aws_calls: p.aws.calls.summary(),
        role: p.desired.role.name.clone(),
        detailed_exitcode,
    };
    Ok(Output::of(&report, reporter))
}

async fn stack_init(
    settings: &Settings,
    p: Prepared,
    reporter: &Reporter,
    yes: bool,
) -> Result<Output> {
    let spec = spec(settings, &p);
    let cfn = &p.aws.cloudformation;
    reporter.progress(format!("reading stack {}", spec.name));
    let sp = read_plan(cfn, &spec).await?;
    if sp.creates() {
        refuse_existing(&p, &spec.name).await?;
    }
    let outcome = match sp.has_changes() {
        true => Some(converge(cfn, &spec, sp.clone(), yes, reporter, WaitConfig::default()).await?),
        false => None,
    };
    let stack_outputs = match (&outcome, &sp.deployed) {
        (Some(o), _) => o.outputs.clone(),
        (None, Some(d)) => d.outputs.clone(),
        (None, None) => Default::default(),
    };
    let (next_steps, next_text) = next_steps(&p.desired);
    let report = StackInitReport {
        context: Context::new(&p.desired, &p.facts.thumbprints),
        changes: sp.has_changes(),
        applied: outcome.as_ref().is_some_and(|o| !o.done.is_empty()),
        stack: sp,
        result: outcome,
        outputs: StackOutputs::new(&p.desired, &stack_outputs),
        next_steps,
        aws_calls: p.aws.calls.summary(),
        next_text,
    };
    Ok(Output::of(&report, reporter))
}

async fn stack_status(settings: &Settings, p: Prepared, reporter: &Reporter) -> Result<Output> {
    let spec = spec(settings, &p);
    let cfn = &p.aws.cloudformation;
    reporter.progress(format!("reading stack {}", spec.name));
    let sp = plan::for_status(&spec, observe::stack::stack(cfn, &spec.name).await?)?;
    if sp.status.is_none() {
        let report = StackStatusReport::Missing(MissingStack {
            mode: "cloudformation",
            stack: spec.name,
            exists: false,
            in_sync: false,
            aws_calls: p.aws.calls.summary(),
        });
        return Ok(Output::of(&report, reporter));
    }
    let stack_id = sp.deployed.as_ref().map_or(&spec.name, |d| &d.stack_id);
    let live = observe::stack::resources(cfn, stack_id, &spec.name).await?;
    let resources = plan::resource_states(&p.template.resources(), &live);
    let foreign_policies = foreign(&p).await?;
    let deployed_outputs = sp.deployed.as_ref().map(|d| d.outputs.clone());
    let outputs = StackOutputs::new(&p.desired, &deployed_outputs.unwrap_or_default());
    let role = p.desired.role.name.clone();
    let present = PresentStack::new(
        sp,
        resources,
        foreign_policies,
        outputs,
        role,
        p.aws.calls.summary(),
    );
    Ok(Output::of(
        &StackStatusReport::Present(Box::new(present)),
        reporter,
    ))
}

const CONFIRM_HINT: &str = "review `bootstrap plan --mode cloudformation`, then run `bootstrap init --mode cloudformation --yes`";

/// What `init` has done to the stack so far.
#[derive(Default)]
struct Done {
    done: Vec<String>,
    events: Vec<observe::stack::Event>,
}

/// Converge the stack as `sp` says, asking before every change (`yes`: without asking): each
/// step shown, confirmed, then carried out. After a resumed rollback the stack is read and
/// planned again.
pub async fn converge(
    cfn: &Client,
    spec: &StackSpec,
    sp: StackPlan,
    yes: bool,
    reporter: &Reporter,
    wait: WaitConfig,
) -> Result<StackOutcome> {
    let ask = |question: String| reporter.confirm(yes, "", &question, CONFIRM_HINT);
    reporter.show_for_confirmation(yes, &plan_text(&sp));
    let mut d = Done::default();
    let sp = match sp.action {
        StackAction::ResumeRollback => {
            let stack = deployed(&sp, "no stack to resume")?;
            ask(format!(
                "Resume the rollback of stack {} (ContinueUpdateRollback)?",
                spec.name
            ))?;
            let events = apply::resume_rollback(cfn, &spec.name, &stack.stack_id, reporter, wait);
            d.events.extend(events.await?);
            d.done.push("resumed the failed rollback".to_string());
            replan(cfn, spec, yes, reporter).await?
        }
        _ => sp,
    };
    let mut change_set = None;
    match sp.action {
        StackAction::Create => {
            ask(format!("Create stack {}?", spec.name))?;
            d.events
                .extend(apply::create(cfn, spec, reporter, wait).await?);
            d.done.push(format!("created stack {}", spec.name));
        }
        StackAction::Recreate => {
            let stack = deployed(&sp, "no stack to re-create")?;
            ask(format!("Delete the failed stack {} and create it again? (it holds no resources: a failed first create removes what it made)", spec.name))?;
            d.events
                .extend(apply::delete_failed(cfn, &spec.name, stack, reporter, wait).await?);
            d.done
                .push(format!("deleted the rolled-back stack {}", spec.name));
            d.events
                .extend(apply::create(cfn, spec, reporter, wait).await?);
            d.done.push(format!("created stack {}", spec.name));
        }
        StackAction::Update => {
            let stack_id = &deployed(&sp, "no stack to update")?.stack_id;
            change_set = Some(update(cfn, spec, &sp, stack_id, yes, reporter, wait, &mut d).await?);
        }
        StackAction::ResumeRollback | StackAction::None => {}
    }
    if sp.enable_termination_protection {
        if sp.action == StackAction::None {
            ask(format!(
                "Turn on termination protection for stack {}?",
                spec.name
            ))?;
        }
        let id = sp.deployed.as_ref().map_or(&spec.name, |s| &s.stack_id);
        apply::set_termination_protection(cfn, id, true).await?;
        reporter.progress(format!(
            "turned on termination protection for stack {}",
            spec.name
        ));
        d.done.push("turned on termination protection".to_string());
    }
    let now = observe::stack::describe(cfn, &spec.name)
        .await?
        .ok_or_else(|| Error::failure("the stack is gone").resource(spec.name.clone()))?;
    Ok(StackOutcome {
        stack_id: now.stack_id,
        status: now.status,
        done: d.done,
        change_set,
        events: d.events,
        outputs: now.outputs,
    })
}

fn deployed<'a>(sp: &'a StackPlan, missing: &str) -> Result<&'a observe::stack::ObservedStack> {
    sp.deployed
        .as_ref()
        .ok_or_else(|| Error::failure(missing.to_string()))
}

/// The plan after a resumed rollback, shown when there is more to do.
async fn replan(
    cfn: &Client,
    spec: &StackSpec,
    yes: bool,
    reporter: &Reporter,
) -> Result<StackPlan> {
    let sp = read_plan(cfn, spec).await?;
    if sp.action == StackAction::ResumeRollback {
        return Err(
            Error::failure("the stack is still UPDATE_ROLLBACK_FAILED").resource(spec.name.clone())
        );
    }
    if sp.has_changes() {
        reporter.show_for_confirmation(yes, &plan_text(&sp));
    }
    Ok(sp)
}

/// Update through a change set: computed, shown, confirmed, executed (or deleted on "no").
#[allow(clippy::too_many_arguments)]
async fn update(
    cfn: &Client,
    spec: &StackSpec,
    sp: &StackPlan,
    stack_id: &str,
    yes: bool,
    reporter: &Reporter,
    wait: WaitConfig,
    d: &mut Done,
) -> Result<changeset::ChangeSetSummary> {
    let mut cs = match changeset::create(cfn, spec, stack_id, &sp.changes, reporter, wait).await? {
        Computed::NoChanges(cs) => return Ok(cs),
        Computed::Ready(cs) => cs,
    };
    let question = format!("Execute change set {} on stack {}?", cs.name, spec.name);
    if let Err(e) = reporter.confirm(yes, &change_set_text(&cs), &question, CONFIRM_HINT) {
        changeset::delete(cfn, stack_id, &cs.id).await?;
        return Err(e);
    }
    d.events
        .extend(changeset::execute(cfn, spec, stack_id, &mut cs, reporter, wait).await?);
    d.done.push(format!("executed change set {}", cs.name));
    Ok(cs)
}
