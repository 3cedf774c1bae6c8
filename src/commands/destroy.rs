//! `destroy` in direct mode: remove the role and the provider; keep the Terraform state unless
//! asked, and even then never delete a bucket that holds anything. Reads what exists, plans
//! everything (refusals included) before the first write, shows the plan and asks like
//! `init`, deletes, then reads back and compares with the plan.

use crate::apply::direct::destroy as apply;
use crate::aws::Aws;
use crate::config::Settings;
use crate::error::Result;
use crate::observe::account;
use crate::observe::destroy::{self as observe, Targets};
use crate::plan::destroy as plan;
use crate::report::destroy::{self as report, DestroyReport};
use crate::report::{Output, Reporter};

/// The flags of `destroy`, in either mode.
pub(super) struct Options {
    pub yes: bool,
    pub force: bool,
    pub delete_state: bool,
    /// `--role`: only these configured roles (every role when empty).
    pub roles: Vec<String>,
}

pub(super) async fn run(settings: &Settings, reporter: &Reporter, o: Options) -> Result<Output> {
    // Input first: nothing is read from AWS before this is settled.
    let issuer = settings.require_issuer()?;
    settings.select_roles(&o.roles)?;

    reporter.progress("reading the AWS account");
    let aws = Aws::connect(&settings.aws, reporter.verbose()).await?;
    let account = account(&aws).await?;
    // A bucket under the default name of earlier versions is the one to destroy, if any.
    let settings = super::setup::with_earlier_bucket(&aws, settings, &account).await?;
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

    let result = DestroyReport::new(targets.account, plan, aws.calls.summary());
    Ok(Output::of(&result, reporter))
}
