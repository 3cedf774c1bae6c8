//! `destroy`, in either mode: read what exists and plan every deletion (refusals included)
//! before the first write, show the plan and ask like `init`, delete, then read back and
//! compare with the plan ([`DestroyReport`], whose body is the mode's). Direct mode removes
//! the roles and the provider, keeps the Terraform state unless asked, and even then never
//! deletes a bucket that holds anything. In CloudFormation mode the stack is deleted: the
//! roles and the provider go with it; the state bucket and the lock table stay in the
//! account, retained by their DeletionPolicy, and are reported (never deleted) afterwards.

use super::prepare::for_destroy;
use super::Deployment;
use crate::apply::destroy::Destroyed;
use crate::apply::{self, AskDeletion};
use crate::config::Settings;
use crate::error::Result;
use crate::report::destroy::{self as report, DestroyReport, DirectDestroy};
use crate::report::destroy_stack::{self as stack_report, Deletion, Retained, StackDestroy};
use crate::report::{Output, Reporter};

/// The flags of `destroy`, in either mode.
pub(super) struct Options {
    pub yes: bool,
    pub force: bool,
    pub delete_state: bool,
    /// `--role`: only these configured roles (every role when empty).
    pub roles: Vec<String>,
}

pub(super) async fn run(
    settings: &Settings,
    reporter: &Reporter,
    mode: Deployment,
    o: Options,
) -> Result<Output> {
    let (aws, planned) = for_destroy(settings, reporter, mode, &o).await?;
    let confirm = |ask: AskDeletion<'_>| confirm(reporter, o.yes, ask);
    let destroyed = apply::destroy::apply(&aws, planned, &confirm, reporter).await?;
    let (region, calls) = (&aws.region, aws.calls.summary());
    let result = match destroyed {
        Destroyed::Direct { targets, plan } => {
            DestroyReport::Direct(DirectDestroy::new(targets.account, plan, calls))
        }
        Destroyed::Stack {
            plan,
            outcome,
            still_there,
        } => {
            let retained = plan.retained().zip(still_there);
            let retained = retained
                .map(|(r, exists)| Retained::new(r, exists))
                .collect();
            let deletion = Deletion {
                plan: *plan,
                result: outcome,
                retained,
            };
            DestroyReport::Stack(StackDestroy::deleted(region, deletion, calls))
        }
        Destroyed::NoStack { name } => {
            DestroyReport::Stack(StackDestroy::absent(&name, region, calls))
        }
    };
    Ok(Output::of(&result, reporter))
}

/// Show what is about to be deleted and ask (`yes`: without asking).
fn confirm(reporter: &Reporter, yes: bool, ask: AskDeletion<'_>) -> Result<()> {
    match ask {
        AskDeletion::Direct(plan) => reporter.confirm(
            yes,
            &report::confirmation_text(plan, reporter.painter()),
            "Delete these resources?",
            "review the plan above, then run `bootstrap destroy --yes`",
        ),
        AskDeletion::Stack(plan) => reporter.confirm(
            yes,
            &stack_report::plan_text(plan, reporter.painter()),
            &format!("Delete stack {}?", plan.stack),
            "review what is shown above, then run `bootstrap destroy --mode cloudformation --yes`",
        ),
    }
}
