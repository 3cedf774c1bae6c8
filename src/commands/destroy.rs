//! `destroy`, in either mode. Direct mode removes the roles and the provider, keeps the
//! Terraform state unless asked, and even then never deletes a bucket that holds anything: it
//! reads what exists, plans everything (refusals included) before the first write, shows the
//! plan and asks like `init`, deletes, then reads back and compares with the plan. In
//! CloudFormation mode the stack is deleted: the roles and the provider go with it; the state
//! bucket and the lock table stay in the account, retained by their DeletionPolicy, and are
//! reported (never deleted) afterwards.

use super::Deployment;
use crate::apply::cloudformation::destroy as stack_apply;
use crate::apply::cloudformation::events::WaitConfig;
use crate::apply::direct::destroy as apply;
use crate::aws::Aws;
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::observe::account;
use crate::observe::destroy::{self as observe, Targets};
use crate::observe::destroy_stack as stack_observe;
use crate::plan::destroy as plan;
use crate::plan::destroy_stack as stack_plan;
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
    let result = match mode {
        Deployment::Direct => DestroyReport::Direct(direct(settings, reporter, o).await?),
        Deployment::Stack | Deployment::StackSet => {
            DestroyReport::Stack(stack(settings, reporter, o).await?)
        }
    };
    Ok(Output::of(&result, reporter))
}

async fn direct(settings: &Settings, reporter: &Reporter, o: Options) -> Result<DirectDestroy> {
    // Input first: nothing is read from AWS before this is settled.
    let issuer = settings.require_issuer()?;
    settings.select_roles(&o.roles)?;

    reporter.progress("reading the AWS account");
    let aws = Aws::connect(&settings.aws, reporter.verbose()).await?;
    let account = account(&aws).await?;
    // A bucket under the default name of earlier versions is the one to destroy, if any.
    let settings = super::prepare::with_earlier_bucket(&aws, settings, &account).await?;
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
    let found = observe::found(&aws, &targets).await?;
    let plan = plan::plan(&targets, &found);

    if let Some(err) = plan.refusal_error() {
        report::show_refused(reporter, &plan);
        return Err(err);
    }
    if plan.has_deletions() {
        reporter.confirm(
            o.yes,
            &report::confirmation_text(&plan, reporter.painter()),
            "Delete these resources?",
            "review the plan above, then run `bootstrap destroy --yes`",
        )?;
        apply::apply(&aws, &targets, &plan, reporter).await?;
        let after = observe::found(&aws, &targets.for_read_back()).await?;
        plan::check_read_back(&plan, &after)?;
    }

    Ok(DirectDestroy::new(
        targets.account,
        plan,
        aws.calls.summary(),
    ))
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

async fn stack(settings: &Settings, reporter: &Reporter, o: Options) -> Result<StackDestroy> {
    check_options(settings, &o)?;
    let name = settings.deployment.stack_name.clone();
    let aws = Aws::connect(&settings.aws, reporter.verbose()).await?;
    let cfn = &aws.cloudformation;
    reporter.progress(format!("reading stack {name} in {}", aws.region));
    let Some(stack) = stack_observe::stack(cfn, &name).await? else {
        return Ok(StackDestroy::absent(
            &name,
            &aws.region,
            aws.calls.summary(),
        ));
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
        let account = crate::observe::account(&aws).await?;
        let arn = crate::model::arn::provider(&account.partition, &account.id, host_path);
        let trusting = stack_observe::roles_trusting(&aws, &arn, &plan.role_names()).await?;
        stack_plan::check_provider_trust(&plan, &arn, &trusting)?;
    }

    reporter.confirm(
        o.yes,
        &stack_report::plan_text(&plan, reporter.painter()),
        &format!("Delete stack {name}?"),
        "review what is shown above, then run `bootstrap destroy --mode cloudformation --yes`",
    )?;
    let outcome = stack_apply::apply(cfn, &plan, reporter, WaitConfig::default()).await?;
    stack_plan::check_gone(&plan, stack_observe::stack(cfn, &name).await?.as_ref())?;

    let mut retained = Vec::new();
    for r in plan.retained() {
        let exists = stack_observe::still_there(&aws, &r.resource_type, &r.physical_id).await;
        retained.push(Retained::new(r, exists));
    }
    let deletion = Deletion {
        plan,
        result: outcome,
        retained,
    };
    Ok(StackDestroy::deleted(
        &aws.region,
        deletion,
        aws.calls.summary(),
    ))
}
