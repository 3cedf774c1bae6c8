//! `init`, in any mode: prepare, show what will change and confirm, carry it out, and report
//! what exists and what to do next ([`InitReport`], whose body is the mode's). In direct mode
//! apply reads the provider and the role back until IAM shows them as planned, and the role
//! is judged as it reads back; in CloudFormation mode the stack is created, or updated
//! through a change set that is computed, shown, confirmed and only then executed; a
//! StackSet's template goes to every target.

use aws_sdk_cloudformation::Client;

use super::prepare::{prepare, DirectStaged, Prepared, StackSetStaged, StackStaged, Staged, Stale};
use super::Deployment;
use crate::apply;
use crate::apply::cloudformation::changeset::{self, ChangeSetSummary, Computed};
use crate::apply::cloudformation::events::WaitConfig;
use crate::apply::cloudformation::stack as stack_apply;
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::model::DesiredState;
use crate::observe;
use crate::observe::destroy::{self as observe_destroy, Targets};
use crate::observe::stack::{Event, ObservedStack};
use crate::observe::stale::StaleRole;
use crate::plan;
use crate::plan::destroy::{self as destroy_plan, Plan as DeletionPlan};
use crate::plan::stack::{StackAction, StackPlan, StackSpec};
use crate::report::destroy as destroy_report;
use crate::report::stack::{StackInitBody, StackOutcome};
use crate::report::stack_text::{change_set_text, plan_text as stack_plan_text};
use crate::report::stackset::{plan_text as stackset_plan_text, StackSetInitBody, StackSetOutcome};
use crate::report::{
    names_text, plan_text, summary_line, verdict_text, DirectInitBody, InitOutputs, InitReport,
    NextSteps, Output, PlanSummary, Reporter, RoleArn, Variables,
};

pub(super) async fn run(
    settings: &Settings,
    reporter: &Reporter,
    mode: Deployment,
    yes: bool,
    prune: bool,
) -> Result<Output> {
    let p = prepare(settings, reporter, mode, Stale::Find).await?;
    match &p.staged {
        Staged::Direct(d) => direct(settings, reporter, &p, d, yes, prune).await,
        Staged::Stack(s) => {
            let body = stack(&p, s, reporter, yes, prune).await?;
            Ok(Output::of(&InitReport::Stack(Box::new(body)), reporter))
        }
        Staged::StackSet(s) => {
            let body = stackset(&p, s, reporter, yes, prune).await?;
            Ok(Output::of(&InitReport::StackSet(Box::new(body)), reporter))
        }
    }
}

/// What to put in Bitbucket and Terraform after `init` (both modes), rendered from the same
/// templates as `bootstrap pipeline` (they cannot fail but for a bug in them).
fn next_steps_of(d: &DesiredState) -> NextSteps {
    let snippets = crate::model::pipeline::snippets(d)
        .unwrap_or_else(|e| crate::model::pipeline::Snippets::unavailable(&e));
    NextSteps {
        variables: Variables {
            role_arn: d.roles.first().map(|r| r.arn.clone()).unwrap_or_default(),
            region: d.account.region.clone(),
        },
        roles: d
            .roles
            .iter()
            .map(|r| RoleArn {
                name: r.name.clone(),
                access: r.access.word(),
                arn: r.arn.clone(),
                environments: r.environments.clone(),
            })
            .collect(),
        pipeline_step: snippets.step,
        backend: snippets.backend,
        custom_audiences: !snippets.custom_audiences.is_empty(),
    }
}

/// `--prune`: the deletion of the stale roles, planned as `destroy` plans a role's (empty
/// without `--prune` or without stale roles).
async fn prune_plan(
    settings: &Settings,
    p: &Prepared,
    stale: &[StaleRole],
    prune: bool,
) -> Result<DeletionPlan> {
    let names: Vec<String> = stale.iter().map(|r| r.name.clone()).collect();
    if !prune || names.is_empty() {
        return Ok(DeletionPlan { items: Vec::new() });
    }
    let configured = settings.roles.iter().map(|r| r.name.clone()).collect();
    let t = Targets::prune(
        p.desired.account.clone(),
        p.desired.provider.arn.clone(),
        names,
        configured,
        p.desired.set.clone(),
    );
    let found = observe_destroy::roles(&p.aws, &t.role_names, &t.provider_arn).await?;
    Ok(destroy_plan::prune(&t, &found))
}

