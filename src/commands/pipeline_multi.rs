//! `bootstrap pipeline --deployment NAME=CONFIG ...`: one pipeline promoting through
//! environments in different AWS accounts. Each CONFIG is the `bootstrap.toml` of one
//! account (its own issuer, region, roles and state); the global settings of the command line
//! (`--ca-bundle`, `--timeout`, `--bitbucket-api-url`) fill what a file leaves out.

use std::path::Path;

use super::pipeline::{caller_account, set_variables, write_files, Options};
use crate::aws::{self, Aws};
use crate::bitbucket::variables::{Target, Wanted};
use crate::bitbucket::{self, resolve_names};
use crate::config::Access;
use crate::config::{self, Settings};
use crate::error::{Error, Result};
use crate::model::pipeline::{
    self, parse_entry, render_multi, Pipeline, RoleChoice, StageEnvironment, BACKEND_FILE,
    PIPELINE_FILE,
};
use crate::model::{self, Account};
use crate::report::files::check_targets;
use crate::report::pipeline::{AccountsBody, KeptFile, PipelineReport};
use crate::report::{Output, Reporter};

/// One environment's settings, read from its file.
struct Stage {
    name: String,
    settings: Settings,
}

pub(super) async fn run(settings: &Settings, reporter: &Reporter, opts: Options) -> Result<Output> {
    // Every file is read and checked before the first network call.
    let stages = read_stages(&opts, settings)?;
    for stage in &stages {
        check_stage_roles(stage)?;
    }
    // Existing files are left as they are (their content is shown instead) unless --force.
    let kept = check_targets(&opts.out_dir, &[PIPELINE_FILE, BACKEND_FILE], opts.force)?;
    // The pipeline runs in the repositories of one workspace: the first file's.
    let first = stages.first().map_or(settings, |s| &s.settings);
    let bb = opts
        .set_variables
        .then(|| bitbucket::connect(first, "--set-variables"))
        .transpose()?;

    let mut envs = Vec::new();
    let mut pipelines = Vec::new();
    let mut repositories = Vec::new();
    let mut calls = Vec::new();
    // The accounts are independent: each is learned at once, and its warnings (then the
    // first error) are told in the order of the stages.
    let learned =
        futures::future::join_all(stages.iter().map(|s| prepare_stage(s, &opts, reporter))).await;
    for p in learned {
        let p = p?;
        for w in &p.warnings {
            reporter.warn(w);
        }
        envs.push(p.env);
        pipelines.push(p.pipeline);
        repositories.push(p.repositories);
        calls.push(p.calls);
    }
    let files = render_multi(&envs, &pipelines, opts.branch.as_deref())?;
    let written = write_files(&opts.out_dir, &files, &kept)?;

    let states = match &bb {
        Some((client, workspace)) => {
            let wanted = wanted(&envs, &repositories);
            Some(set_variables(client, workspace, &wanted, reporter, opts.yes).await?)
        }
        None => None,
    };
    let kept = written.kept.iter().map(|(path, content)| KeptFile {
        kind: if path.ends_with(PIPELINE_FILE) {
            "bitbucket-pipelines"
        } else {
            "terraform-backend"
        },
        path: path.clone(),
        content: content.clone(),
    });
    let report = AccountsBody {
        files: [Some(written.pipeline), written.backend]
            .into_iter()
            .flatten()
            .map(|p| p.display().to_string())
            .filter(|p| !written.kept.iter().any(|(k, _)| k == p))
            .collect(),
        kept: kept.collect(),
        environments: envs,
        bitbucket_variables: states,
        aws_calls: calls,
    };
    Ok(Output::of(
        &PipelineReport::Accounts(Box::new(report)),
        reporter,
    ))
}

/// Every `--deployment NAME=CONFIG`, its file read and checked.
fn read_stages(opts: &Options, settings: &Settings) -> Result<Vec<Stage>> {
    if opts.account_id.is_some() || !opts.roles.is_empty() {
        return Err(Error::usage(
            "--account-id and --role do not apply with --deployment NAME=CONFIG: each environment's file names its account and roles",
        )
        .hint("drop --account-id and --role"));
    }
    let mut stages: Vec<Stage> = Vec::new();
    for entry in &opts.deployment {
        let (name, path) = parse_entry(entry)?;
        if stages.iter().any(|s| s.name == name) {
            return Err(crate::usage!("--deployment {name} is given twice")
                .hint("name each environment once, in the order the pipeline promotes"));
        }
        stages.push(Stage {
            settings: stage_settings(settings, &path)?,
            name,
        });
    }
    Ok(stages)
}

