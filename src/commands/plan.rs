//! `plan` in direct mode: prepare (issuer, live state, desired state, diff) and report it.

use super::setup::{prepare, Stale};
use crate::config::Settings;
use crate::error::Result;
use crate::report::{Output, PlanReport, PlanSummary, Reporter};

pub(super) async fn run(
    settings: &Settings,
    reporter: &Reporter,
    detailed_exitcode: bool,
    roles: &[String],
) -> Result<Output> {
    let narrowed = settings.narrowed(roles)?;
    let p = prepare(&narrowed, reporter, Stale::unless_narrowed(roles)).await?;
    let report = PlanReport {
        plan: PlanSummary::new(&p.desired, &p.facts.thumbprints, &p.plan, &p.stale),
        names: &settings.bitbucket.resolved,
        aws_calls: p.aws.calls.summary(),
        detailed_exitcode,
    };
    Ok(Output::of(&report, reporter))
}
