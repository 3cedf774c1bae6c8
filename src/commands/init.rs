//! `init` in direct mode: prepare, show the plan and confirm, apply it (apply reads the
//! provider and the role back until IAM shows them as planned), judge the role as it reads
//! back, and report what exists and what to do next.

use super::setup::prepare;
use crate::apply;
use crate::config::Settings;
use crate::error::Result;
use crate::model::DesiredState;
use crate::plan;
use crate::report::{
    plan_text, summary_line, InitOutputs, InitReport, NextSteps, Output, PlanSummary, Reporter,
    RoleArn, Variables,
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
            })
            .collect(),
        pipeline_step: snippets.step,
        backend: snippets.backend,
        custom_audiences: !snippets.custom_audiences.is_empty(),
    }
}

pub(super) async fn run(settings: &Settings, reporter: &Reporter, yes: bool) -> Result<Output> {
    let p = prepare(settings, reporter).await?;
    let applied = p.plan.has_changes();
    if applied {
        let resources = &p.plan.resources;
        let shown = format!(
            "{}{}\n",
            plan_text(resources, reporter.painter()),
            summary_line(resources)
        );
        reporter.confirm(
            yes,
            &shown,
            "Apply these changes?",
            "review `bootstrap plan`, then run `bootstrap init --yes`",
        )?;
        let after =
            apply::direct::apply(&p.aws, &p.desired, &p.plan, &p.observed, reporter).await?;
        plan::checks::read_back_roles(&p.desired, &after.roles)?;
    }
    let report = InitReport {
        plan: PlanSummary::new(&p.desired, &p.facts.thumbprints, &p.plan),
        applied,
        outputs: InitOutputs::new(&p.desired),
        next_steps: next_steps_of(&p.desired),
        aws_calls: p.aws.calls.summary(),
    };
    Ok(Output::of(&report, reporter))
}
