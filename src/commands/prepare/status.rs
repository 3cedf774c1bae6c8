//! What `status` shows, in the mode [`prepare`](super::prepare) staged ([`Status`]): in
//! direct mode the diff and, with Bitbucket credentials, the pipeline's variables; a stack's
//! resources, each read from its own service, its roles as they are, or (with no stack) what
//! would stop `init` from creating it; a StackSet's plan.

use super::{DirectStaged, Prepared, StackStaged, Staged};
use crate::bitbucket::variables::{self, Action, Target, VariableState, Wanted};
use crate::bitbucket::{Client, Credentials};
use crate::config::Settings;
use crate::error::Result;
use crate::model::pipeline::{Found, RoleChoice};
use crate::model::DesiredState;
use crate::observe::{self, ObservedRole};
use crate::plan::mode::{DirectStatus, RolesReview, StackSetPlanned, StackStatus, Status};
use crate::plan::stack::{self as stack_plan, ResourceState};
use crate::plan::stackset;
use crate::report::Reporter;

/// Read what `status` shows of `p` beyond what was prepared.
pub(in crate::commands) async fn for_status<'p>(
    p: &'p Prepared,
    settings: &Settings,
    reporter: &Reporter,
) -> Result<Status<'p>> {
    Ok(match &p.staged {
        Staged::Direct(d) => Status::Direct(Box::new(direct(p, d, settings, reporter).await?)),
        Staged::Stack(s) => Status::Stack(Box::new(stack(p, s, reporter).await?)),
        Staged::StackSet(s) => {
            reporter.progress(format!("reading StackSet {}", s.spec.name));
            Status::StackSet(Box::new(StackSetPlanned {
                spec: &s.spec,
                plan: stackset::plan(&s.spec, s.deployed.clone())?,
                symbolic: &s.template.desired,
            }))
        }
    })
}

/// Direct mode: the diff, the stale roles, and the Bitbucket variables.
async fn direct<'p>(
    p: &'p Prepared,
    d: &'p DirectStaged,
    settings: &Settings,
    reporter: &Reporter,
) -> Result<DirectStatus<'p>> {
    Ok(DirectStatus {
        diff: &d.plan,
        observed: &d.observed,
        stale: &d.stale,
        variables: bitbucket_variables(settings, &p.desired, reporter).await?,
    })
}

/// No stack (and whether `init` could create it), or the stack as it stands: its plan, each
/// resource as read from its own service, and its roles.
async fn stack(p: &Prepared, s: &StackStaged, reporter: &Reporter) -> Result<StackStatus> {
    let (spec, cfn) = (&s.spec, &p.aws.cloudformation);
    reporter.progress(format!("reading stack {}", spec.name));
    let sp = stack_plan::for_status(spec, s.deployed.clone())?;
    if sp.status.is_none() {
        // What init would meet: resources of these names outside any stack stop a create.
        let o = observe::all(&p.aws, &p.desired).await?;
        let blocked = stack_plan::refuse_existing(&p.desired, &o, &spec.name).err();
        let name = spec.name.clone();
        return Ok(StackStatus::Missing { name, blocked });
    }
    let stack_id = sp.deployed.as_ref().map_or(&spec.name, |d| &d.stack_id);
    let listed = observe::stack::resources(cfn, stack_id, &spec.name).await?;
    let mut resources = stack_plan::resource_states(&s.template.resources(), &listed);
    let roles = observe::roles(&p.aws, &p.desired).await?;
    mark_live(p, &mut resources, &roles).await?;
    Ok(StackStatus::Present {
        plan: Box::new(sp),
        resources,
        roles: RolesReview::of(&p.desired, &roles),
    })
}

/// Whether each resource of the stack exists, read from its own service: a resource deleted
/// outside the stack is still listed by CloudFormation. `roles` are the configured roles as
/// read; other kinds than roles, the provider, the bucket and the table are not read.
async fn mark_live(
    p: &Prepared,
    resources: &mut [ResourceState],
    roles: &[Option<ObservedRole>],
) -> Result<()> {
    for r in resources.iter_mut().filter(|r| !r.physical_id.is_empty()) {
        let id = r.physical_id.as_str();
        r.exists = match r.resource_type.as_str() {
            "AWS::IAM::Role" => p
                .desired
                .roles
                .iter()
                .position(|d| d.name == id)
                .and_then(|i| roles.get(i))
                .map(Option::is_some),
            "AWS::IAM::OIDCProvider" => Some(observe::provider(&p.aws, id).await?.is_some()),
            "AWS::S3::Bucket" => Some(observe::bucket(&p.aws, id).await?.is_some()),
            "AWS::DynamoDB::Table" => Some(observe::table(&p.aws, id).await?.is_some()),
            _ => None,
        };
    }
    Ok(())
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
        (credentials, settings.trust.bitbucket.workspace.as_deref())
    else {
        return Ok(None);
    };
    let Ok(chosen) = RoleChoice::of(&settings.roles.iter().collect::<Vec<_>>()) else {
        return Ok(None);
    };
    let env_label = |uuid: &str| settings.trust.bitbucket.name_of("environment", uuid);
    let repo_label = |uuid: &str| settings.trust.bitbucket.name_of("repository", uuid);
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
    let (mut states, maybe) = tokio::try_join!(
        variables::compare(&client, workspace, &sure),
        variables::compare(&client, workspace, &maybe),
    )?;
    let (found, elsewhere): (Vec<_>, Vec<_>) =
        maybe.into_iter().partition(|v| v.action != Action::Create);
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
