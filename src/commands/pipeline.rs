//! `bootstrap pipeline`: write `bitbucket-pipelines.yml` and `backend.tf` for the current
//! settings (rendered by `model::pipeline`, written by `report::files`), and show the
//! Bitbucket variables to set.
//!
//! The role ARN and the default bucket name contain the account id. It comes from
//! `--account-id` when given (no AWS call), otherwise from `sts:GetCallerIdentity`.

use std::path::{Path, PathBuf};

use super::verify::account_id;
use crate::aws::{self, Aws};
use crate::bitbucket::{
    self, variables, variables::Target, variables::VariableState, variables::Wanted,
};
use crate::config::{Access, Settings};
use crate::error::{Error, Result};
use crate::model::pipeline::{
    self, Pipeline, Placement, Rendered, RoleChoice, BACKEND_FILE, PIPELINE_FILE,
};
use crate::model::{self, Account};
use crate::report::files::{check_targets, write_file};
use crate::report::pipeline::{AccountBody, PipelineReport};
use crate::report::{Output, Reporter};

#[derive(Debug, Clone)]
pub(super) struct Options {
    pub out_dir: PathBuf,
    pub force: bool,
    pub account_id: Option<String>,
    /// `--deployment NAME`, or `NAME=CONFIG` for each environment of a pipeline across accounts.
    pub deployment: Vec<String>,
    pub branch: Option<String>,
    /// `--role`: the configured role the pipeline uses.
    pub roles: Vec<String>,
    /// `--set-variables`: set the variables in Bitbucket through its API.
    pub set_variables: bool,
    pub yes: bool,
}

