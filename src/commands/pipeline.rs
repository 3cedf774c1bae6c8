//! `bootstrap pipeline`: write `bitbucket-pipelines.yml` and `backend.tf` for the current
//! settings (rendered by `model::pipeline`, written by `report::files`), and show the
//! Bitbucket variables to set.
//!
//! The role ARN and the default bucket name contain the account id. It comes from
//! `--account-id` when given (no AWS call), otherwise from `sts:GetCallerIdentity`.

use std::path::PathBuf;

use super::verify::account_id;
use crate::aws::{self, Aws};
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::model::pipeline::{self, Pipeline, RoleChoice, BACKEND_FILE, PIPELINE_FILE};
use crate::model::{self, Account};
use crate::report::files::{check_targets, write_file};
use crate::report::pipeline::PipelineReport;
use crate::report::{Output, Reporter};

#[derive(Debug, Clone)]
pub(super) struct Options {
    pub out_dir: PathBuf,
    pub force: bool,
    pub account_id: Option<String>,
    pub deployment: Option<String>,
    pub branch: Option<String>,
    /// `--role`: the configured role the pipeline uses.
    pub roles: Vec<String>,
}

pub(super) async fn run(settings: &Settings, reporter: &Reporter, opts: Options) -> Result<Output> {
    // Every input is checked before the first AWS call or file write.
    let narrowed = settings.narrowed(&opts.roles)?;
    let settings = &*narrowed;
    crate::model::quota::check_trust_inputs(settings)?;
    let account_flag = opts.account_id.as_deref().map(account_id).transpose()?;
    let chosen = RoleChoice::of(&settings.roles.iter().collect::<Vec<_>>())?;
    let values = Pipeline::new(
        settings,
        &chosen,
        opts.deployment.as_deref(),
        opts.branch.as_deref(),
    )?;
    check_targets(&opts.out_dir, &[PIPELINE_FILE, BACKEND_FILE], opts.force)?;

    let aws = Aws::connect(&settings.aws, reporter.verbose()).await?;
    let offline = account_flag.is_some();
    let id = match account_flag {
        Some(id) => id,
        None => caller_account(&aws, reporter).await?,
    };
    let account = Account {
        id,
        partition: aws::partition(&aws.region).to_string(),
        region: aws.region.clone(),
    };
    let settings = if offline {
        std::borrow::Cow::Borrowed(settings)
    } else {
        super::setup::with_earlier_bucket(&aws, settings, &account).await?
    };
    let desired = model::desired(&settings, &account, &[], &[])?;
    if let (true, Some(old)) = (offline, &desired.bucket.global_default) {
        reporter.warn(format!(
            "backend.tf names the state bucket {}, the default of a new setup; an account set up by an earlier version uses {old}: pass --state-bucket {old} for it (or leave --account-id out to look)",
            desired.bucket.name
        ));
    }
    let roles = chosen.arns(&desired)?;
    let files = pipeline::render_files(&values, &roles, &desired)?;
    if let Some(w) = pipeline::any_branch_warning(&chosen, &roles) {
        reporter.warn(w);
    }

    std::fs::create_dir_all(&opts.out_dir).map_err(|e| {
        Error::failure(format!(
            "cannot create --out-dir {}: {e}",
            opts.out_dir.display()
        ))
    })?;
    let pipeline_path = opts.out_dir.join(PIPELINE_FILE);
    let backend_path = opts.out_dir.join(BACKEND_FILE);
    write_file(&pipeline_path, &files.pipeline)?;
    write_file(&backend_path, &files.backend)?;

    let result = PipelineReport::new(
        &values,
        &roles,
        &desired,
        [
            pipeline_path.display().to_string(),
            backend_path.display().to_string(),
        ],
        aws.calls.summary(),
    );
    Ok(Output::of(&result, reporter))
}

/// The account of the caller's credentials (`sts:GetCallerIdentity`).
async fn caller_account(aws: &Aws, reporter: &Reporter) -> Result<String> {
    reporter.progress("finding the AWS account (sts:GetCallerIdentity)");
    let account = crate::observe::account(aws).await.map_err(|e| {
        e.hint("pass --account-id ID to generate the files without AWS credentials")
    })?;
    Ok(account.id)
}
