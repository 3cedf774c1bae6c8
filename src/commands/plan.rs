//! `plan`, in any mode: prepare (issuer, desired state, and what the mode reads), plan what
//! `init` would do, and report it ([`PlanReport`], whose body is the mode's).

use super::prepare::{for_plan, prepare, Stale};
use super::Deployment;
use crate::config::Settings;
use crate::error::Result;
use crate::plan::mode::Planned;
use crate::report::stack::StackPlanBody;
use crate::report::stackset::StackSetPlanBody;
use crate::report::{DirectPlanBody, Output, PlanReport, PlanSummary, Reporter};

pub(super) async fn run(
    settings: &Settings,
    reporter: &Reporter,
    mode: Deployment,
    detailed_exitcode: bool,
    roles: &[String],
) -> Result<Output> {
    let narrowed = settings.narrowed(roles)?;
    let p = prepare(&narrowed, reporter, mode, Stale::unless_narrowed(roles)).await?;
    let planned = for_plan(&p, reporter).await?;
    let (d, served, calls) = (&p.desired, &p.facts.thumbprints, p.aws.calls.summary());
    let report = match planned {
        Planned::Direct(planned) => PlanReport::Direct(Box::new(DirectPlanBody {
            plan: PlanSummary::new(d, served, planned.diff, planned.stale),
            names: &settings.trust.bitbucket.resolved,
            aws_calls: calls,
            detailed_exitcode,
        })),
        Planned::Stack(planned) => {
            let roles = planned.roles.unwrap_or_default();
            let body = StackPlanBody::new(
                planned.plan,
                roles.foreign,
                d,
                served,
                calls,
                detailed_exitcode,
            );
            PlanReport::Stack(Box::new(body.with_verdicts(roles.verdicts)))
        }
        Planned::StackSet(planned) => PlanReport::StackSet(Box::new(StackSetPlanBody::new(
            planned.plan,
            &planned.spec.targets,
            calls,
            detailed_exitcode,
        ))),
    };
    Ok(Output::of(&report, reporter))
}