/// One environment, learned: its names resolved, its account asked, its roles' ARNs.
struct Prepared {
    env: StageEnvironment,
    pipeline: Pipeline,
    /// The repositories of the deployment role, and of the plan role of a pair.
    repositories: (Vec<String>, Vec<String>),
    calls: serde_json::Value,
    /// Said before the files are written, stage by stage.
    warnings: Vec<String>,
}

async fn prepare_stage(stage: &Stage, opts: &Options, reporter: &Reporter) -> Result<Prepared> {
    let named = |e: Error| e.resource(format!("deployment {}", stage.name));
    let s = resolve_names(&stage.settings, reporter)
        .await
        .map_err(named)?;
    crate::model::quota::check_trust_inputs(&s).map_err(named)?;
    let chosen = RoleChoice::of(&s.roles.iter().collect::<Vec<_>>()).map_err(named)?;
    let pipeline = Pipeline::new(&s, &chosen, Some(&stage.name), opts.branch.as_deref())?;
    let aws = Aws::connect(&s.aws, reporter.verbose()).await?;
    let account = Account {
        id: caller_account(&aws, reporter).await?,
        partition: aws::partition(&aws.region).to_string(),
        region: aws.region.clone(),
    };
    // An account set up by an earlier version keeps its bucket under the earlier default name.
    let s = super::prepare::with_earlier_bucket(&aws, &s, &account).await?;
    let desired = model::desired(&s, &account, &[], &[])?;
    let env = StageEnvironment::new(&stage.name, &chosen, &desired)?;
    let roles = chosen.arns(&desired)?;
    let warnings = [
        pipeline::any_branch_warning(&chosen, &roles),
        pipeline::pair_trust_warning(&chosen),
    ]
    .into_iter()
    .flatten()
    .map(|w| format!("{}: {w}", stage.name))
    .collect();
    let all = chosen.all();
    let deploy = all
        .last()
        .map(|r| r.repositories.clone())
        .unwrap_or_default();
    let plan = if all.len() > 1 {
        all[0].repositories.clone()
    } else {
        Vec::new()
    };
    Ok(Prepared {
        env,
        pipeline,
        warnings,
        repositories: (deploy, plan),
        calls: aws.calls.summary(),
    })
}

/// A stage deploys with Terraform: its role (the one role, or a pair's apply role) must be
/// able to write the state. A plan role cannot apply, and a cdk role has no Terraform backend.
fn check_stage_roles(stage: &Stage) -> Result<()> {
    // Checked before the names are resolved: a pair is plan and apply (RoleChoice checks
    // the rest once the environments are known), so only one role can be the wrong kind.
    let [role] = stage.settings.roles.as_slice() else {
        return Ok(());
    };
    let why = match role.access {
        Access::Apply => return Ok(()),
        Access::Plan => "cannot write the Terraform state its stage applies",
        Access::Cdk => "has no Terraform backend for its stage's `terraform apply`",
    };
    Err(crate::usage!(
        "--deployment {}: its role {} has access = \"{}\", which {why}",
        stage.name,
        role.name,
        role.access.word()
    )
    .hint("give that environment's file a role with access = \"apply\" (or a plan/apply pair), or generate its pipeline alone with `bootstrap pipeline --deployment NAME`"))
}

/// One environment's settings: its file, with the command line's global settings where the
/// file has none.
fn stage_settings(global: &Settings, path: &Path) -> Result<Settings> {
    let file = config::load_file(Some(path))?
        .ok_or_else(|| crate::usage!("--deployment: cannot read {}", path.display()))?;
    let api_url_given = file.inputs.bitbucket_api_url.is_some();
    let mut s =
        Settings::from_inputs(file.inputs).map_err(|e| e.resource(path.display().to_string()))?;
    s.ca_bundle = s.ca_bundle.or_else(|| global.ca_bundle.clone());
    s.timeout = global.timeout;
    if !api_url_given {
        s.trust
            .bitbucket
            .api_url
            .clone_from(&global.trust.bitbucket.api_url);
    }
    Ok(s)
}

/// Each environment's deployment variables in the repositories its deployment role trusts;
/// the first environment's plan variables as repository variables of its plan role's.
fn wanted(envs: &[StageEnvironment], repos: &[(Vec<String>, Vec<String>)]) -> Vec<Wanted> {
    let mut out = Vec::new();
    for (i, (env, (deploy, plan))) in envs.iter().zip(repos).enumerate() {
        for r in deploy {
            out.push(Wanted {
                repository: r.clone(),
                label: r.clone(),
                target: Target::Deployment(env.name.clone()),
                values: env.variables.clone(),
            });
        }
        if i == 0 && !env.plan_variables.is_empty() {
            for r in plan {
                out.push(Wanted {
                    repository: r.clone(),
                    label: r.clone(),
                    target: Target::Repository,
                    values: env.plan_variables.clone(),
                });
            }
        }
    }
    out
}
