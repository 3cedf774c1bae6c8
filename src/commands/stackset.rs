//! `plan`, `init` and `status` with `--stackset NAME`: the template deployed to many accounts
//! by CloudFormation StackSets.

use super::render::Prepared;
use crate::apply::cloudformation::events::WaitConfig;
use crate::apply::cloudformation::stackset as apply;
use crate::config::StackSetSettings;
use crate::error::Result;
use crate::observe::stackset as observe;
use crate::plan::stackset::{self as plan, StackSetPlan, StackSetSpec};
use crate::report::stackset::{
    plan_text, StackSetInitReport, StackSetOutcome, StackSetPlanReport, StackSetStatusReport,
};
use crate::report::{Output, Reporter};

fn spec(ss: &StackSetSettings, p: &Prepared) -> StackSetSpec {
    StackSetSpec {
        name: ss.name.clone(),
        body: p.body.clone(),
        template: p.template.body.clone(),
        targets: ss.targets.clone(),
        regions: ss.regions.clone(),
    }
}

/// The StackSet as it is, and its plan.
async fn read_plan(p: &Prepared, spec: &StackSetSpec, reporter: &Reporter) -> Result<StackSetPlan> {
    reporter.progress(format!("reading StackSet {}", spec.name));
    let observed = observe::stackset(&p.aws.cloudformation, &spec.name).await?;
    plan::plan(spec, observed)
}

pub(super) async fn plan(
    ss: &StackSetSettings,
    p: Prepared,
    reporter: &Reporter,
    detailed: bool,
) -> Result<Output> {
    let plan = read_plan(&p, &spec(ss, &p), reporter).await?;
    let report = StackSetPlanReport::new(plan, &ss.targets, p.aws.calls.summary(), detailed);
    Ok(Output::of(&report, reporter))
}

pub(super) async fn init(
    ss: &StackSetSettings,
    p: Prepared,
    reporter: &Reporter,
    yes: bool,
) -> Result<Output> {
    let spec = spec(ss, &p);
    let cfn = &p.aws.cloudformation;
    let plan = read_plan(&p, &spec, reporter).await?;
    let outcome = if plan.has_changes() {
        reporter.confirm(
            yes,
            &plan_text(&plan, &ss.targets),
            &format!("Apply these changes to StackSet {}?", spec.name),
            "review `bootstrap plan --stackset NAME ...`, then run `bootstrap init --stackset NAME ... --yes`",
        )?;
        let applied = apply::apply(cfn, &spec, &plan, reporter, WaitConfig::default()).await?;
        let instances = observe::instances(cfn, &spec.name).await?;
        Some(StackSetOutcome { applied, instances })
    } else {
        None
    };
    let (template, calls) = (&p.template.desired, p.aws.calls.summary());
    let report = StackSetInitReport::new(plan, outcome, template, &p.desired, calls);
    Ok(Output::of(&report, reporter))
}

pub(super) async fn status(
    ss: &StackSetSettings,
    p: Prepared,
    reporter: &Reporter,
) -> Result<Output> {
    let plan = read_plan(&p, &spec(ss, &p), reporter).await?;
    let partition = &p.desired.account.partition;
    let calls = p.aws.calls.summary();
    let report = StackSetStatusReport::new(plan, &p.template.desired, partition, calls);
    Ok(Output::of(&report, reporter))
}
