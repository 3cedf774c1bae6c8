//! `init`, in any mode: prepare, plan, carry the plan out with each step shown and confirmed
//! here ([`apply::init::apply`] asks, this answers), and report what exists and what to do
//! next ([`InitReport`], whose body is the mode's).

use super::prepare::{for_init, prepare, Prepared, Stale};
use super::Deployment;
use crate::apply::init::Applied;
use crate::apply::{self, Ask};
use crate::config::Settings;
use crate::error::Result;
use crate::model::DesiredState;
use crate::report::destroy as destroy_report;
use crate::report::stack::StackInitBody;
use crate::report::stack_text::{change_set_text, plan_text as stack_plan_text};
use crate::report::stackset::{plan_text as stackset_plan_text, StackSetInitBody};
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
    let planned = for_init(&p, settings, reporter, prune).await?;
    let confirm = |ask: Ask<'_>| confirm(settings, reporter, &p, yes, ask);
    let applied = apply::init::apply(&p.aws, &p.desired, planned, &confirm, reporter).await?;
    let (d, served, calls) = (&p.desired, &p.facts.thumbprints, p.aws.calls.summary());
    let report = match applied {
        Applied::Direct { planned, applied } => InitReport::Direct(Box::new(DirectInitBody {
            plan: PlanSummary::new(d, served, planned.diff, planned.stale),
            applied,
            pruned: planned.pruned(),
            outputs: InitOutputs::new(d),
            next_steps: next_steps_of(d),
            aws_calls: calls,
        })),
        Applied::Stack { planned, outcome } => InitReport::Stack(Box::new(StackInitBody::new(
            planned.plan,
            outcome,
            d,
            served,
            next_steps_of(d),
            calls,
        ))),
        Applied::StackSet { planned, outcome } => InitReport::StackSet(Box::new(
            StackSetInitBody::new(planned.plan, outcome, d, planned.symbolic, calls),
        )),
    };
    Ok(Output::of(&report, reporter))
}

const STACK_HINT: &str = "review `bootstrap plan --mode cloudformation`, then run `bootstrap init --mode cloudformation --yes`";

/// Show what `apply` is about to do and ask (`yes`: without asking).
fn confirm(
    settings: &Settings,
    reporter: &Reporter,
    p: &Prepared,
    yes: bool,
    ask: Ask<'_>,
) -> Result<()> {
    match ask {
        Ask::Direct { plan, pruning } => {
            let (paint, resources) = (reporter.painter(), &plan.resources);
            let stale = pruning.role_ops().len();
            let keys = crate::report::state_keys::of(&p.desired);
            let shown = format!(
                "{}{}{}{}{}{}{}\n",
                names_text(&settings.trust.bitbucket.resolved),
                verdict_text(&plan.verdicts, paint),
                destroy_report::plan_text(pruning, paint),
                plan_text(resources, paint),
                crate::report::state_keys::text(&keys, &p.desired.bucket.name, paint),
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
            )
        }
        Ask::StackPlan(sp) => {
            reporter.show_for_confirmation(yes, &stack_plan_text(sp));
            Ok(())
        }
        Ask::StackStep(question) => reporter.confirm(yes, "", &question, STACK_HINT),
        Ask::ChangeSet {
            change_set,
            question,
        } => reporter.confirm(yes, &change_set_text(change_set), &question, STACK_HINT),
        Ask::StackSet { plan, spec } => reporter.confirm(
            yes,
            &stackset_plan_text(plan, &spec.targets),
            &format!("Apply these changes to StackSet {}?", spec.name),
            "review `bootstrap plan --stackset NAME ...`, then run `bootstrap init --stackset NAME ... --yes`",
        ),
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
