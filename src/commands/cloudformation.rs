//! `plan`, `init` and `status` with `--mode cloudformation`: the same settings, rendered as a
//! template and deployed as one stack.

use aws_sdk_cloudformation::Client;

use super::init::next_steps_of;
use super::render::{prepare, Prepared};
use crate::apply::cloudformation::changeset::{self, ChangeSetSummary, Computed};
use crate::apply::cloudformation::events::WaitConfig;
use crate::apply::cloudformation::stack as apply;
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::observe;
use crate::observe::stack::{Event, ObservedStack};
use crate::observe::ObservedRole;
use crate::plan::stack::{self as plan, ResourceState, StackAction, StackPlan, StackSpec};
use crate::plan::stack_foreign::{foreign_policies, ForeignPolicy};
use crate::plan::stack_roles::{dropped_note, refuse_role_losses, role_losses};
use crate::plan::verdicts::{role_verdicts, TrustVerdict};
use crate::report::stack::{StackInitReport, StackOutcome, StackPlanReport};
use crate::report::stack_status::StackStatusReport;
use crate::report::stack_text::{change_set_text, plan_text};
use crate::report::{Output, Reporter};

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

/// The policies on the live roles that the template does not define, role by role.
fn foreign_on(p: &Prepared, live: &[Option<ObservedRole>]) -> Vec<ForeignPolicy> {
    let found = p.desired.roles.iter().zip(live);
    found
        .flat_map(|(role, live)| foreign_policies(role, live.as_ref()))
        .collect()
}

/// A role of the deployed stack whose Terraform state moves to another prefix: said before
/// anything changes (bootstrap moves no state object).
fn warn_state_moves(p: &Prepared, sp: &StackPlan, reporter: &Reporter) {
    for w in crate::plan::state_moves::in_stack(&p.desired, sp.deployed.as_ref()) {
        reporter.warn(w);
    }
}

/// The policies on the live roles that the template does not define, and the verdicts on
/// their trust policies, live and planned.
async fn foreign_on_roles(p: &Prepared) -> Result<(Vec<ForeignPolicy>, Vec<TrustVerdict>)> {
    let live = observe::roles(&p.aws, &p.desired).await?;
    Ok((foreign_on(p, &live), role_verdicts(&p.desired, &live)))
}

/// Whether each resource of the stack exists, read from its own service: a resource deleted
/// outside the stack is still listed by CloudFormation. `roles` are the configured roles as
/// read; other kinds than roles, the provider, the bucket and the table are not read.
async fn mark_live(
    p: &Prepared,
    resources: &mut [ResourceState],
    roles: &[Option<ObservedRole>],
) -> Result<()> {
    for r in resources.iter_mut().filter(|r| !r.physical_id.is_empty()) {
        let id = r.physical_id.as_str();
        r.exists = match r.resource_type.as_str() {
            "AWS::IAM::Role" => p
                .desired
                .roles
                .iter()
                .position(|d| d.name == id)
                .and_then(|i| roles.get(i))
                .map(Option::is_some),
            "AWS::IAM::OIDCProvider" => Some(observe::provider(&p.aws, id).await?.is_some()),
            "AWS::S3::Bucket" => Some(observe::bucket(&p.aws, id).await?.is_some()),
            "AWS::DynamoDB::Table" => Some(observe::table(&p.aws, id).await?.is_some()),
            _ => None,
        };
    }
    Ok(())
}

/// How `init` runs the update that deletes the stack's roles no longer configured.
const INIT_CFN: &str = "bootstrap init --mode cloudformation";

/// The stack as it is, and what `init` would do to it. An update that would move one of the
/// stack's roles to another logical id is refused; one that deletes roles the settings no
/// longer have is shown (a note) and, unless `prune` allows it, refused.
fn checked_plan(p: &Prepared, spec: &StackSpec, prune: bool) -> Result<StackPlan> {
    let mut sp = plan::plan(spec, p.deployed.stack.clone())?;
    if !sp.creates() {
        let deployed = sp
            .deployed
            .as_ref()
            .and_then(|d| d.template_body.as_deref());
        let losses = role_losses(deployed, &spec.template);
        refuse_role_losses("stack", &spec.name, &losses, prune, INIT_CFN)?;
        sp.notes.extend(dropped_note(&losses));
    }
    Ok(sp)
}

