//! `destroy --mode cloudformation`: delete the stack. The role and the provider go with it;
//! the state bucket and the lock table stay in the account, retained by their
//! DeletionPolicy, and are reported (never deleted) afterwards. Shows what will happen and
//! asks like `init`.

use super::destroy::Options;
use crate::apply::cloudformation::destroy as apply;
use crate::apply::cloudformation::events::WaitConfig;
use crate::aws::Aws;
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::observe::destroy_stack as observe;
use crate::plan::destroy_stack as plan;
use crate::report::destroy_stack::{self as report, Deletion, Retained, StackDestroyReport};
use crate::report::{Output, Reporter};

/// The flags that only mean something in direct mode, refused before any AWS call.
fn check_options(settings: &Settings, o: &Options) -> Result<()> {
    if let Some(ss) = &settings.stackset {
        return Err(crate::cli::stackset_destroy_refused(&ss.name));
    }
    if o.delete_state {
        return Err(Error::usage(
            "--delete-state is refused with --mode cloudformation: the stack's DeletionPolicy retains the bucket and the table, so they are outside the stack once it is deleted",
        )
        .hint("run `bootstrap destroy --mode cloudformation` first, then `bootstrap destroy --delete-state` (direct mode), which deletes them only when the bucket is empty and no lock is held"));
    }
    if o.force {
        return Err(Error::usage(
            "--force is a direct-mode flag; with --mode cloudformation the stack decides what is deleted",
        )
        .hint("drop --force"));
    }
    Ok(())
}

pub(super) async fn run(settings: &Settings, reporter: &Reporter, o: Options) -> Result<Output> {
    check_options(settings, &o)?;
    let name = settings.stack_name.clone();
    let aws = Aws::connect(&settings.aws, reporter.verbose()).await?;
    let cfn = &aws.cloudformation;
    reporter.progress(format!("reading stack {name} in {}", aws.region));
    let Some(stack) = observe::stack(cfn, &name).await? else {
        let result = StackDestroyReport::absent(&name, &aws.region, aws.calls.summary());
        return Ok(Output::of(&result, reporter));
    };
    // Someone else's stack is left exactly as it is: refused before anything is written.
    // So is another set's: a set never deletes what belongs to another.
    let ours = settings.set_name().unwrap_or_default();
    crate::plan::stack_owner::check_stack(&name, &stack, &ours)?;
    plan::check_idle(&name, &stack)?;
    let listed = observe::resources(cfn, &name, &stack).await?;
    let plan = plan::plan(&name, stack, listed);
    // The provider goes with the stack: not while roles outside it still trust it.
    if let Some(host_path) = &plan.provider_host_path {
        let account = crate::observe::account(&aws).await?;
        let arn = crate::model::arn::provider(&account.partition, &account.id, host_path);
        let trusting = observe::roles_trusting(&aws, &arn, &plan.role_names()).await?;
        plan::check_provider_trust(&plan, &arn, &trusting)?;
    }

    reporter.confirm(
        o.yes,
        &report::plan_text(&plan, reporter.painter()),
        &format!("Delete stack {name}?"),
        "review what is shown above, then run `bootstrap destroy --mode cloudformation --yes`",
    )?;
    let outcome = apply::apply(cfn, &plan, reporter, WaitConfig::default()).await?;
    plan::check_gone(&plan, observe::stack(cfn, &name).await?.as_ref())?;

    let mut retained = Vec::new();
    for r in plan.retained() {
        let exists = observe::still_there(&aws, &r.resource_type, &r.physical_id).await;
        retained.push(Retained::new(r, exists));
    }
    let deletion = Deletion {
        plan,
        result: outcome,
        retained,
    };
    let result = StackDestroyReport::deleted(&aws.region, deletion, aws.calls.summary());
    Ok(Output::of(&result, reporter))
}
