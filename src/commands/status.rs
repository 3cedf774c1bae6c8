//! `status` in direct mode: prepare (issuer, live state, desired state, diff) and report each
//! resource as in sync, drifted or missing.

use super::setup::{prepare, Stale};
use crate::bitbucket::variables::{self, Target, VariableState, Wanted};
use crate::bitbucket::{Client, Credentials};
use crate::config::Settings;
use crate::error::Result;
use crate::model::pipeline::{PipelineRoles, RoleChoice};
use crate::model::DesiredState;
use crate::report::{Output, Reporter, StatusReport};

pub(super) async fn run(
    settings: &Settings,
    reporter: &Reporter,
    detailed_exitcode: bool,
    roles: &[String],
) -> Result<Output> {
    let narrowed = settings.narrowed(roles)?;
    let p = prepare(&narrowed, reporter, Stale::unless_narrowed(roles)).await?;
    let vars = bitbucket_variables(&narrowed, &p.desired, reporter).await?;
    let report = StatusReport {
        aws_calls: p.aws.calls.summary(),
        detailed_exitcode,
        ..StatusReport::new(&p.desired.account, &p.plan, &p.observed)
            .with_stale(&p.stale)
            .with_variables(vars.as_deref())
    };
    Ok(Output::of(&report, reporter))
}

/// With Bitbucket credentials and a workspace, the variables the pipeline of these roles
/// reads (one role, or a plan/apply pair, as `pipeline` writes them), as they are in
/// Bitbucket. `None` without credentials or for roles no one pipeline serves.
async fn bitbucket_variables(
    settings: &Settings,
    desired: &DesiredState,
    reporter: &Reporter,
) -> Result<Option<Vec<VariableState>>> {
    let credentials = match Credentials::from_env() {
        Ok(c) => c,
        Err(e) => {
            reporter.warn(format!(
                "the Bitbucket variables are not checked: {}",
                e.message
            ));
            None
        }
    };
    let (Some(credentials), Some(workspace)) =
        (credentials, settings.bitbucket.workspace.as_deref())
    else {
        return Ok(None);
    };
    let Ok(chosen) = RoleChoice::of(&settings.roles.iter().collect::<Vec<_>>()) else {
        return Ok(None);
    };
    let region = desired.account.region.clone();
    let env_label = |uuid: &str| settings.bitbucket.name_of("environment", uuid);
    let repo_label = |uuid: &str| settings.bitbucket.name_of("repository", uuid);
    let mut wanted = Vec::new();
    let mut add = |role: &crate::config::RoleSettings, arn: &str, with_region: bool| {
        let mut values = vec![("AWS_ROLE_ARN".to_string(), arn.to_string())];
        if with_region {
            values.push(("AWS_REGION".to_string(), region.clone()));
        }
        for repo in &role.repositories {
            let targets: Vec<Target> = if role.environments.is_empty() {
                vec![Target::Repository]
            } else {
                role.environments
                    .iter()
                    .map(|e| Target::DeploymentUuid {
                        uuid: e.clone(),
                        label: env_label(e),
                    })
                    .collect()
            };
            for target in targets {
                wanted.push(Wanted {
                    repository: repo.clone(),
                    label: repo_label(repo),
                    target,
                    values: values.clone(),
                });
            }
        }
    };
    match (chosen, chosen.arns(desired)?) {
        (RoleChoice::One(role), PipelineRoles::One { arn }) => add(role, &arn, true),
        (
            RoleChoice::PlanApply { plan, apply },
            PipelineRoles::PlanApply {
                plan_arn,
                apply_arn,
            },
        ) => {
            add(plan, &plan_arn, true);
            add(apply, &apply_arn, false);
        }
        _ => return Ok(None),
    }
    reporter.progress("reading the Bitbucket variables");
    let client = Client::new(settings, &credentials)?;
    Ok(Some(variables::compare(&client, workspace, &wanted).await?))
}