pub async fn plan(settings: &Settings, reporter: &Reporter, detailed: bool) -> Result<Output> {
    let p = prepare(settings, reporter).await?;
    let spec = spec(settings, &p);
    reporter.progress(format!("reading stack {}", spec.name));
    // The plan shows the roles an update deletes; init asks for --prune to do it.
    let sp = checked_plan(&p, &spec, true)?;
    warn_state_moves(&p, &sp, reporter);
    let (foreign, verdicts) = if sp.creates() {
        refuse_existing(&p, &spec.name).await?;
        (Vec::new(), role_verdicts(&p.desired, &[]))
    } else {
        foreign_on_roles(&p).await?
    };
    let (d, served, calls) = (&p.desired, &p.facts.thumbprints, p.aws.calls.summary());
    let report =
        StackPlanReport::new(sp, foreign, d, served, calls, detailed).with_verdicts(verdicts);
    Ok(Output::of(&report, reporter))
}

pub async fn init(
    settings: &Settings,
    reporter: &Reporter,
    yes: bool,
    prune: bool,
) -> Result<Output> {
    let p = prepare(settings, reporter).await?;
    let spec = spec(settings, &p);
    let cfn = &p.aws.cloudformation;
    reporter.progress(format!("reading stack {}", spec.name));
    let sp = checked_plan(&p, &spec, prune)?;
    if sp.creates() {
        refuse_existing(&p, &spec.name).await?;
    }
    warn_state_moves(&p, &sp, reporter);
    let outcome = if sp.has_changes() {
        let wait = WaitConfig::default();
        Some(converge(cfn, &spec, sp.clone(), yes, reporter, wait).await?)
    } else {
        None
    };
    // The stack's roles as they are: an ARN is handed on only for a role that exists.
    let live = observe::roles(&p.aws, &p.desired).await?;
    plan::refuse_missing_roles(&spec.name, &p.desired, &live)?;
    let (d, served, next) = (&p.desired, &p.facts.thumbprints, next_steps_of(&p.desired));
    let report = StackInitReport::new(sp, outcome, d, served, next, p.aws.calls.summary());
    Ok(Output::of(&report, reporter))
}

pub async fn status(settings: &Settings, reporter: &Reporter, detailed: bool) -> Result<Output> {
    let p = prepare(settings, reporter).await?;
    let spec = spec(settings, &p);
    let cfn = &p.aws.cloudformation;
    reporter.progress(format!("reading stack {}", spec.name));
    let sp = plan::for_status(&spec, p.deployed.stack.clone())?;
    if sp.status.is_none() {
        // What init would meet: resources of these names outside any stack stop a create.
        let o = observe::all(&p.aws, &p.desired).await?;
        let blocked = plan::refuse_existing(&p.desired, &o, &spec.name).err();
        let report =
            StackStatusReport::missing(spec.name, blocked, p.aws.calls.summary(), detailed);
        return Ok(Output::of(&report, reporter));
    }
    let stack_id = sp.deployed.as_ref().map_or(&spec.name, |d| &d.stack_id);
    let listed = observe::stack::resources(cfn, stack_id, &spec.name).await?;
    let mut resources = plan::resource_states(&p.template.resources(), &listed);
    let roles = observe::roles(&p.aws, &p.desired).await?;
    mark_live(&p, &mut resources, &roles).await?;
    let foreign = foreign_on(&p, &roles);
    let verdicts = role_verdicts(&p.desired, &roles);
    let calls = p.aws.calls.summary();
    let report = StackStatusReport::present(sp, resources, foreign, &p.desired, calls, detailed)
        .with_verdicts(verdicts);
    Ok(Output::of(&report, reporter))
}

/// `init`'s walk over a stack plan: each step shown, confirmed (`yes`: without asking), then
/// carried out; what was done and the events it raised, in order.
struct Walk<'a> {
    cfn: &'a Client,
    spec: &'a StackSpec,
    yes: bool,
    reporter: &'a Reporter,
    wait: WaitConfig,
    done: Vec<String>,
    events: Vec<Event>,
}

/// Converge the stack as `sp` says, asking before every change. After a resumed rollback the
/// stack is read and planned again.
pub async fn converge(
    cfn: &Client,
    spec: &StackSpec,
    sp: StackPlan,
    yes: bool,
    reporter: &Reporter,
    wait: WaitConfig,
) -> Result<StackOutcome> {
    let mut w = Walk {
        cfn,
        spec,
        yes,
        reporter,
        wait,
        done: Vec::new(),
        events: Vec::new(),
    };
    reporter.show_for_confirmation(yes, &plan_text(&sp));
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

const CONFIRM_HINT: &str = "review `bootstrap plan --mode cloudformation`, then run `bootstrap init --mode cloudformation --yes`";

fn deployed<'a>(sp: &'a StackPlan, missing: &str) -> Result<&'a ObservedStack> {
    sp.deployed
        .as_ref()
        .ok_or_else(|| Error::failure(missing.to_string()))
}

