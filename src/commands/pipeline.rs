//! `bootstrap pipeline`: write `bitbucket-pipelines.yml` and `backend.tf` for the current
//! settings, from the templates in `templates/`, and show the Bitbucket variables to set.
//!
//! The role ARN and the default bucket name contain the account id. It comes from
//! `--account-id` when given (no AWS call), otherwise from `sts:GetCallerIdentity`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::verify::account_id;
use crate::aws::{self, Aws};
use crate::config::validate::shown;
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::model::{self, Account, DesiredState};
use crate::report::{Output, Reporter};

const PIPELINE_TEMPLATE: &str = include_str!("../../templates/bitbucket-pipelines.yml");
const BACKEND_TEMPLATE: &str = include_str!("../../templates/backend.tf");

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

/// Render a template: `{{name}}` is replaced by a value (continuation lines of a multi-line
/// value get the indentation of the line the placeholder is on); lines holding only
/// `{{#if flag}}`, `{{#unless flag}}`, `{{/if}}` or `{{/unless}}` keep or drop the lines
/// between them. Unknown names are an error, so a template and its caller cannot drift apart.
pub fn render(
    template: &str,
    vars: &BTreeMap<&str, String>,
    flags: &BTreeMap<&str, bool>,
) -> std::result::Result<String, String> {
    let mut out = String::new();
    let mut keep: Vec<bool> = Vec::new();
    for line in template.lines() {
        let t = line.trim();
        if let Some(name) = t
            .strip_prefix("{{#if ")
            .or_else(|| t.strip_prefix("{{#unless "))
            .and_then(|r| r.strip_suffix("}}"))
        {
            let value = *flags
                .get(name.trim())
                .ok_or_else(|| format!("unknown template flag `{name}`"))?;
            keep.push(if t.starts_with("{{#if ") {
                value
            } else {
                !value
            });
            continue;
        }
        if t == "{{/if}}" || t == "{{/unless}}" {
            keep.pop().ok_or("unbalanced {{/if}} in a template")?;
            continue;
        }
        if keep.iter().any(|k| !k) {
            continue;
        }
        let indent: String = line.chars().take_while(|c| *c == ' ').collect();
        let mut rest = line;
        let mut rendered = String::new();
        while let Some(start) = rest.find("{{") {
            let end = rest[start..]
                .find("}}")
                .ok_or_else(|| format!("unclosed placeholder in `{line}`"))?;
            let name = &rest[start + 2..start + end];
            let value = vars
                .get(name)
                .ok_or_else(|| format!("unknown template variable `{name}`"))?;
            rendered.push_str(&rest[..start]);
            rendered.push_str(&value.replace('\n', &format!("\n{indent}")));
            rest = &rest[start + end + 2..];
        }
        rendered.push_str(rest);
        out.push_str(rendered.trim_end());
        out.push('\n');
    }
    if !keep.is_empty() {
        return Err("unclosed {{#if}} in a template".to_string());
    }
    Ok(out)
}

/// A YAML double-quoted scalar (JSON strings are valid YAML).
fn yaml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
}

/// An HCL quoted string: escapes quotes, backslashes and template sequences.
fn hcl_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out.replace("${", "$${").replace("%{", "%%{")
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
    if d.state_key_prefix.is_empty() {
        "terraform.tfstate".to_string()
    } else {
        format!("{}/terraform.tfstate", d.state_key_prefix)
    }
}

