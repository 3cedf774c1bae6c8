//! What `destroy` would delete, in the mode the settings pick ([`Destroying`]): what exists,
//! read, and the deletion planned with every refusal before anything is written. Direct
//! mode reads the roles, the provider and (when asked) the state; a stack is read with its
//! resources, and refused when it is someone else's, busy, or its provider still trusted by
//! roles outside it.

use super::super::destroy::Options;
use super::super::Deployment;
use crate::aws::Aws;
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::observe;
use crate::observe::destroy::{self as observe_destroy, Targets};
use crate::observe::destroy_stack as stack_observe;
use crate::plan::destroy as destroy_plan;
use crate::plan::destroy_stack as stack_plan;
use crate::plan::mode::Destroying;
use crate::report::destroy as destroy_report;
use crate::report::Reporter;

/// Read what `destroy` would delete in `mode` and plan it; a refusal stops the run here.
pub(in crate::commands) async fn for_destroy(
    settings: &Settings,
    reporter: &Reporter,
    mode: Deployment,
    o: &Options,
) -> Result<(Aws, Destroying)> {
    match mode {
        Deployment::Direct => direct(settings, reporter, o).await,
        Deployment::Stack | Deployment::StackSet => stack(settings, reporter, o).await,
    }
}

async fn direct(
    settings: &Settings,
    reporter: &Reporter,
    o: &Options,
) -> Result<(Aws, Destroying)> {
    // Input first: nothing is read from AWS before this is settled.
    let issuer = settings.require_issuer()?;
    settings.select_roles(&o.roles)?;

    reporter.progress("reading the AWS account");
    let aws = Aws::connect(&settings.aws, reporter.verbose()).await?;
    let account = observe::account(&aws).await?;
    // A bucket under the default name of earlier versions is the one to destroy, if any.
    let settings = super::with_earlier_bucket(&aws, settings, &account).await?;
    let targets = Targets::new(
        &settings,
        issuer,
        account,
        &o.roles,
        (o.delete_state, o.force),
    )?;
    reporter.progress(format!(
        "reading what exists in account {} ({})",
        targets.account.id, targets.account.region
    ));
    let found = observe_destroy::found(&aws, &targets).await?;
    let plan = destroy_plan::plan(&targets, &found);
    if let Some(err) = plan.refusal_error() {
        destroy_report::show_refused(reporter, &plan);
        return Err(err);
    }
    let targets = Box::new(targets);
    Ok((aws, Destroying::Direct { targets, plan }))
}

/// The flags that only mean something in direct mode, refused before any AWS call.
fn check_options(settings: &Settings, o: &Options) -> Result<()> {
    if let Some(ss) = &settings.deployment.stackset {
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

async fn stack(settings: &Settings, reporter: &Reporter, o: &Options) -> Result<(Aws, Destroying)> {
    check_options(settings, o)?;
    let name = settings.deployment.stack_name.clone();
    let aws = Aws::connect(&settings.aws, reporter.verbose()).await?;
    let cfn = &aws.cloudformation;
    reporter.progress(format!("reading stack {name} in {}", aws.region));
    let Some(stack) = stack_observe::stack(cfn, &name).await? else {
        return Ok((aws, Destroying::NoStack { name }));
    };
    // Someone else's stack is left exactly as it is: refused before anything is written.
    // So is another set's: a set never deletes what belongs to another.
    let ours = settings.set_name().unwrap_or_default();
    crate::plan::stack_owner::check_stack(&name, &stack, &ours)?;
    stack_plan::check_idle(&name, &stack)?;
    let listed = stack_observe::resources(cfn, &name, &stack).await?;
    let plan = stack_plan::plan(&name, stack, listed);
    // The provider goes with the stack: not while roles outside it still trust it.
    if let Some(host_path) = &plan.provider_host_path {
        let account = observe::account(&aws).await?;
        let arn = crate::model::arn::provider(&account.partition, &account.id, host_path);
        let trusting = stack_observe::roles_trusting(&aws, &arn, &plan.role_names()).await?;
        stack_plan::check_provider_trust(&plan, &arn, &trusting)?;
    }
    Ok((aws, Destroying::Stack(Box::new(plan))))
}