impl Walk<'_> {
    fn ask(&self, question: &str) -> Result<()> {
        self.reporter.confirm(self.yes, "", question, CONFIRM_HINT)
    }

    fn did(&mut self, events: Vec<Event>, what: String) {
        self.events.extend(events);
        self.done.push(what);
    }

    /// Resume the failed rollback, then plan again (shown when there is more to do).
    async fn resume(&mut self, sp: &StackPlan) -> Result<StackPlan> {
        let (cfn, name) = (self.cfn, &self.spec.name);
        let stack_id = &deployed(sp, "no stack to resume")?.stack_id;
        self.ask(&format!(
            "Resume the rollback of stack {name} (ContinueUpdateRollback)?"
        ))?;
        let events = apply::resume_rollback(cfn, name, stack_id, self.reporter, self.wait);
        self.did(events.await?, "resumed the failed rollback".to_string());
        let sp = read_plan(cfn, self.spec).await?;
        if sp.action == StackAction::ResumeRollback {
            let still = Error::failure("the stack is still UPDATE_ROLLBACK_FAILED");
            return Err(still.resource(name.clone()));
        }
        if sp.has_changes() {
            self.reporter
                .show_for_confirmation(self.yes, &plan_text(&sp));
        }
        Ok(sp)
    }

    async fn create(&mut self) -> Result<()> {
        let name = &self.spec.name;
        self.ask(&format!("Create stack {name}?"))?;
        let events = apply::create(self.cfn, self.spec, self.reporter, self.wait).await?;
        self.did(events, format!("created stack {name}"));
        Ok(())
    }

    /// Delete the stack whose first create failed, then create it.
    async fn recreate(&mut self, sp: &StackPlan) -> Result<()> {
        let name = &self.spec.name;
        let stack = deployed(sp, "no stack to re-create")?;
        self.ask(&format!("Delete the failed stack {name} and create it again? (it holds no resources: a failed first create removes what it made)"))?;
        let events = apply::delete_failed(self.cfn, name, stack, self.reporter, self.wait);
        self.did(
            events.await?,
            format!("deleted the rolled-back stack {name}"),
        );
        let events = apply::create(self.cfn, self.spec, self.reporter, self.wait).await?;
        self.did(events, format!("created stack {name}"));
        Ok(())
    }

    /// Update through a change set: computed, shown, confirmed, then executed (or deleted).
    async fn update(&mut self, sp: &StackPlan) -> Result<ChangeSetSummary> {
        let (cfn, spec, reporter, wait) = (self.cfn, self.spec, self.reporter, self.wait);
        let stack_id = &deployed(sp, "no stack to update")?.stack_id;
        let mut cs =
            match changeset::create(cfn, spec, stack_id, &sp.changes, reporter, wait).await? {
                Computed::NoChanges(cs) => return Ok(cs),
                Computed::Ready(cs) => cs,
            };
        let question = format!("Execute change set {} on stack {}?", cs.name, spec.name);
        if let Err(e) = reporter.confirm(self.yes, &change_set_text(&cs), &question, CONFIRM_HINT) {
            changeset::delete(cfn, stack_id, &cs.id).await?;
            return Err(e);
        }
        let events = changeset::execute(cfn, spec, stack_id, &mut cs, reporter, wait).await?;
        self.did(events, format!("executed change set {}", cs.name));
        Ok(cs)
    }

    /// Turn termination protection on (asked for when nothing else changes).
    async fn protect(&mut self, sp: &StackPlan) -> Result<()> {
        let name = &self.spec.name;
        if sp.action == StackAction::None {
            self.ask(&format!("Turn on termination protection for stack {name}?"))?;
        }
        let id = sp.deployed.as_ref().map_or(name, |s| &s.stack_id);
        apply::set_termination_protection(self.cfn, id, true).await?;
        self.reporter
            .progress(format!("turned on termination protection for stack {name}"));
        self.did(Vec::new(), "turned on termination protection".to_string());
        Ok(())
    }
}
