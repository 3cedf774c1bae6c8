//! IAM reads: the OIDC provider, the role with every policy on it, and managed policies.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use futures::future::try_join_all;
use serde_json::Value;
use tokio::sync::OnceCell;

use super::{ObservedProvider, ObservedRole};
use crate::aws::{classify, errors, Aws};
use crate::config::{Issuer, MANAGED_BY_TAG};
use crate::error::Result;
use crate::iam::parse_document;

/// The provider with this ARN, or None.
pub async fn provider(aws: &Aws, arn: &str) -> Result<Option<ObservedProvider>> {
    let out = match aws
        .iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(arn)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if errors::is(&e, &["NoSuchEntity"]) => return Ok(None),
        Err(e) => return Err(classify(&e, "reading the OIDC provider", arn)),
    };
    let tags = out
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect::<BTreeMap<_, _>>();
    Ok(Some(ObservedProvider {
        arn: arn.to_string(),
        url: out.url().unwrap_or_default().to_string(),
        client_ids: out.client_id_list().to_vec(),
        thumbprints: out
            .thumbprint_list()
            .iter()
            .map(|t| t.to_ascii_lowercase())
            .collect(),
        tags,
    }))
}

/// The names of the instance profiles the role is in (None: the role is gone).
pub async fn instance_profiles(aws: &Aws, name: &str) -> Result<Option<Vec<String>>> {
    let pages: std::result::Result<Vec<_>, _> = aws
        .iam
        .list_instance_profiles_for_role()
        .role_name(name)
        .into_paginator()
        .send()
        .try_collect()
        .await;
    role_listing(pages, "listing the role's instance profiles", name, |p| {
        p.instance_profiles()
            .iter()
            .map(|p| p.instance_profile_name().to_string())
            .collect()
    })
}

/// Find the provider for an issuer without knowing the account id.
pub async fn find_provider(aws: &Aws, issuer: &Issuer) -> Result<Option<ObservedProvider>> {
    let list = aws
        .iam
        .list_open_id_connect_providers()
        .send()
        .await
        .map_err(|e| classify(&e, "listing OIDC providers", "iam"))?;
    let suffix = format!(":oidc-provider/{}", issuer.host_path);
    let arn = list
        .open_id_connect_provider_list()
        .iter()
        .filter_map(|p| p.arn())
        .find(|arn| arn.ends_with(&suffix));
    match arn {
        Some(arn) => provider(aws, arn).await,
        None => Ok(None),
    }
}

/// Managed policy documents already read in this run, by ARN: roles that share a policy
/// (every plan role holds ReadOnlyAccess) read it once.
#[derive(Default)]
pub struct PolicyCache {
    cells: std::sync::Mutex<BTreeMap<String, Arc<OnceCell<Option<Value>>>>>,
}

impl PolicyCache {
    /// The default version's document of `arn`, read at most once per cache.
    pub async fn document(&self, aws: &Aws, arn: &str) -> Result<Option<Value>> {
        let cell = {
            let mut cells = self
                .cells
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            cells.entry(arn.to_string()).or_default().clone()
        };
        cell.get_or_try_init(|| managed_policy_document(aws, arn))
            .await
            .cloned()
    }
}

/// The role, every inline policy on it and every attached managed policy (with its default
/// version's document), or None.
pub async fn role(aws: &Aws, name: &str, inline_policy_name: &str) -> Result<Option<ObservedRole>> {
    role_cached(aws, name, inline_policy_name, &PolicyCache::default()).await
}

