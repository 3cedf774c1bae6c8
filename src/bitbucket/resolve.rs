//! Names to UUIDs: the workspace (for the default audience), repository slugs and deployment
//! environment names, all asked for at once. Repository slugs go ten to a query
//! (`q=slug="a" OR slug="b" ...`, one page of Bitbucket's default page length), the queries,
//! the workspace and the environment listings concurrently: the whole resolution is one round
//! trip plus any further pages.

use std::collections::{BTreeMap, BTreeSet};

use futures::future::try_join_all;
use serde_json::Value;

use super::client::{segment, Client, Scope};
use super::closest::closest;
use super::{Credentials, CREDENTIAL_VARIABLES};
use crate::config::{validate, BitbucketSettings, ResolvedName, RoleSettings, Settings};
use crate::error::{Error, Result};
use crate::progress::Progress;

/// Slugs per repository query: Bitbucket's default page length, so each answer is one page.
const SLUGS_PER_QUERY: usize = 10;

/// The settings with every Bitbucket name resolved into the UUIDs the trust policies hold
/// (and the workspace's default audience when only `workspace` identifies it). Settings
/// without names come back unchanged, without credentials or any request.
pub async fn resolve_names(settings: &Settings, progress: &dyn Progress) -> Result<Settings> {
    let names = BitbucketSettings::names_in(&settings.roles);
    let bb = &settings.trust.bitbucket;
    let want_workspace =
        bb.workspace.is_some() && !bb.workspace_uuid_given && settings.trust.audiences.is_empty();
    // Without names only the default audience could be looked up, and only with usable
    // credentials: without them everything stays as it always was.
    let credentials = if names {
        Credentials::from_env()?
    } else if want_workspace {
        Credentials::from_env().ok().flatten()
    } else {
        None
    };
    if !names && credentials.is_none() {
        return Ok(settings.clone());
    }
    let Some(credentials) = credentials else {
        return Err(Error::usage(format!(
            "{} are Bitbucket names, and no Bitbucket credentials are set to look them up",
            first_names(&settings.roles)
        ))
        .hint(format!(
            "set {CREDENTIAL_VARIABLES} (docs/bitbucket.md), or give repository-uuid and environment-uuid instead"
        )));
    };
    let Some(workspace) = bb.workspace.clone() else {
        return Err(Error::usage(
            "repository and environment names need the workspace they belong to",
        )
        .hint("add workspace = \"SLUG\" to bootstrap.toml (or pass --workspace SLUG)"));
    };
    let client = Client::new(settings, &credentials)?;
    progress.progress(&format!(
        "looking up Bitbucket names in workspace {workspace}"
    ));
    let r = Resolver {
        client: &client,
        workspace: &workspace,
    };
    let (ws_uuid, repos, envs) = futures::try_join!(
        r.workspace_uuid(want_workspace),
        r.repositories(&settings.roles),
        r.environments(&settings.roles),
    )?;
    apply(settings, &workspace, ws_uuid, &repos, &envs)
}

/// "repository infra" (the first names given), for the message without credentials.
fn first_names(roles: &[RoleSettings]) -> String {
    let mut out = Vec::new();
    for r in roles {
        out.extend(
            r.repository_names
                .iter()
                .map(|n| format!("repository {n:?}")),
        );
        out.extend(
            r.environment_names
                .iter()
                .map(|n| format!("environment {n:?}")),
        );
    }
    let more = out.len().saturating_sub(2);
    out.truncate(2);
    let mut s = out.join(", ");
    if more > 0 {
        s.push_str(&format!(" (and {more} more)"));
    }
    s
}

struct Resolver<'a> {
    client: &'a Client,
    workspace: &'a str,
}

/// Environments by repository key (slug, or braced UUID), each `(name, uuid)`.
type Environments = BTreeMap<String, Vec<(String, String)>>;

