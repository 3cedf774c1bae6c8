//! `status` in direct mode: prepare (issuer, live state, desired state, diff) and report each
//! resource as in sync, drifted or missing.

use super::setup::{prepare, Stale};
use crate::bitbucket::variables::{self, Action, Target, VariableState, Wanted};
use crate::bitbucket::{Client, Credentials};
use crate::config::Settings;
use crate::error::Result;
use crate::model::pipeline::{Found, RoleChoice};
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
    let env_label = |uuid: &str| settings.bitbucket.name_of("environment", uuid);
    let repo_label = |uuid: &str| settings.bitbucket.name_of("repository", uuid);
    // The places `pipeline` writes to; where it may have used a `--deployment` environment
    // status cannot name, only the repository's variables are read, and none missing there
    // is reported missing.
    let (mut sure, mut maybe) = (Vec::new(), Vec::new());
    let roles = chosen.arns(desired)?;
    for (role, place, found) in chosen.found(&roles, &desired.account.region) {
        let mut values = vec![("AWS_ROLE_ARN".to_string(), place.role_arn.clone())];
        if let Some(region) = &place.region {
            values.push(("AWS_REGION".to_string(), region.clone()));
        }
        let targets: Vec<Target> = match &found {
            Found::Repository | Found::RepositoryOrNamed => vec![Target::Repository],
            Found::Environments(uuids) => uuids
                .iter()
                .map(|e| Target::DeploymentUuid {
                    uuid: e.clone(),
                    label: env_label(e),
                })
                .collect(),
        };
        let into = if found == Found::RepositoryOrNamed {
            &mut maybe
        } else {
            &mut sure
        };
        for repo in &role.repositories {
            for target in &targets {
                into.push(Wanted {
                    repository: repo.clone(),
                    label: repo_label(repo),
                    target: target.clone(),
                    values: values.clone(),
                });
            }
        }
    }
    reporter.progress("reading the Bitbucket variables");
    let client = Client::new(settings, &credentials)?;
    let mut states = variables::compare(&client, workspace, &sure).await?;
    let (found, elsewhere): (Vec<_>, Vec<_>) = variables::compare(&client, workspace, &maybe)
        .await?
        .into_iter()
        .partition(|v| v.action != Action::Create);
    if !elsewhere.is_empty() {
        let keys: Vec<String> = elsewhere
            .iter()
            .map(|v| format!("{} {}", v.repository, v.key))
            .collect();
        reporter.warn(format!(
            "not found as repository variables, so not reported missing: {} (`pipeline --deployment NAME` puts them in that deployment environment, whose name status cannot know; give the role environment-uuid to have them checked there)",
            keys.join(", ")
        ));
    }
    states.extend(found);
    Ok(Some(states))
}