/// [`role`], reading managed policies through `cache`.
pub(crate) async fn role_cached(
    aws: &Aws,
    name: &str,
    inline_policy_name: &str,
    cache: &PolicyCache,
) -> Result<Option<ObservedRole>> {
    let get_role = aws.iam.get_role().role_name(name).send();
    let (role, inline, attached) = tokio::join!(
        get_role,
        inline_policies(aws, name),
        attached_policies(aws, name, cache)
    );
    let role = match role {
        Ok(out) => out.role,
        Err(e) if errors::is(&e, &["NoSuchEntity"]) => return Ok(None),
        Err(e) => return Err(classify(&e, "reading the role", name)),
    };
    let Some(role) = role else { return Ok(None) };
    let (Some(inline), Some(managed_documents)) = (inline?, attached?) else {
        return Ok(None);
    };
    let tags = tag_map(role.tags());
    // Only a role the tool would adopt: its own roles are never put in an instance profile.
    let instance_profiles = if is_managed(&tags) {
        Vec::new()
    } else {
        match instance_profiles(aws, name).await? {
            Some(p) => p,
            None => return Ok(None),
        }
    };
    Ok(Some(
        RoleParts {
            arn: role.arn(),
            trust: role.assume_role_policy_document(),
            inline,
            inline_policy_name,
            managed_documents,
            boundary: role.permissions_boundary(),
            max_session_duration: role.max_session_duration(),
            tags,
            instance_profiles,
        }
        .observed(),
    ))
}

/// A role's tags as a map.
pub(super) fn tag_map(tags: &[aws_sdk_iam::types::Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

/// Whether a role's tags say the tool made it.
pub(super) fn is_managed(tags: &BTreeMap<String, String>) -> bool {
    tags.get(MANAGED_BY_TAG.0).map(String::as_str) == Some(MANAGED_BY_TAG.1)
}

/// What a read of one role learns, by whichever calls.
pub(super) struct RoleParts<'a> {
    pub arn: &'a str,
    pub trust: Option<&'a str>,
    /// Every inline policy, by name.
    pub inline: BTreeMap<String, Value>,
    /// The name of the tool's own inline policy among them.
    pub inline_policy_name: &'a str,
    pub managed_documents: BTreeMap<String, Value>,
    pub boundary: Option<&'a aws_sdk_iam::types::AttachedPermissionsBoundary>,
    pub max_session_duration: Option<i32>,
    pub tags: BTreeMap<String, String>,
    pub instance_profiles: Vec<String>,
}

impl RoleParts<'_> {
    pub(super) fn observed(mut self) -> ObservedRole {
        ObservedRole {
            arn: self.arn.to_string(),
            trust_policy: self.trust.and_then(parse_document).unwrap_or(Value::Null),
            inline_policy: self.inline.remove(self.inline_policy_name),
            foreign_inline_policies: self.inline,
            managed_policies: self.managed_documents.keys().cloned().collect(),
            managed_documents: self.managed_documents,
            permissions_boundary: self
                .boundary
                .and_then(|b| b.permissions_boundary_arn())
                .map(str::to_string),
            max_session_duration: self.max_session_duration.unwrap_or(3600),
            tags: self.tags,
            instance_profiles: self.instance_profiles,
        }
    }
}

/// The names of the role's inline policies (every page); None when the role does not exist.
pub async fn inline_policy_names(aws: &Aws, role: &str) -> Result<Option<Vec<String>>> {
    let pages = aws
        .iam
        .list_role_policies()
        .role_name(role)
        .into_paginator()
        .send()
        .try_collect()
        .await;
    match pages {
        Ok(pages) => Ok(Some(
            pages
                .iter()
                .flat_map(|p| p.policy_names().iter().cloned())
                .collect(),
        )),
        Err(e) if errors::is(&e, &["NoSuchEntity"]) => Ok(None),
        Err(e) => Err(classify(&e, "listing the role's inline policies", role)),
    }
}

/// The ARNs of the managed policies attached to the role (every page); None when the role
/// does not exist.
pub async fn attached_policy_arns(aws: &Aws, role: &str) -> Result<Option<Vec<String>>> {
    let pages = aws
        .iam
        .list_attached_role_policies()
        .role_name(role)
        .into_paginator()
        .send()
        .try_collect()
        .await;
    role_listing(pages, "listing the role's managed policies", role, |p| {
        p.attached_policies()
            .iter()
            .filter_map(|p| p.policy_arn().map(str::to_string))
            .collect()
    })
}