impl Resolver<'_> {
    fn workspace_path(&self) -> String {
        segment(self.workspace)
    }

    async fn workspace_uuid(&self, wanted: bool) -> Result<Option<String>> {
        if !wanted {
            return Ok(None);
        }
        let path = format!("/workspaces/{}", self.workspace_path());
        let Some(ws) = self.client.get(&path, &[], Scope::Account).await? else {
            return Err(self.no_workspace());
        };
        let uuid = uuid_field(&ws, "workspace", self.workspace)?;
        Ok(Some(uuid))
    }

    fn no_workspace(&self) -> Error {
        Error::usage(format!(
            "workspace {:?} not found in Bitbucket (or the token cannot see it)",
            self.workspace
        ))
        .hint("check workspace in bootstrap.toml (--workspace), and that the token belongs to that workspace")
    }

    /// Every repository slug of every role, slug -> UUID.
    async fn repositories(&self, roles: &[RoleSettings]) -> Result<BTreeMap<String, String>> {
        let slugs: BTreeSet<&str> = roles
            .iter()
            .flat_map(|r| r.repository_names.iter().map(String::as_str))
            .collect();
        let slugs: Vec<&str> = slugs.into_iter().collect();
        let path = format!("/repositories/{}", self.workspace_path());
        let queries = slugs.chunks(SLUGS_PER_QUERY).map(|chunk| {
            let q = chunk
                .iter()
                .map(|s| format!("slug=\"{s}\""))
                .collect::<Vec<_>>()
                .join(" OR ");
            let path = path.clone();
            async move {
                self.client
                    .list(&path, &[("q", &q)], Scope::Repository)
                    .await?
                    .ok_or_else(|| self.no_workspace())
            }
        });
        let mut found = BTreeMap::new();
        for repo in try_join_all(queries).await?.into_iter().flatten() {
            if let Some(slug) = repo.get("slug").and_then(Value::as_str) {
                let uuid = uuid_field(&repo, "repository", slug)?;
                found.insert(slug.to_ascii_lowercase(), uuid);
            }
        }
        if let Some(missing) = slugs.iter().find(|s| !found.contains_key(**s)) {
            return Err(self.no_repository(missing).await);
        }
        Ok(found)
    }

    /// A repository slug not found: name it and the closest one the workspace has.
    async fn no_repository(&self, slug: &str) -> Error {
        let path = format!("/repositories/{}", self.workspace_path());
        let all = self
            .client
            .list(&path, &[], Scope::Repository)
            .await
            .ok()
            .flatten()
            .unwrap_or_default();
        let known: Vec<&str> = all
            .iter()
            .filter_map(|r| r.get("slug").and_then(Value::as_str))
            .collect();
        let near = closest(slug, known.iter().copied())
            .map_or_else(String::new, |c| format!("; the closest is {c:?}"));
        Error::usage(format!(
            "repository {slug:?} not found in workspace {}{near}",
            self.workspace
        ))
        .hint("fix repository = [...] in bootstrap.toml (a slug, as in the repository's URL)")
    }

    /// The environments of every repository a role names environments for.
    async fn environments(&self, roles: &[RoleSettings]) -> Result<Environments> {
        let keys: BTreeSet<String> = roles
            .iter()
            .filter(|r| !r.environment_names.is_empty())
            .flat_map(repository_keys)
            .collect();
        let listings = keys.into_iter().map(|key| async move {
            let path = format!(
                "/repositories/{}/{}/environments",
                self.workspace_path(),
                segment(&key)
            );
            let values = self
                .client
                .list(&path, &[], Scope::Pipeline)
                .await?
                .ok_or_else(|| {
                    Error::usage(format!(
                        "repository {key:?} not found in workspace {}",
                        self.workspace
                    ))
                    .hint("fix repository or repository-uuid in bootstrap.toml")
                })?;
            let mut envs = Vec::new();
            for v in &values {
                if let Some(name) = v.get("name").and_then(Value::as_str) {
                    envs.push((name.to_string(), uuid_field(v, "environment", name)?));
                }
            }
            Ok::<_, Error>((key, envs))
        });
        Ok(try_join_all(listings).await?.into_iter().collect())
    }
}

