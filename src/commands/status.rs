//! `status`, in any mode: prepare (issuer, desired state, and what the mode reads), read what
//! the mode shows, and report each resource as it stands ([`StatusReport`], whose body is the
//! mode's): in direct mode in sync, drifted or missing (and, with Bitbucket credentials, the
//! pipeline's variables); in CloudFormation mode the stack or StackSet and each of its
//! resources.

use super::prepare::{for_status, prepare, Stale};
use super::Deployment;
use crate::config::Settings;
use crate::error::Result;
use crate::plan::mode::{StackStatus, Status};
use crate::report::stack_status::StackStatusBody;
use crate::report::stackset::StackSetStatusBody;
use crate::report::{DirectStatusBody, Output, Reporter, StatusReport};

pub(super) async fn run(
    settings: &Settings,
    reporter: &Reporter,
    mode: Deployment,
    detailed_exitcode: bool,
    roles: &[String],
) -> Result<Output> {
    let narrowed = settings.narrowed(roles)?;
    let p = prepare(&narrowed, reporter, mode, Stale::unless_narrowed(roles)).await?;
    let status = for_status(&p, &narrowed, reporter).await?;
    let (d, calls, detailed) = (&p.desired, p.aws.calls.summary(), detailed_exitcode);
    let variables;
    let report = match status {
        Status::Direct(s) => {
            variables = s.variables;
            StatusReport::Direct(DirectStatusBody {
                aws_calls: calls,
                detailed_exitcode,
                ..DirectStatusBody::new(&d.account, s.diff, s.observed)
                    .with_stale(s.stale)
                    .with_variables(variables.as_deref())
            })
        }
        Status::Stack(s) => StatusReport::Stack(match *s {
            StackStatus::Missing { name, blocked } => {
                StackStatusBody::missing(name, blocked, calls, detailed)
            }
            StackStatus::Present {
                plan,
                resources,
                roles,
            } => StackStatusBody::present(*plan, resources, roles.foreign, d, calls, detailed)
                .with_verdicts(roles.verdicts),
        }),
        Status::StackSet(s) => StatusReport::StackSet(StackSetStatusBody::new(
            s.plan, d, s.symbolic, calls, detailed,
        )),
    };
    Ok(Output::of(&report, reporter))
}
