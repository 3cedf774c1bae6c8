//! `bootstrap pipeline`: write `bitbucket-pipelines.yml` and `backend.tf` for the current
//! settings, from the templates in `templates/`, and show the Bitbucket variables to set.
//!
//! The role ARN and the default bucket name contain the account id. It comes from
//! `--account-id` when given (no AWS call), otherwise from `sts:GetCallerIdentity`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::PathBuf;

use serde_json::json;

use super::verify::account_id;
use crate::aws::{self, Aws};
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::model::{self, Account, DesiredState};
use crate::report::{Output, Reporter};
use template::{hcl_str, render, yaml_str};

mod template;
mod values;
pub(super) mod write;

const PIPELINE_TEMPLATE: &str = include_str!("../../../templates/bitbucket-pipelines.yml");
const BACKEND_TEMPLATE: &str = include_str!("../../../templates/backend.tf");

pub const PIPELINE_FILE: &str = "bitbucket-pipelines.yml";
pub const BACKEND_FILE: &str = "backend.tf";
/// The Terraform image tag the pipeline runs (1.11 is the first with S3-native locking GA).
pub const TERRAFORM_VERSION: &str = "1.11";
pub const DEFAULT_BRANCH: &str = "main";
/// Bitbucket accepts at most 10 audiences per step.
const MAX_STEP_AUDIENCES: usize = 10;
const WORKSPACE_AUDIENCE_PREFIX: &str = "ari:cloud:bitbucket::workspace/";

#[derive(Debug, Clone)]
pub struct Options {
    pub out_dir: PathBuf,
    pub force: bool,
    pub account_id: Option<String>,
    pub deployment: Option<String>,
    pub branch: Option<String>,
}

/// The audiences a step must ask for: none (the workspace default) unless custom ones are
/// configured.
fn custom_audiences(settings: &Settings) -> Vec<String> {
    settings
        .audiences
        .iter()
        .filter(|a| !a.starts_with(WORKSPACE_AUDIENCE_PREFIX))
        .cloned()
        .collect()
}

fn state_key(d: &DesiredState) -> String {
    crate::model::state::state_key(&d.state_key_prefix)
}

