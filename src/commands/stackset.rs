//! `plan`, `init` and `status` with `--stackset NAME`: the template deployed to many accounts
//! by CloudFormation StackSets.

use super::render::{prepare, Prepared};
use crate::apply::cloudformation::events::WaitConfig;
use crate::apply::cloudformation::stackset as apply;
use crate::config::{Settings, StackSetSettings};
use crate::error::{Error, Result};
use crate::observe::stackset as observe;
use crate::plan::stack_roles::refuse_role_losses;
use crate::plan::stackset::{self as plan, StackSetPlan, StackSetSpec};
use crate::report::stackset::{
    plan_text, StackSetInitReport, StackSetOutcome, StackSetPlanReport, StackSetStatusReport,
};
use crate::report::{Output, Reporter};

fn settings_of(settings: &Settings) -> Result<&StackSetSettings> {
    settings
        .stackset
        .as_ref()
        .ok_or_else(|| Error::usage("no --stackset NAME given"))
}

fn spec(ss: &StackSetSettings, p: &Prepared) -> StackSetSpec {
    StackSetSpec {
        name: ss.name.clone(),
        body: p.body.clone(),
        template: p.template.body.clone(),
        targets: ss.targets.clone(),
        regions: ss.regions.clone(),
    }
}

const INIT_SET: &str = "bootstrap init --stackset NAME ...";

/// The StackSet as it is, and its plan.
async fn read_plan(p: &Prepared, spec: &StackSetSpec, reporter: &Reporter) -> Result<StackSetPlan> {
    reporter.progress(format!("reading StackSet {}", spec.name));
    plan::plan(spec, p.deployed.stackset.clone())
}

/// The plan, refused when the template update would move a role to another logical id, or
/// (unless `prune`) delete roles from every instance: the role-loss guard a stack has.
async fn checked_plan(
    p: &Prepared,
    spec: &StackSetSpec,
    reporter: &Reporter,
    prune: bool,
) -> Result<StackSetPlan> {
    let plan = read_plan(p, spec, reporter).await?;
    refuse_role_losses("StackSet", &spec.name, &plan.role_losses, prune, INIT_SET)?;
    Ok(plan)
}

pub(super) async fn plan(
    settings: &Settings,
    reporter: &Reporter,
    detailed: bool,
) -> Result<Output> {
    let ss = settings_of(settings)?;
    let p = prepare(settings, reporter).await?;
    // The plan shows the roles an update deletes; init asks for --prune to do it.
    let plan = checked_plan(&p, &spec(ss, &p), reporter, true).await?;
    let report = StackSetPlanReport::new(plan, &ss.targets, p.aws.calls.summary(), detailed);
    Ok(Output::of(&report, reporter))
}

pub(super) async fn init(
    settings: &Settings,
    reporter: &Reporter,
    yes: bool,
    prune: bool,
) -> Result<Output> {
    let ss = settings_of(settings)?;
    let p = prepare(settings, reporter).await?;
    let spec = spec(ss, &p);
    let cfn = &p.aws.cloudformation;
    let plan = checked_plan(&p, &spec, reporter, prune).await?;
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
    let report = StackSetInitReport::new(
        plan,
        outcome,
        &p.desired,
        &p.template.desired,
        p.aws.calls.summary(),
    );
    Ok(Output::of(&report, reporter))
}

pub(super) async fn status(
    settings: &Settings,
    reporter: &Reporter,
    detailed: bool,
) -> Result<Output> {
    let ss = settings_of(settings)?;
    let p = prepare(settings, reporter).await?;
    let plan = read_plan(&p, &spec(ss, &p), reporter).await?;
    let report = StackSetStatusReport::new(
        plan,
        &p.desired,
        &p.template.desired,
        p.aws.calls.summary(),
        detailed,
    );
    Ok(Output::of(&report, reporter))
}
