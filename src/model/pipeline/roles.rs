//! Which roles the pipeline's steps assume, and where each role's ARN goes in Bitbucket.
//!
//! Every step that calls AWS reads the role from the variable `AWS_ROLE_ARN`. Bitbucket gives
//! a deployment step the variables of its deployment environment over the repository variables
//! of the same name, so one variable name serves two roles: the repository's value for the
//! branch and pull-request pipelines, the environment's value in its deployment stage.

use serde::Serialize;

use super::values::Pipeline;

/// The roles the steps of the pipeline assume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PipelineRoles {
    /// One role for every step that calls AWS.
    One { arn: String },
    /// A plan role for the plan steps of every branch and pull request, and an apply role
    /// for the plan and apply steps of the deployment stage.
    PlanApply { plan_arn: String, apply_arn: String },
}

/// Where a set of variables is set in Bitbucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Repository settings > Repository variables.
    Repository,
    /// The variables of this deployment environment (Repository settings > Deployments).
    Deployment(String),
}

impl Scope {
    /// What the variables are called, e.g. "deployment variables of the Production
    /// environment".
    pub fn kind(&self) -> String {
        match self {
            Scope::Repository => "repository variables".to_string(),
            Scope::Deployment(env) => format!("deployment variables of the {env} environment"),
        }
    }

    /// Where Bitbucket shows them.
    pub fn place(&self) -> &'static str {
        match self {
            Scope::Repository => "Repository settings > Repository variables",
            Scope::Deployment(_) => "Repository settings > Deployments",
        }
    }
}

/// The variables to set in one scope: `AWS_ROLE_ARN`, and `AWS_REGION` where it is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub scope: Scope,
    pub role_arn: String,
    /// `None`: the steps read the region from the repository variable.
    pub region: Option<String>,
}

impl PipelineRoles {
    /// Whether the pipeline splits plan and apply between two roles.
    pub fn is_plan_apply(&self) -> bool {
        matches!(self, PipelineRoles::PlanApply { .. })
    }

    /// The variables to set, scope by scope, in the order they are shown: one scope for one
    /// role (the deployment environment's when the pipeline deploys to one); the repository's
    /// (plan role and region), then the deployment environment's (apply role) for a pair.
    pub fn placements(&self, p: &Pipeline, region: &str) -> Vec<Placement> {
        match self {
            PipelineRoles::One { arn } => vec![Placement {
                scope: p
                    .deployment
                    .clone()
                    .map_or(Scope::Repository, Scope::Deployment),
                role_arn: arn.clone(),
                region: Some(region.to_string()),
            }],
            PipelineRoles::PlanApply {
                plan_arn,
                apply_arn,
            } => {
                let mut out = vec![Placement {
                    scope: Scope::Repository,
                    role_arn: plan_arn.clone(),
                    region: Some(region.to_string()),
                }];
                // Pipeline::plan_apply refuses a pair without a deployment environment.
                if let Some(env) = &p.deployment {
                    out.push(Placement {
                        scope: Scope::Deployment(env.clone()),
                        role_arn: apply_arn.clone(),
                        region: None,
                    });
                }
                out
            }
        }
    }
}
