use std::collections::BTreeMap;

use super::{ObservedProvider, ObservedRole};
use crate::aws::{classify, errors, Aws};
use crate::config::Issuer;
use crate::error::Result;
use crate::model::policy::parse_document;

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

/// The role, its inline state policy and its attached policies, or None.
pub async fn role(aws: &Aws, name: &str, inline_policy_name: &str) -> Result<Option<ObservedRole>> {
    let get_role = aws.iam.get_role().role_name(name).send();
    let get_policy = aws
        .iam
        .get_role_policy()
        .role_name(name)
        .policy_name(inline_policy_name)
        .send();
    let list_attached = aws.iam.list_attached_role_policies().role_name(name).send();
    let (role, policy, attached) = tokio::join!(get_role, get_policy, list_attached);
    let role = match role {
        Ok(out) => out.role,
        Err(e) if errors::is(&e, &["NoSuchEntity"]) => return Ok(None),
        Err(e) => return Err(classify(&e, "reading the role", name)),
    };
    let Some(role) = role else { return Ok(None) };
    let inline_policy = match policy {
        Ok(out) => parse_document(out.policy_document()),
        Err(e) if errors::is(&e, &["NoSuchEntity"]) => None,
        Err(e) => return Err(classify(&e, "reading the role's inline policy", name)),
    };
    let managed_policies = match attached {
        Ok(out) => out
            .attached_policies()
            .iter()
            .filter_map(|p| p.policy_arn().map(str::to_string))
            .collect(),
        Err(e) if errors::is(&e, &["NoSuchEntity"]) => return Ok(None),
        Err(e) => return Err(classify(&e, "listing the role's policies", name)),
    };
    let trust_policy = role
        .assume_role_policy_document()
        .and_then(parse_document)
        .unwrap_or(serde_json::Value::Null);
    Ok(Some(ObservedRole {
        arn: role.arn().to_string(),
        trust_policy,
        inline_policy,
        managed_policies,
        permissions_boundary: role
            .permissions_boundary()
            .and_then(|b| b.permissions_boundary_arn())
            .map(str::to_string),
        max_session_duration: role.max_session_duration().unwrap_or(3600),
        tags: role
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect(),
    }))
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