/// Delete the stale roles as planned, then read them back: none may remain.
async fn prune(p: &Prepared, pruning: &DeletionPlan, reporter: &Reporter) -> Result<()> {
    let roles = pruning.role_ops();
    apply::direct::destroy::delete_roles(&p.aws.iam, &roles, reporter).await?;
    let names: Vec<String> = roles.iter().map(|(name, _)| (*name).to_string()).collect();
    let after = observe_destroy::roles(&p.aws, &names, &p.desired.provider.arn).await?;
    destroy_plan::check_pruned(pruning, &after)
}

/// Direct mode: the plan (and `--prune`'s deletions) shown, confirmed, applied and read back.
async fn direct(
    settings: &Settings,
    reporter: &Reporter,
    p: &Prepared,
    d: &DirectStaged,
    yes: bool,
    prune_stale: bool,
) -> Result<Output> {
    let pruning = prune_plan(settings, p, &d.stale, prune_stale).await?;
    if let Some(err) = pruning.refusal_error() {
        destroy_report::show_refused(reporter, &pruning);
        return Err(err);
    }
    let applied = d.plan.has_changes() || pruning.has_deletions();
    if applied {
        let resources = &d.plan.resources;
        let stale = pruning.role_ops().len();
        let shown = format!(
            "{}{}{}{}{}{}{}\n",
            names_text(&settings.trust.bitbucket.resolved),
            verdict_text(&d.plan.verdicts, reporter.painter()),
            destroy_report::plan_text(&pruning, reporter.painter()),
            plan_text(resources, reporter.painter()),
            crate::report::state_keys::text(
                &crate::report::state_keys::of(&p.desired),
                &p.desired.bucket.name,
                reporter.painter()
            ),
            summary_line(resources),
            if stale > 0 {
                format!("; {stale} stale role(s) to delete (--prune)")
            } else {
                String::new()
            }
        );
        reporter.confirm(
            yes,
            &shown,
            "Apply these changes?",
            "review `bootstrap plan`, then run `bootstrap init --yes`",
        )?;
        if d.plan.has_changes() {
            let after =
                apply::direct::apply(&p.aws, &p.desired, &d.plan, &d.observed, reporter).await?;
            plan::checks::read_back_roles(&p.desired, &after.roles)?;
        }
        if pruning.has_deletions() {
            prune(p, &pruning, reporter).await?;
        }
    }
    let pruned = pruning
        .role_ops()
        .iter()
        .map(|(name, _)| (*name).to_string())
        .collect();
    let report = InitReport::Direct(Box::new(DirectInitBody {
        plan: PlanSummary::new(&p.desired, &p.facts.thumbprints, &d.plan, &d.stale),
        applied,
        pruned,
        outputs: InitOutputs::new(&p.desired),
        next_steps: next_steps_of(&p.desired),
        aws_calls: p.aws.calls.summary(),
    }));
    Ok(Output::of(&report, reporter))
}

/// One stack: created, or updated through a change set, each step confirmed; then the
/// stack's roles as they are (an ARN is handed on only for a role that exists).
async fn stack(
    p: &Prepared,
    s: &StackStaged,
    reporter: &Reporter,
    yes: bool,
    prune: bool,
) -> Result<StackInitBody> {
    let (spec, cfn) = (&s.spec, &p.aws.cloudformation);
    reporter.progress(format!("reading stack {}", spec.name));
    let sp = plan::stack_roles::checked_stack_plan(spec, s.deployed.clone(), prune)?;
    if sp.creates() {
        p.refuse_existing(&spec.name).await?;
    }
    for w in plan::state_moves::in_stack(&p.desired, sp.deployed.as_ref()) {
        reporter.warn(w);
    }
    let outcome = if sp.has_changes() {
        let wait = WaitConfig::default();
        Some(converge(cfn, spec, sp.clone(), yes, reporter, wait).await?)
    } else {
        None
    };
    let live = observe::roles(&p.aws, &p.desired).await?;
    plan::stack::refuse_missing_roles(&spec.name, &p.desired, &live)?;
    let (d, served, next) = (&p.desired, &p.facts.thumbprints, next_steps_of(&p.desired));
    let calls = p.aws.calls.summary();
    Ok(StackInitBody::new(sp, outcome, d, served, next, calls))
}

