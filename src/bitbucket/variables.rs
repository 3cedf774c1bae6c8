//! Pipeline variables the tool manages (`AWS_ROLE_ARN`, `AWS_REGION`): read as they are in
//! each repository or deployment environment, compared with what the pipeline needs, and
//! written (created or updated, never deleted) only where they differ. Variables with other
//! keys are never read into a change, so never touched.

use std::collections::BTreeMap;

use futures::future::try_join_all;
use reqwest::Method;
use serde::Serialize;
use serde_json::{json, Value};

use super::client::{segment, Client, Scope};
use super::closest::closest;
use crate::error::{Error, Result};

/// Where a set of variables belongs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The repository's variables.
    Repository,
    /// The variables of the deployment environment of this name.
    Deployment(String),
    /// The variables of the deployment environment of this UUID, shown under `label`; an
    /// environment of another repository (HTTP 404) is skipped.
    DeploymentUuid { uuid: String, label: String },
}

/// The variables one repository needs in one place.
#[derive(Debug, Clone)]
pub struct Wanted {
    /// The repository's braced UUID (used in API paths: renames do not matter).
    pub repository: String,
    /// How messages name it: its slug when it was given by name, else the UUID.
    pub label: String,
    pub target: Target,
    /// `(key, value)` pairs.
    pub values: Vec<(String, String)>,
}

/// What happens to one variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    InSync,
    /// A secured variable of that key exists: its value cannot be read, so it is left alone.
    Secured,
}

/// One managed variable: where, what it is, what it should be.
#[derive(Debug, Clone, Serialize)]
pub struct VariableState {
    pub repository: String,
    /// `repository`, or the deployment environment's name.
    pub scope: String,
    pub key: String,
    pub action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
    pub wanted: String,
    /// The collection path, the variable's UUID and the object type, for the write.
    #[serde(skip)]
    write: Option<(String, Option<String>, &'static str)>,
}

impl VariableState {
    pub fn changes(&self) -> bool {
        matches!(self.action, Action::Create | Action::Update)
    }
}

/// Read every place in `wanted`, concurrently, and judge each managed variable. The
/// environments of a repository are listed once, however many of its deployments are wanted.
pub async fn compare(
    client: &Client,
    workspace: &str,
    wanted: &[Wanted],
) -> Result<Vec<VariableState>> {
    let mut repositories: Vec<&str> = wanted
        .iter()
        .filter(|w| matches!(w.target, Target::Deployment(_)))
        .map(|w| w.repository.as_str())
        .collect();
    repositories.sort_unstable();
    repositories.dedup();
    let listed = repositories.iter().map(|r| async move {
        let path = format!("{}/environments", repository_path(workspace, r));
        let envs = client.list(&path, &[], Scope::Pipeline).await?;
        Ok::<_, Error>((*r, envs.unwrap_or_default()))
    });
    let environments: BTreeMap<&str, Vec<Value>> =
        try_join_all(listed).await?.into_iter().collect();
    let reads = wanted.iter().map(|w| {
        let envs = environments.get(w.repository.as_str());
        async move { read_one(client, workspace, w, envs.map_or(&[][..], Vec::as_slice)).await }
    });
    Ok(try_join_all(reads).await?.into_iter().flatten().collect())
}

/// `/repositories/{workspace}/{repository}`, each segment encoded.
fn repository_path(workspace: &str, repository: &str) -> String {
    format!(
        "/repositories/{}/{}",
        segment(workspace),
        segment(repository)
    )
}

/// The variables of one place; `environments`: its repository's deployment environments.
async fn read_one(
    client: &Client,
    workspace: &str,
    w: &Wanted,
    environments: &[Value],
) -> Result<Vec<VariableState>> {
    let repo = repository_path(workspace, &w.repository);
    let (path, scope, kind) = match &w.target {
        Target::Repository => (
            format!("{repo}/pipelines_config/variables"),
            "repository".to_string(),
            "pipeline_variable",
        ),
        Target::Deployment(name) => {
            let env = environment(environments, name, &w.label)?;
            (
                format!(
                    "{repo}/deployments_config/environments/{}/variables",
                    segment(&env)
                ),
                name.clone(),
                "deployment_variable",
            )
        }
        Target::DeploymentUuid { uuid, label } => (
            format!(
                "{repo}/deployments_config/environments/{}/variables",
                segment(uuid)
            ),
            label.clone(),
            "deployment_variable",
        ),
    };
    let listed = match client.list(&path, &[], Scope::Pipeline).await? {
        Some(l) => l,
        None if matches!(w.target, Target::DeploymentUuid { .. }) => return Ok(Vec::new()),
        None => return Err(not_found(&w.label, workspace)),
    };
    let mut out = Vec::new();
    for (key, value) in &w.values {
        let found = listed
            .iter()
            .find(|v| v.get("key").and_then(Value::as_str) == Some(key.as_str()));
        let current = found.and_then(|v| v.get("value").and_then(Value::as_str));
        let secured = found
            .and_then(|v| v.get("secured"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let uuid = found
            .and_then(|v| v.get("uuid"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let action = match (found, secured) {
            (None, _) => Action::Create,
            (Some(_), true) => Action::Secured,
            (Some(_), false) if current == Some(value.as_str()) => Action::InSync,
            (Some(_), false) => Action::Update,
        };
        out.push(VariableState {
            repository: w.label.clone(),
            scope: scope.clone(),
            key: key.clone(),
            action,
            current: current.filter(|_| !secured).map(str::to_string),
            wanted: value.clone(),
            write: Some((path.clone(), uuid, kind)),
        });
    }
    Ok(out)
}

/// The UUID of deployment environment `name` among a repository's `envs`.
fn environment(envs: &[Value], name: &str, label: &str) -> Result<String> {
    let named: Vec<(&str, &str)> = envs
        .iter()
        .filter_map(|e| Some((e.get("name")?.as_str()?, e.get("uuid")?.as_str()?)))
        .collect();
    if let Some((_, u)) = named
        .iter()
        .find(|(n, _)| *n == name)
        .or_else(|| named.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)))
    {
        return Ok((*u).to_string());
    }
    let near = closest(name, named.iter().map(|(n, _)| *n)).map_or_else(
        || "; it has no deployment environments".to_string(),
        |c| format!("; the closest is {c:?}"),
    );
    Err(Error::usage(format!(
        "deployment environment {name:?} not found in repository {label}{near}"
    ))
    .hint("pass --deployment with the environment's name as Repository settings > Deployments shows it"))
}

fn not_found(label: &str, workspace: &str) -> Error {
    Error::usage(format!(
        "repository {label} not found in workspace {workspace} (or the token cannot see it)"
    ))
    .hint("check the repositories in bootstrap.toml and the token's access")
}

/// Write every variable that differs; returns how many were written.
pub async fn write(client: &Client, states: &[VariableState]) -> Result<usize> {
    let writes = states.iter().filter(|s| s.changes()).map(|s| async move {
        let Some((path, uuid, kind)) = &s.write else {
            return Ok(());
        };
        let body = json!({"type": kind, "key": s.key, "value": s.wanted, "secured": false});
        let (method, at) = match uuid {
            Some(u) => (Method::PUT, format!("{path}/{}", segment(u))),
            None => (Method::POST, path.clone()),
        };
        client
            .write(method, &at, &body, Scope::PipelineVariable)
            .await?
            .ok_or_else(|| {
                Error::failure(format!(
                    "{} of {} vanished while being written (HTTP 404)",
                    s.key, s.repository
                ))
            })
            .map(|_| ())
    });
    let done = try_join_all(writes).await?;
    Ok(done.len())
}
