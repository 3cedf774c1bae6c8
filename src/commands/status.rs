//! `status` in direct mode: prepare (issuer, live state, desired state, diff) and report each
//! resource as in sync, drifted or missing.

use super::setup::prepare;
use crate::config::Settings;
use crate::error::Result;
use crate::report::{Output, Reporter, StatusReport};

pub(super) async fn run(
    settings: &Settings,
    reporter: &Reporter,
    detailed_exitcode: bool,
) -> Result<Output> {
    let p = prepare(settings, reporter).await?;
    let report = StatusReport {
        aws_calls: p.aws.calls.summary(),
        detailed_exitcode,
        ..StatusReport::new(&p.desired.account, &p.plan, &p.observed)
    };
    Ok(Output::of(&report, reporter))
}
