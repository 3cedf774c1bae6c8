//! Which roles the pipeline's steps assume, and where each role's ARN goes in Bitbucket.
//!
//! Every step that calls AWS reads the role from the variable `AWS_ROLE_ARN`. Bitbucket gives
//! a deployment step the variables of its deployment environment over the repository variables
//! of the same name, so one variable name serves two roles: the repository's value for the
//! branch and pull-request pipelines, the environment's value in its deployment stage.

use serde::Serialize;

use crate::config::{Access, RoleSettings};
use crate::error::{Error, Result};
use crate::model::DesiredState;

/// The configured roles a pipeline is for: one role, or a plan role with an apply role
/// limited to deployment environments.
#[derive(Debug, Clone, Copy)]
pub enum RoleChoice<'a> {
    One(&'a RoleSettings),
    PlanApply {
        plan: &'a RoleSettings,
        apply: &'a RoleSettings,
    },
}

impl<'a> RoleChoice<'a> {
    /// The pipeline's roles among `roles` (the configured ones): exactly one role, or exactly
    /// a plan role that branch steps can assume and an apply role limited to deployment
    /// environments. Anything else is a usage error.
    pub fn of(roles: &[&'a RoleSettings]) -> Result<Self> {
        match roles {
            [one] => Ok(RoleChoice::One(one)),
            [a, b] => match (a.access, b.access) {
                (Access::Plan, Access::Apply) => Self::pair(a, b),
                (Access::Apply, Access::Plan) => Self::pair(b, a),
                _ => Err(not_one_or_a_pair(roles)),
            },
            _ => Err(not_one_or_a_pair(roles)),
        }
    }

    fn pair(plan: &'a RoleSettings, apply: &'a RoleSettings) -> Result<Self> {
        if apply.environments.is_empty() {
            return Err(Error::usage(format!(
                "the apply role {} is not limited to deployment environments, so every branch could apply with it",
                apply.name
            ))
            .hint("give the apply role environment-uuid (init --plan-apply --environment-uuid UUID, or environment-uuid in its [[role]] table)"));
        }
        if !plan.environments.is_empty() {
            return Err(Error::usage(format!(
                "the plan role {} is limited to deployment environments, so the branch and pull-request steps that plan with it could not assume it",
                plan.name
            ))
            .hint("remove environment-uuid from the plan role's [[role]] table"));
        }
        if plan.state_key_prefix != apply.state_key_prefix {
            return Err(Error::usage(format!(
                "the plan role {} keeps its state under {:?} and the apply role {} under {:?}{}; the pipeline's plan and apply steps use one backend",
                plan.name,
                plan.state_key_prefix.as_deref().unwrap_or_default(),
                apply.name,
                apply.state_key_prefix.as_deref().unwrap_or_default(),
                if plan.same_repositories(apply) {
                    ""
                } else {
                    " (they also trust different repositories, so one of them will be refused in the repository the pipeline runs in)"
                }
            ))
            .hint("give both roles the same state-key-prefix in their [[role]] tables"));
        }
        Ok(RoleChoice::PlanApply { plan, apply })
    }

    /// The roles chosen.
    pub fn all(&self) -> Vec<&'a RoleSettings> {
        match *self {
            RoleChoice::One(role) => vec![role],
            RoleChoice::PlanApply { plan, apply } => vec![plan, apply],
        }
    }

    /// The chosen roles' ARNs in the desired state.
    pub fn arns(&self, d: &DesiredState) -> Result<PipelineRoles> {
        let arn = |role: &RoleSettings| {
            d.roles
                .iter()
                .find(|r| r.name == role.name)
                .map(|r| r.arn.clone())
                .ok_or_else(|| {
                    Error::failure(format!(
                        "internal error: the role {} is not in the desired state",
                        role.name
                    ))
                    .hint("this is a bug in bootstrap; please report it")
                })
        };
        Ok(match *self {
            RoleChoice::One(role) => PipelineRoles::One { arn: arn(role)? },
            RoleChoice::PlanApply { plan, apply } => PipelineRoles::PlanApply {
                plan_arn: arn(plan)?,
                apply_arn: arn(apply)?,
            },
        })
    }
}

/// Roles that are neither one role nor a plan/apply pair.
fn not_one_or_a_pair(roles: &[&RoleSettings]) -> Error {
    let names: Vec<String> = roles
        .iter()
        .map(|r| format!("{} ({})", r.name, r.access.word()))
        .collect();
    Error::usage(format!(
        "`pipeline` writes the pipeline of one role or of a plan role and an apply role, and these settings have {} roles: {}",
        roles.len(),
        names.join(", ")
    ))
    .hint("name the roles it uses with --role: one role, or a plan role and an apply role limited to deployment environments (--role NAME-plan --role NAME-apply)")
}

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

/// Where a reader that does not know `pipeline --deployment NAME` finds a placement's
/// variables (`status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// The repository's variables.
    Repository,
    /// The variables of these deployment environments: the role's `environment-uuid`s.
    Environments(Vec<String>),
    /// The repository's (pipeline without `--deployment`), or those of the environment
    /// `--deployment NAME` named, which only that command line knows.
    RepositoryOrNamed,
}

impl<'a> RoleChoice<'a> {
    /// Each role with the placement [`PipelineRoles::placements`] gives it for a pipeline
    /// with a deployment stage, and where its variables are found without knowing that
    /// stage's name.
    pub fn found(
        &self,
        roles: &PipelineRoles,
        region: &str,
    ) -> Vec<(&'a RoleSettings, Placement, Found)> {
        // The name is not known here; the scope alone is read.
        let placements = roles.placements(Some("--deployment"), region);
        self.all()
            .into_iter()
            .zip(placements)
            .map(|(role, place)| {
                let found = match &place.scope {
                    Scope::Repository => Found::Repository,
                    Scope::Deployment(_) if !role.environments.is_empty() => {
                        Found::Environments(role.environments.clone())
                    }
                    Scope::Deployment(_) => Found::RepositoryOrNamed,
                };
                (role, place, found)
            })
            .collect()
    }
}

impl PipelineRoles {
    /// Whether the pipeline splits plan and apply between two roles.
    pub fn is_plan_apply(&self) -> bool {
        matches!(self, PipelineRoles::PlanApply { .. })
    }

    /// The variables to set, scope by scope, in the order they are shown: one scope for one
    /// role (the deployment environment's when the pipeline deploys to one); the repository's
    /// (plan role and region), then the deployment environment's (apply role) for a pair.
    /// `deployment` is the pipeline's deployment environment (`--deployment`).
    pub fn placements(&self, deployment: Option<&str>, region: &str) -> Vec<Placement> {
        match self {
            PipelineRoles::One { arn } => vec![Placement {
                scope: deployment.map_or(Scope::Repository, |d| Scope::Deployment(d.to_string())),
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
                // Pipeline::new refuses a pair without a deployment environment.
                if let Some(env) = deployment {
                    out.push(Placement {
                        scope: Scope::Deployment(env.to_string()),
                        role_arn: apply_arn.clone(),
                        region: None,
                    });
                }
                out
            }
        }
    }
}