pub(super) async fn run(settings: &Settings, reporter: &Reporter, opts: Options) -> Result<Output> {
    let deployment = one_deployment(&opts.deployment)?;
    // Every input is checked before the first AWS call or file write.
    let narrowed = settings.narrowed(&opts.roles)?;
    let settings = &*narrowed;
    crate::model::quota::check_trust_inputs(settings)?;
    let account_flag = opts.account_id.as_deref().map(account_id).transpose()?;
    let chosen = RoleChoice::of(&settings.roles.iter().collect::<Vec<_>>())?;
    let values = Pipeline::new(settings, &chosen, deployment, opts.branch.as_deref())?;
    // A cdk role has no Terraform state: its pipeline goes without a backend.
    let cdk = matches!(chosen, RoleChoice::One(r) if r.access == Access::Cdk);
    let targets: &[&str] = if cdk {
        &[PIPELINE_FILE]
    } else {
        &[PIPELINE_FILE, BACKEND_FILE]
    };
    // Existing files are left as they are (their content is shown instead) unless --force.
    let kept = check_targets(&opts.out_dir, targets, opts.force)?;
    let bitbucket = opts
        .set_variables
        .then(|| bitbucket::connect(settings, "--set-variables"))
        .transpose()?;

    let aws = Aws::connect(&settings.aws, reporter.verbose()).await?;
    let offline = account_flag.is_some();
    let account = account_of(&aws, account_flag, reporter).await?;
    let settings = if offline {
        std::borrow::Cow::Borrowed(settings)
    } else {
        super::prepare::with_earlier_bucket(&aws, settings, &account).await?
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
    for w in [
        pipeline::any_branch_warning(&chosen, &roles),
        pipeline::pair_trust_warning(&chosen),
    ]
    .into_iter()
    .flatten()
    {
        reporter.warn(w);
    }

    let written = write_files(&opts.out_dir, &files, &kept)?;
    let prefix = chosen.all().last().and_then(|r| r.state_key_prefix.clone());

    let placements = roles.placements(values.deployment.as_deref(), &desired.account.region);
    let variables = match &bitbucket {
        Some((client, workspace)) => {
            let wanted = wanted_variables(&settings, &chosen, &placements);
            Some(set_variables(client, workspace, &wanted, reporter, opts.yes).await?)
        }
        None => None,
    };
    let mut result = AccountBody::new(
        &values,
        &roles,
        &desired,
        (
            written.pipeline.display().to_string(),
            written.backend.as_ref().map(|p| p.display().to_string()),
        ),
        prefix.as_deref(),
        aws.calls.summary(),
    );
    for (path, content) in &written.kept {
        result.keep(path, content);
    }
    result.bitbucket_variables = variables;
    Ok(Output::of(
        &PipelineReport::Account(Box::new(result)),
        reporter,
    ))
}

/// `--deployment NAME` given once (or not at all); several are a pipeline across accounts,
/// each written NAME=CONFIG.
fn one_deployment(given: &[String]) -> Result<Option<&str>> {
    match given {
        [] => Ok(None),
        [one] => Ok(Some(one.as_str())),
        _ => Err(Error::usage(
            "--deployment is given several times; a pipeline across environments names each one's configuration",
        )
        .hint("write each as NAME=CONFIG: --deployment Staging=staging.toml --deployment Production=prod.toml")),
    }
}

/// The account the files are for: `--account-id`, or the caller's.
async fn account_of(aws: &Aws, flag: Option<String>, reporter: &Reporter) -> Result<Account> {
    let id = match flag {
        Some(id) => id,
        None => caller_account(aws, reporter).await?,
    };
    Ok(Account {
        id,
        partition: aws::partition(&aws.region).to_string(),
        region: aws.region.clone(),
    })
}

/// The variables each repository needs: the role of each placement, in every repository it
/// trusts (by UUID in the API; by its slug in messages when it was given by name).
fn wanted_variables(
    settings: &Settings,
    chosen: &RoleChoice<'_>,
    placements: &[Placement],
) -> Vec<Wanted> {
    let label = |uuid: &str| settings.trust.bitbucket.name_of("repository", uuid);
    let mut out = Vec::new();
    for (role, place) in chosen.all().into_iter().zip(placements) {
        let target = match &place.scope {
            pipeline::Scope::Repository => Target::Repository,
            pipeline::Scope::Deployment(env) => Target::Deployment(env.clone()),
        };
        let mut values = vec![("AWS_ROLE_ARN".to_string(), place.role_arn.clone())];
        if let Some(region) = &place.region {
            values.push(("AWS_REGION".to_string(), region.clone()));
        }
        for repo in &role.repositories {
            out.push(Wanted {
                repository: repo.clone(),
                label: label(repo),
                target: target.clone(),
                values: values.clone(),
            });
        }
    }
    out
}

/// What [`write_files`] did: the files' paths, and those it left as they were.
pub(super) struct Written {
    pub pipeline: PathBuf,
    /// None when the pipeline has no Terraform backend (a cdk role).
    pub backend: Option<PathBuf>,
    /// Each file that existed (and `--force` was not given): its path and the content it
    /// would have had, shown instead of written.
    pub kept: Vec<(String, String)>,
}

/// Write the rendered files into `out_dir` (created when missing), except the `kept` ones.
pub(super) fn write_files(out_dir: &Path, files: &Rendered, kept: &[&str]) -> Result<Written> {
    std::fs::create_dir_all(out_dir).map_err(|e| {
        Error::failure(format!(
            "cannot create --out-dir {}: {e}",
            out_dir.display()
        ))
    })?;
    let pipeline = out_dir.join(PIPELINE_FILE);
    let backend = files.backend.as_ref().map(|_| out_dir.join(BACKEND_FILE));
    let mut out = Written {
        pipeline: pipeline.clone(),
        backend: backend.clone(),
        kept: Vec::new(),
    };
    let both = [
        (PIPELINE_FILE, Some(pipeline), Some(&files.pipeline)),
        (BACKEND_FILE, backend, files.backend.as_ref()),
    ];
    for (name, path, content) in both {
        let (Some(path), Some(content)) = (path, content) else {
            continue;
        };
        if kept.contains(&name) {
            out.kept.push((path.display().to_string(), content.clone()));
        } else {
            write_file(&path, content)?;
        }
    }
    Ok(out)
}

/// Compare, show, ask (unless `--yes`) and write the variables that differ.
pub(super) async fn set_variables(
    client: &bitbucket::Client,
    workspace: &str,
    wanted: &[Wanted],
    reporter: &Reporter,
    yes: bool,
) -> Result<Vec<VariableState>> {
    reporter.progress("reading the Bitbucket variables");
    let states = variables::compare(client, workspace, wanted).await?;
    let changes: Vec<VariableState> = states.iter().filter(|s| s.changes()).cloned().collect();
    if !changes.is_empty() {
        reporter.confirm(
            yes,
            &crate::report::pipeline::variables_text(&changes),
            "Set these Bitbucket variables?",
            "pass --yes to set them without asking",
        )?;
        variables::write(client, &states).await?;
    }
    Ok(states)
}

/// The account of the caller's credentials (`sts:GetCallerIdentity`).
pub(super) async fn caller_account(aws: &Aws, reporter: &Reporter) -> Result<String> {
    reporter.progress("finding the AWS account (sts:GetCallerIdentity)");
    let account = crate::observe::account(aws).await.map_err(|e| {
        e.hint("pass --account-id ID to generate the files without AWS credentials")
    })?;
    Ok(account.id)
}
