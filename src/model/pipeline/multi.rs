//! One pipeline across accounts: a deployment stage per environment, each with the role and
//! the Terraform backend of its own account, passed as deployment variables.

use minijinja::{context, Value};

use super::render::{environment, render, Rendered, TERRAFORM_VERSION};
use super::roles::{PipelineRoles, RoleChoice};
use super::values::{branch_pattern, deployment_name, Pipeline, DEFAULT_BRANCH};
use crate::error::{Error, Result};
use crate::model::{self, DesiredState};

/// One environment of the pipeline: its name and the variables its steps read.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StageEnvironment {
    pub name: String,
    pub account: String,
    /// The role the deployment stage assumes (the apply role of a pair).
    pub role_arn: String,
    /// The plan role of a pair, for branches when this is the first environment.
    pub plan_role_arn: Option<String>,
    /// The deployment variables: `AWS_ROLE_ARN`, `AWS_REGION` and the backend's values.
    pub variables: Vec<(String, String)>,
    /// The repository variables of the branch plan (the first environment's plan role).
    #[serde(skip)]
    pub plan_variables: Vec<(String, String)>,
}

/// `NAME=CONFIG`: the environment's name, checked as `--deployment` is, and the file.
pub fn parse_entry(value: &str) -> Result<(String, std::path::PathBuf)> {
    let Some((name, path)) = value.split_once('=') else {
        return Err(Error::usage(format!(
            "--deployment {value:?}: with several accounts, every --deployment is NAME=CONFIG"
        ))
        .hint("write each as --deployment Staging=staging.toml, one per environment, in order"));
    };
    if path.trim().is_empty() {
        return Err(crate::usage!(
            "--deployment {value:?}: no configuration file after ="
        ));
    }
    Ok((
        deployment_name(name)?,
        std::path::PathBuf::from(path.trim()),
    ))
}

impl StageEnvironment {
    /// The environment `name` of the settings of its account, whose roles are one role or
    /// a plan/apply pair, as `desired` holds them.
    pub fn new(name: &str, chosen: &RoleChoice<'_>, d: &DesiredState) -> Result<StageEnvironment> {
        let (role_arn, plan_role_arn) = match chosen.arns(d)? {
            PipelineRoles::One { arn } => (arn, None),
            PipelineRoles::PlanApply {
                plan_arn,
                apply_arn,
            } => (apply_arn, Some(plan_arn)),
        };
        // The deployment role's state: the one role, or a pair's apply role (a pair shares
        // one prefix).
        let prefix = d
            .roles
            .iter()
            .find(|r| r.arn == role_arn)
            .and_then(|r| r.state_key_prefix.as_deref())
            .unwrap_or(&d.state_key_prefix);
        let backend = backend_variables(d, prefix);
        let mut variables = vec![
            ("AWS_ROLE_ARN".to_string(), role_arn.clone()),
            ("AWS_REGION".to_string(), d.account.region.clone()),
        ];
        variables.extend(backend.iter().cloned());
        let plan_variables = plan_role_arn
            .as_ref()
            .map(|arn| {
                let mut v = vec![
                    ("AWS_ROLE_ARN".to_string(), arn.clone()),
                    ("AWS_REGION".to_string(), d.account.region.clone()),
                ];
                v.extend(backend.iter().cloned());
                v
            })
            .unwrap_or_default();
        Ok(StageEnvironment {
            name: name.to_string(),
            account: d.account.id.clone(),
            role_arn,
            plan_role_arn,
            variables,
            plan_variables,
        })
    }
}

/// The backend's values as variables, read by `terraform init -backend-config=...`.
fn backend_variables(d: &DesiredState, prefix: &str) -> Vec<(String, String)> {
    let mut v = vec![
        ("TF_STATE_BUCKET".to_string(), d.bucket.name.clone()),
        ("TF_STATE_KEY".to_string(), model::state::state_key(prefix)),
        ("TF_STATE_REGION".to_string(), d.account.region.clone()),
        (
            "TF_STATE_WORKSPACE_KEY_PREFIX".to_string(),
            model::state::workspace_key_prefix(prefix),
        ),
    ];
    if let Some(t) = &d.table {
        v.push(("TF_LOCK_TABLE".to_string(), t.name.clone()));
    }
    if let Some(k) = &d.bucket.kms_key {
        v.push(("TF_STATE_KMS_KEY".to_string(), k.clone()));
    }
    v
}

/// Both files for the environments, in order; `pipelines` are each environment's checked
/// pipeline values (audiences and IP restriction are shared by the steps).
pub fn render_multi(
    environments: &[StageEnvironment],
    pipelines: &[Pipeline],
    branch: Option<&str>,
) -> Result<Rendered> {
    let branch = branch_pattern(branch.unwrap_or(DEFAULT_BRANCH))?;
    let mut audiences: Vec<String> = Vec::new();
    for p in pipelines {
        for a in &p.custom_audiences {
            if !audiences.contains(a) {
                audiences.push(a.clone());
            }
        }
    }
    let first = environments.first().ok_or_else(|| {
        Error::usage("no --deployment NAME=CONFIG given").hint("name each environment in order")
    })?;
    let branch_plan = (!first.plan_variables.is_empty()).then_some(&first.plan_variables);
    let env = environment()?;
    let pairs = |v: &[(String, String)]| -> Vec<Value> {
        v.iter()
            .map(|(k, v)| Value::from(vec![Value::from(k.as_str()), Value::from(v.as_str())]))
            .collect()
    };
    let environments: Vec<Value> = environments
        .iter()
        .map(|e| {
            context! {
                name => &e.name,
                account => &e.account,
                role_arn => &e.role_arn,
                variables => pairs(&e.variables),
            }
        })
        .collect();
    let branch_plan: Vec<Value> = branch_plan.map(|v| pairs(v)).unwrap_or_default();
    let ctx = context! {
        environments,
        branch_plan,
        audiences,
        ip_restricted => pipelines.iter().any(|p| p.ip_restricted),
        branch,
        terraform_version => TERRAFORM_VERSION,
    };
    Ok(Rendered {
        pipeline: render(&env, "bitbucket-pipelines-multi.yml", &ctx)?,
        backend: Some(render(&env, "backend-multi.tf", &ctx)?),
    })
}