/// What `pick` takes from every page of a listing of the role; None when the role is gone
/// (`NoSuchEntity`).
fn role_listing<P, E>(
    pages: std::result::Result<Vec<P>, SdkError<E, HttpResponse>>,
    action: &str,
    role: &str,
    pick: impl Fn(&P) -> Vec<String>,
) -> Result<Option<Vec<String>>>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match pages {
        Ok(pages) => Ok(Some(pages.iter().flat_map(pick).collect())),
        Err(e) if errors::is(&e, &["NoSuchEntity"]) => Ok(None),
        Err(e) => Err(classify(&e, action, role)),
    }
}

/// Every inline policy of the role, by name; None when the role does not exist.
async fn inline_policies(aws: &Aws, role: &str) -> Result<Option<BTreeMap<String, Value>>> {
    let Some(names) = inline_policy_names(aws, role).await? else {
        return Ok(None);
    };
    let reads = names.into_iter().map(|policy| async move {
        let read = aws
            .iam
            .get_role_policy()
            .role_name(role)
            .policy_name(&policy)
            .send()
            .await;
        match read {
            Ok(out) => {
                let doc = parse_document(out.policy_document()).unwrap_or(Value::Null);
                Ok(Some((policy, doc)))
            }
            // Deleted between the listing and the read.
            Err(e) if errors::is(&e, &["NoSuchEntity"]) => Ok(None),
            Err(e) => Err(classify(
                &e,
                &format!("reading the role's inline policy {policy}"),
                role,
            )),
        }
    });
    let found = try_join_all(reads).await?;
    Ok(Some(found.into_iter().flatten().collect()))
}

/// Every attached managed policy of the role with its default version's document (null when
/// unreadable), by ARN; None when the role does not exist.
async fn attached_policies(
    aws: &Aws,
    role: &str,
    cache: &PolicyCache,
) -> Result<Option<BTreeMap<String, Value>>> {
    let Some(arns) = attached_policy_arns(aws, role).await? else {
        return Ok(None);
    };
    let reads = arns.into_iter().map(|arn| async move {
        let doc = cache.document(aws, &arn).await?;
        Ok::<_, crate::error::Error>((arn, doc.unwrap_or(Value::Null)))
    });
    Ok(Some(try_join_all(reads).await?.into_iter().collect()))
}

/// The default version's document of each managed policy, in order (None for one that does
/// not exist), read concurrently.
pub async fn managed_policy_documents(aws: &Aws, arns: &[String]) -> Result<Vec<Option<Value>>> {
    try_join_all(arns.iter().map(|arn| managed_policy_document(aws, arn))).await
}

/// The default version's document of a managed policy, or None when the policy does not
/// exist.
pub async fn managed_policy_document(aws: &Aws, arn: &str) -> Result<Option<serde_json::Value>> {
    let policy = match aws.iam.get_policy().policy_arn(arn).send().await {
        Ok(out) => out.policy,
        Err(e) if errors::is(&e, &["NoSuchEntity"]) => return Ok(None),
        Err(e) => return Err(classify(&e, "reading the managed policy", arn)),
    };
    let Some(version) = policy.and_then(|p| p.default_version_id) else {
        return Ok(None);
    };
    let out = match aws
        .iam
        .get_policy_version()
        .policy_arn(arn)
        .version_id(&version)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if errors::is(&e, &["NoSuchEntity"]) => return Ok(None),
        Err(e) => return Err(classify(&e, "reading the managed policy's document", arn)),
    };
    Ok(Some(
        out.policy_version()
            .and_then(|v| v.document())
            .and_then(parse_document)
            .unwrap_or(serde_json::Value::Null),
    ))
}