/// The keys a role's repositories go by in API paths: slugs, then braced UUIDs.
fn repository_keys(role: &RoleSettings) -> Vec<String> {
    role.repository_names
        .iter()
        .chain(role.repositories.iter())
        .cloned()
        .collect()
}

/// The `uuid` of an API object, checked and normalised (lowercase, braced).
fn uuid_field(v: &Value, kind: &str, name: &str) -> Result<String> {
    v.get("uuid")
        .and_then(Value::as_str)
        .and_then(|u| validate::uuid("uuid", u).ok())
        .ok_or_else(|| {
            Error::failure(format!(
                "Bitbucket's answer for {kind} {name:?} has no usable uuid"
            ))
            .hint("check --bitbucket-api-url")
        })
}

/// The settings with the resolved UUIDs added to each role (and the audience).
fn apply(
    settings: &Settings,
    workspace: &str,
    ws_uuid: Option<String>,
    repos: &BTreeMap<String, String>,
    envs: &Environments,
) -> Result<Settings> {
    let mut out = settings.clone();
    let mut resolved = Vec::new();
    if let Some(uuid) = ws_uuid {
        let bare = uuid.trim_matches(|c| c == '{' || c == '}').to_string();
        out.trust
            .audiences
            .insert(0, format!("ari:cloud:bitbucket::workspace/{bare}"));
        resolved.push(named("workspace", workspace, &uuid, None));
    }
    for (role, given) in out.roles.iter_mut().zip(&settings.roles) {
        for slug in &role.repository_names {
            let uuid = &repos[slug];
            push_unique(&mut role.repositories, uuid);
            push_resolved(&mut resolved, named("repository", slug, uuid, None));
        }
        for env in &role.environment_names {
            for key in repository_keys(given) {
                let listed = envs.get(&key).map_or(&[][..], Vec::as_slice);
                let uuid = environment_uuid(listed, env, &key, &role.name, settings.role_tables)?;
                push_unique(&mut role.environments, &uuid);
                push_resolved(&mut resolved, named("environment", env, &uuid, Some(&key)));
            }
        }
    }
    out.trust.bitbucket.resolved = resolved;
    Ok(out)
}

/// The UUID of environment `name` among a repository's: the exact name, else the one name
/// equal but for case; otherwise exit 64 naming the closest.
fn environment_uuid(
    listed: &[(String, String)],
    name: &str,
    repo: &str,
    role: &str,
    role_tables: bool,
) -> Result<String> {
    if let Some((_, u)) = listed.iter().find(|(n, _)| n == name) {
        return Ok(u.clone());
    }
    let folded: Vec<_> = listed
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .collect();
    if let [(_, u)] = folded.as_slice() {
        return Ok(u.clone());
    }
    let near = closest(name, listed.iter().map(|(n, _)| n.as_str())).map_or_else(
        || "; it has no deployment environments".to_string(),
        |c| format!("; the closest is {c:?}"),
    );
    let err = Error::usage(format!(
        "environment {name:?} not found in repository {repo}{near}"
    ))
    .hint("fix environment = [...] in bootstrap.toml (names as Repository settings > Deployments shows them)");
    Err(if role_tables {
        err.resource(format!("role {role}"))
    } else {
        err
    })
}

fn named(kind: &'static str, name: &str, uuid: &str, repository: Option<&str>) -> ResolvedName {
    ResolvedName {
        kind,
        name: name.to_string(),
        uuid: uuid.to_string(),
        repository: repository.map(str::to_string),
    }
}

fn push_unique(list: &mut Vec<String>, value: &str) {
    if !list.iter().any(|v| v == value) {
        list.push(value.to_string());
    }
}

fn push_resolved(list: &mut Vec<ResolvedName>, r: ResolvedName) {
    if !list.contains(&r) {
        list.push(r);
    }
}