/// A StackSet: its plan shown and confirmed, then the template and the instances deployed.
async fn stackset(
    p: &Prepared,
    s: &StackSetStaged,
    reporter: &Reporter,
    yes: bool,
    prune: bool,
) -> Result<StackSetInitBody> {
    let (spec, cfn) = (&s.spec, &p.aws.cloudformation);
    reporter.progress(format!("reading StackSet {}", spec.name));
    let plan = plan::stackset::checked_plan(spec, s.deployed.clone(), prune)?;
    let outcome = if plan.has_changes() {
        reporter.confirm(
            yes,
            &stackset_plan_text(&plan, &spec.targets),
            &format!("Apply these changes to StackSet {}?", spec.name),
            "review `bootstrap plan --stackset NAME ...`, then run `bootstrap init --stackset NAME ... --yes`",
        )?;
        let wait = WaitConfig::default();
        let applied = apply::cloudformation::stackset::apply(cfn, spec, &plan, reporter, wait);
        let applied = applied.await?;
        let instances = observe::stackset::instances(cfn, &spec.name).await?;
        Some(StackSetOutcome { applied, instances })
    } else {
        None
    };
    let (d, symbolic, calls) = (&p.desired, &s.template.desired, p.aws.calls.summary());
    Ok(StackSetInitBody::new(plan, outcome, d, symbolic, calls))
}

/// The stack as it is, and what `init` would do to it.
pub async fn read_plan(cfn: &Client, spec: &StackSpec) -> Result<StackPlan> {
    plan::stack::plan(spec, observe::stack::stack(cfn, &spec.name).await?)
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
    reporter.show_for_confirmation(yes, &stack_plan_text(&sp));
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
        let events = stack_apply::resume_rollback(cfn, name, stack_id, self.reporter, self.wait);
        self.did(events.await?, "resumed the failed rollback".to_string());
        let sp = read_plan(cfn, self.spec).await?;
        if sp.action == StackAction::ResumeRollback {
            let still = Error::failure("the stack is still UPDATE_ROLLBACK_FAILED");
            return Err(still.resource(name.clone()));
        }
        if sp.has_changes() {
            self.reporter
                .show_for_confirmation(self.yes, &stack_plan_text(&sp));
        }
        Ok(sp)
    }

    async fn create(&mut self) -> Result<()> {
        let name = &self.spec.name;
        self.ask(&format!("Create stack {name}?"))?;
        let events = stack_apply::create(self.cfn, self.spec, self.reporter, self.wait).await?;
        self.did(events, format!("created stack {name}"));
        Ok(())
    }

    /// Delete the stack whose first create failed, then create it.
    async fn recreate(&mut self, sp: &StackPlan) -> Result<()> {
        let name = &self.spec.name;
        let stack = deployed(sp, "no stack to re-create")?;
        self.ask(&format!("Delete the failed stack {name} and create it again? (it holds no resources: a failed first create removes what it made)"))?;
        let events = stack_apply::delete_failed(self.cfn, name, stack, self.reporter, self.wait);
        self.did(
            events.await?,
            format!("deleted the rolled-back stack {name}"),
        );
        let events = stack_apply::create(self.cfn, self.spec, self.reporter, self.wait).await?;
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
        stack_apply::set_termination_protection(self.cfn, id, true).await?;
        self.reporter
            .progress(format!("turned on termination protection for stack {name}"));
        self.did(Vec::new(), "turned on termination protection".to_string());
        Ok(())
    }
}