/// The backend "s3" attributes, aligned as `terraform fmt` aligns them.
pub(super) fn backend_settings(d: &DesiredState) -> String {
    let mut attrs: Vec<(&str, String)> = vec![
        ("bucket", hcl_str(&d.bucket.name)),
        ("key", hcl_str(&state_key(d))),
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

fn deployment_name(value: &str) -> Result<String> {
    let ok = !value.trim().is_empty()
        && value.chars().count() <= 100
        && !value.chars().any(char::is_control);
    if ok {
        Ok(value.trim().to_string())
    } else {
        Err(Error::usage(format!(
            "--deployment {:?}: expected the name of a Bitbucket deployment environment, e.g. Production",
            shown(value)
        )))
    }
}

fn branch_name(value: &str) -> Result<String> {
    let ok = !value.is_empty()
        && value.len() <= 255
        && !value.chars().any(|c| c.is_control() || c == ' ')
        && !value.starts_with('-');
    if ok {
        Ok(value.to_string())
    } else {
        Err(Error::usage(format!(
            "--branch {:?}: expected a branch name like main",
            shown(value)
        )))
    }
}

/// Refuse to overwrite files without `--force`, before anything else happens.
fn check_targets(dir: &Path, force: bool) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        return Err(Error::usage(format!(
            "--out-dir {}: exists and is not a directory",
            dir.display()
        ))
        .hint("pass a directory, e.g. the root of your Terraform repository"));
    }
    if force {
        return Ok(());
    }
    let existing: Vec<String> = [PIPELINE_FILE, BACKEND_FILE]
        .iter()
        .map(|f| dir.join(f))
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .collect();
    if !existing.is_empty() {
        return Err(Error::usage(format!(
            "{} already exist{}; nothing was written",
            existing.join(" and "),
            if existing.len() == 1 { "s" } else { "" }
        ))
        .hint("pass --force to overwrite, or choose another --out-dir"));
    }
    Ok(())
}

fn write_file(path: &Path, content: &str) -> Result<()> {
    std::fs::write(path, content)
        .map_err(|e| Error::failure(format!("cannot write {}: {e}", path.display())))
}

pub async fn run(settings: &Settings, reporter: &Reporter, opts: Options) -> Result<Output> {
    // Every input is checked before the first AWS call or file write.
    settings.require_trust_inputs()?;
    let account_flag = opts.account_id.as_deref().map(account_id).transpose()?;
    let deployment = opts
        .deployment
        .as_deref()
        .map(deployment_name)
        .transpose()?;
    let branch = branch_name(opts.branch.as_deref().unwrap_or(DEFAULT_BRANCH))?;
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
    check_targets(&opts.out_dir, opts.force)?;

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
    write_file(&pipeline_path, &files.pipeline)?;
    write_file(&backend_path, &files.backend)?;

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

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&'static str, &str)]) -> BTreeMap<&'static str, String> {
        pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
    }

    #[test]
    fn placeholders_and_sections() {
        let t = "a: {{x}}\n{{#if on}}\nb: 1\n{{/if}}\n{{#unless on}}\nc: 2\n{{/unless}}\n";
        let flags = [("on", true)].into_iter().collect();
        assert_eq!(
            render(t, &vars(&[("x", "1")]), &flags).unwrap(),
            "a: 1\nb: 1\n"
        );
        let flags = [("on", false)].into_iter().collect();
        assert_eq!(
            render(t, &vars(&[("x", "1")]), &flags).unwrap(),
            "a: 1\nc: 2\n"
        );
    }

    #[test]
    fn multiline_values_keep_indentation() {
        let t = "steps:\n    {{block}}\n";
        let out = render(
            t,
            &vars(&[("block", "oidc:\n  audiences:")]),
            &BTreeMap::new(),
        );
        assert_eq!(out.unwrap(), "steps:\n    oidc:\n      audiences:\n");
    }

    #[test]
    fn unknown_names_are_errors() {
        assert!(render("{{nope}}", &BTreeMap::new(), &BTreeMap::new()).is_err());
        assert!(render("{{#if nope}}\n{{/if}}", &BTreeMap::new(), &BTreeMap::new()).is_err());
        let flags = [("on", true)].into_iter().collect();
        assert!(render("{{#if on}}\n", &BTreeMap::new(), &flags).is_err());
        assert!(render("{{/if}}\n", &BTreeMap::new(), &BTreeMap::new()).is_err());
    }

    #[test]
    fn hcl_strings_are_escaped() {
        assert_eq!(hcl_str("a\"b"), "\"a\\\"b\"");
        assert_eq!(hcl_str("${x}"), "\"$${x}\"");
    }
}