/// The backend "s3" attributes, aligned as `terraform fmt` aligns them.
pub(super) fn backend_settings(d: &DesiredState) -> String {
    let mut attrs: Vec<(&str, String)> = vec![
        ("bucket", hcl_str(&d.bucket.name)),
        ("key", hcl_str(&state_key(d))),
        (
            "workspace_key_prefix",
            hcl_str(&model::state::workspace_key_prefix(&d.state_key_prefix)),
        ),
        ("region", hcl_str(&d.account.region)),
        ("encrypt", "true".to_string()),
        ("use_lockfile", "true".to_string()),
    ];
    if let Some(t) = &d.table {
        attrs.push(("dynamodb_table", hcl_str(&t.name)));
    }
    if let Some(k) = &d.bucket.kms_key {
        attrs.push(("kms_key_id", hcl_str(k)));
    }
    let width = attrs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    attrs
        .iter()
        .map(|(k, v)| format!("{k:<width$} = {v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

pub struct Rendered {
    pub pipeline: String,
    pub backend: String,
}

/// Both files for a desired state.
pub fn render_files(
    settings: &Settings,
    d: &DesiredState,
    deployment: Option<&str>,
    branch: &str,
) -> Result<Rendered> {
    let custom = custom_audiences(settings);
    let oidc = if custom.is_empty() {
        "oidc: true".to_string()
    } else {
        let mut s = "oidc:\n  audiences:".to_string();
        for a in &custom {
            let _ = write!(s, "\n    - {}", yaml_str(a));
        }
        s
    };
    let (kind, place) = match deployment {
        Some(env) => (
            format!("deployment variables of the {env} environment"),
            "Repository settings > Deployments".to_string(),
        ),
        None => (
            "repository variables".to_string(),
            "Repository settings > Repository variables".to_string(),
        ),
    };
    let vars: BTreeMap<&str, String> = [
        ("role_arn", d.role.arn.clone()),
        ("region", d.account.region.clone()),
        ("variables_kind", kind),
        ("variables_place", place),
        ("terraform_version", TERRAFORM_VERSION.to_string()),
        ("oidc", oidc),
        ("branch", yaml_str(branch)),
        ("deployment", deployment.map(yaml_str).unwrap_or_default()),
        ("backend_settings", backend_settings(d)),
    ]
    .into_iter()
    .collect();
    let flags: BTreeMap<&str, bool> = [
        ("ip_restricted", !settings.source_ips.is_empty()),
        ("deployment_stage", deployment.is_some()),
    ]
    .into_iter()
    .collect();
    let bug = |e: String| {
        Error::failure(format!("internal error rendering a template: {e}"))
            .hint("this is a bug in bootstrap; please report it")
    };
    Ok(Rendered {
        pipeline: render(PIPELINE_TEMPLATE, &vars, &flags).map_err(bug)?,
        backend: render(BACKEND_TEMPLATE, &vars, &flags).map_err(bug)?,
    })
}

/// Without `--environment-uuid` the role trusts every step of the repository, so the plan
/// step of the default pipeline, on any branch, gets credentials that can write the state.
fn any_branch_warning(settings: &Settings, role_arn: &str) -> Option<String> {
    settings.environments.is_empty().then(|| format!(
        "every branch can assume {role_arn}, which can write the Terraform state: the default pipeline plans with it, and anyone who can push a branch can change bitbucket-pipelines.yml to run anything with it; restrict the role to a deployment environment with --environment-uuid UUID and --deployment NAME, and limit that environment to protected branches (docs/pipelines.md, \"Who can use the role\")"
    ))
}

pub async fn run(settings: &Settings, reporter: &Reporter, opts: Options) -> Result<Output> {
    // Every input is checked before the first AWS call or file write.
    settings.require_trust_inputs()?;
    let account_flag = opts.account_id.as_deref().map(account_id).transpose()?;
    let deployment = opts
        .deployment
        .as_deref()
        .map(values::deployment_name)
        .transpose()?;
    let branch = values::branch_pattern(opts.branch.as_deref().unwrap_or(DEFAULT_BRANCH))?;
    if !settings.environments.is_empty() && deployment.is_none() {
        return Err(Error::usage(
            "the role only trusts deployment steps (--environment-uuid), so the plan and apply steps must run in a deployment environment",
        )
        .hint("pass --deployment NAME with the name of that environment (Repository settings > Deployments)"));
    }
    let custom = custom_audiences(settings);
    if custom.len() > MAX_STEP_AUDIENCES {
        return Err(Error::usage(format!(
            "{} custom audiences configured; a Bitbucket step asks for at most {MAX_STEP_AUDIENCES}",
            custom.len()
        ))
        .hint("pass fewer --audience values"));
    }
    write::check_targets(&opts.out_dir, &[PIPELINE_FILE, BACKEND_FILE], opts.force)?;

    let aws = Aws::connect(&settings.aws, reporter.verbose()).await?;
    let id = match account_flag {
        Some(id) => id,
        None => {
            reporter.progress("finding the AWS account (sts:GetCallerIdentity)");
            let me = aws.sts.get_caller_identity().send().await.map_err(|e| {
                aws::classify(&e, "finding the AWS account (sts:GetCallerIdentity)", "sts")
                    .hint("pass --account-id ID to generate the files without AWS credentials")
            })?;
            me.account()
                .ok_or_else(|| Error::failure("sts:GetCallerIdentity returned no account id"))?
                .to_string()
        }
    };
    let account = Account {
        id,
        partition: aws::partition(&aws.region).to_string(),
        region: aws.region.clone(),
    };
    let desired = model::desired(settings, &account, &[], &[])?;
    let files = render_files(settings, &desired, deployment.as_deref(), &branch)?;
    if let Some(w) = any_branch_warning(settings, &desired.role.arn) {
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
    write::write_file(&pipeline_path, &files.pipeline)?;
    write::write_file(&backend_path, &files.backend)?;

    let (kind, place) = match &deployment {
        Some(env) => (
            format!("deployment variables of the {env} environment"),
            "Repository settings > Deployments",
        ),
        None => (
            "repository variables".to_string(),
            "Repository settings > Repository variables",
        ),
    };
    let mut text = String::new();
    let _ = writeln!(text, "wrote {}", pipeline_path.display());
    let _ = writeln!(text, "wrote {}", backend_path.display());
    let _ = writeln!(text, "\nIn Bitbucket, set these {kind} ({place}):");
    let _ = writeln!(text, "  AWS_ROLE_ARN = {}", desired.role.arn);
    let _ = writeln!(text, "  AWS_REGION   = {}", desired.account.region);
    if !settings.source_ips.is_empty() {
        let _ = writeln!(
            text,
            "\nThe role is IP-restricted: the steps run as size 4x with atlassian-ip-ranges (billed at 4x)."
        );
    }
    if !custom.is_empty() {
        let _ = writeln!(
            text,
            "The steps ask for the custom audiences {}.",
            custom.join(", ")
        );
    }
    let _ = writeln!(
        text,
        "\nCommit both files. Check a step's token against the role with `bootstrap verify --token FILE`."
    );
    let doc = json!({
        "files": [
            { "path": pipeline_path.display().to_string(), "kind": "bitbucket-pipelines" },
            { "path": backend_path.display().to_string(), "kind": "terraform-backend" },
        ],
        "variables": {
            "scope": if deployment.is_some() { "deployment" } else { "repository" },
            "deployment": deployment,
            "AWS_ROLE_ARN": desired.role.arn,
            "AWS_REGION": desired.account.region,
        },
        "role_arn": desired.role.arn,
        "state_bucket": desired.bucket.name,
        "state_key": state_key(&desired),
        "lock_table": desired.table.as_ref().map(|t| t.name.clone()),
        "ip_restricted": !settings.source_ips.is_empty(),
        "custom_audiences": custom,
        "account": desired.account,
        "aws_calls": aws.calls.summary(),
    });
    Ok(Output::new(doc, text))
}
