//! `init` in direct mode: prepare, show the plan and confirm, apply it (apply reads the
//! provider and the role back until IAM shows them as planned), judge the role as it reads
//! back, and report what exists and what to do next.

use super::setup::{prepare, Prepared, Stale};
use crate::apply;
use crate::config::Settings;
use crate::error::Result;
use crate::model::DesiredState;
use crate::observe::destroy::{self as observe_destroy, Targets};
use crate::plan;
use crate::plan::destroy::{self as destroy_plan, Plan as DeletionPlan};
use crate::report::destroy as destroy_report;
use crate::report::{
    names_text, plan_text, summary_line, verdict_text, InitOutputs, InitReport, NextSteps, Output,
    PlanSummary, Reporter, RoleArn, Variables,
};

/// What to put in Bitbucket and Terraform after `init` (both modes), rendered from the same
/// templates as `bootstrap pipeline` (they cannot fail but for a bug in them).
pub(super) fn next_steps_of(d: &DesiredState) -> NextSteps {
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
async fn prune_plan(settings: &Settings, p: &Prepared, prune: bool) -> Result<DeletionPlan> {
    let names: Vec<String> = p.stale.iter().map(|r| r.name.clone()).collect();
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

pub(super) async fn run(
    settings: &Settings,
    reporter: &Reporter,
    yes: bool,
    prune_stale: bool,
) -> Result<Output> {
    let p = prepare(settings, reporter, Stale::Find).await?;
    let pruning = prune_plan(settings, &p, prune_stale).await?;
    if let Some(err) = pruning.refusal_error() {
        destroy_report::show_refused(reporter, &pruning);
        return Err(err);
    }
    let applied = p.plan.has_changes() || pruning.has_deletions();
    if applied {
        let resources = &p.plan.resources;
        let stale = pruning.role_ops().len();
        let shown = format!(
            "{}{}{}{}{}{}{}\n",
            names_text(&settings.bitbucket.resolved),
            verdict_text(&p.plan.verdicts, reporter.painter()),
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
        if p.plan.has_changes() {
            let after =
                apply::direct::apply(&p.aws, &p.desired, &p.plan, &p.observed, reporter).await?;
            plan::checks::read_back_roles(&p.desired, &after.roles)?;
        }
        if pruning.has_deletions() {
            prune(&p, &pruning, reporter).await?;
        }
    }
    let pruned = pruning
        .role_ops()
        .iter()
        .map(|(name, _)| (*name).to_string())
        .collect();
    let report = InitReport {
        plan: PlanSummary::new(&p.desired, &p.facts.thumbprints, &p.plan, &p.stale),
        applied,
        pruned,
        outputs: InitOutputs::new(&p.desired),
        next_steps: next_steps_of(&p.desired),
        aws_calls: p.aws.calls.summary(),
    };
    Ok(Output::of(&report, reporter))
}
