//! `plan`, in any mode: prepare (issuer, desired state, and what the mode reads), then report
//! what `init` would do ([`PlanReport`], whose body is the mode's).

use super::prepare::{prepare, Prepared, StackSetStaged, StackStaged, Staged, Stale};
use super::Deployment;
use crate::config::Settings;
use crate::error::Result;
use crate::observe;
use crate::plan::stack_foreign::on_roles;
use crate::plan::stack_roles::checked_stack_plan;
use crate::plan::stackset::checked_plan;
use crate::plan::verdicts::role_verdicts;
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
    let report = match &p.staged {
        Staged::Direct(d) => PlanReport::Direct(Box::new(DirectPlanBody {
            plan: PlanSummary::new(&p.desired, &p.facts.thumbprints, &d.plan, &d.stale),
            names: &settings.trust.bitbucket.resolved,
            aws_calls: p.aws.calls.summary(),
            detailed_exitcode,
        })),
        Staged::Stack(s) => {
            PlanReport::Stack(Box::new(stack(&p, s, reporter, detailed_exitcode).await?))
        }
        Staged::StackSet(s) => {
            PlanReport::StackSet(Box::new(stackset(&p, s, reporter, detailed_exitcode)?))
        }
    };
    Ok(Output::of(&report, reporter))
}

/// The stack as it is and what `init` would do to it; for a stack that exists, the policies
/// on its roles the template does not define and the verdicts on their trust policies.
async fn stack(
    p: &Prepared,
    s: &StackStaged,
    reporter: &Reporter,
    detailed: bool,
) -> Result<StackPlanBody> {
    reporter.progress(format!("reading stack {}", s.spec.name));
    // The plan shows the roles an update deletes; init asks for --prune to do it.
    let sp = checked_stack_plan(&s.spec, s.deployed.clone(), true)?;
    for w in crate::plan::state_moves::in_stack(&p.desired, sp.deployed.as_ref()) {
        reporter.warn(w);
    }
    let (foreign, verdicts) = if sp.creates() {
        p.refuse_existing(&s.spec.name).await?;
        (Vec::new(), role_verdicts(&p.desired, &[]))
    } else {
        let live = observe::roles(&p.aws, &p.desired).await?;
        (
            on_roles(&p.desired, &live),
            role_verdicts(&p.desired, &live),
        )
    };
    let (d, served, calls) = (&p.desired, &p.facts.thumbprints, p.aws.calls.summary());
    Ok(StackPlanBody::new(sp, foreign, d, served, calls, detailed).with_verdicts(verdicts))
}

/// The StackSet as it is and what `init` would do to it.
fn stackset(
    p: &Prepared,
    s: &StackSetStaged,
    reporter: &Reporter,
    detailed: bool,
) -> Result<StackSetPlanBody> {
    reporter.progress(format!("reading StackSet {}", s.spec.name));
    // The plan shows the roles an update deletes; init asks for --prune to do it.
    let plan = checked_plan(&s.spec, s.deployed.clone(), true)?;
    Ok(StackSetPlanBody::new(
        plan,
        &s.spec.targets,
        p.aws.calls.summary(),
        detailed,
    ))
}
