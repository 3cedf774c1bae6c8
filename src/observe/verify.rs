//! What `verify` judges a token against: the live role and IAM OIDC provider, read from IAM,
//! or with `--offline` the ones `bootstrap init` would create (from the desired state).

use serde::Serialize;
use serde_json::Value;

use crate::aws::{self, Aws};
use crate::config::Issuer;
use crate::error::Result;
use crate::model::{arn, DesiredRole, DesiredState, STATE_POLICY_NAME};

/// Where the role and provider a token is judged against come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// Read from IAM.
    Iam,
    /// What `bootstrap init` would create (`--offline`).
    Offline,
}

/// The role and provider a token is judged against.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub source: Source,
    pub role_name: String,
    /// None when the role does not exist.
    pub role_arn: Option<String>,
    /// The provider ARN the request comes from (the registered one, or the one it would have).
    pub provider_arn: String,
    pub provider_found: bool,
    pub client_ids: Vec<String>,
    pub trust_policy: Option<Value>,
    #[serde(skip)]
    pub account: String,
}

impl Target {
    /// Whether the role and provider were read from IAM.
    pub fn live(&self) -> bool {
        self.source == Source::Iam
    }

    /// The role and provider `bootstrap init` would create.
    pub fn desired(desired: &DesiredState, role: &DesiredRole) -> Target {
        Target {
            source: Source::Offline,
            role_name: role.name.clone(),
            role_arn: Some(role.arn.clone()),
            trust_policy: Some(role.trust_policy.clone()),
            provider_arn: desired.provider.arn.clone(),
            provider_found: true,
            client_ids: desired.provider.client_ids.clone(),
            account: desired.account.id.clone(),
        }
    }
}

/// Read role `role_name` and the provider for `issuer` from IAM. The account is the one
/// their ARNs name, or (when neither exists) the caller's.
pub async fn target(aws: &Aws, issuer: &Issuer, role_name: &str) -> Result<Target> {
    let (role, provider) = tokio::try_join!(
        super::role(aws, role_name, STATE_POLICY_NAME),
        super::find_provider(aws, issuer)
    )?;
    let partition = aws::partition(&aws.region);
    let account = role
        .as_ref()
        .map(|r| r.arn.as_str())
        .or(provider.as_ref().map(|p| p.arn.as_str()))
        .and_then(|arn| arn.split(':').nth(4))
        .filter(|a| !a.is_empty())
        .map(str::to_string);
    let account = match account {
        Some(a) => a,
        None => super::account(aws).await?.id,
    };
    let provider_arn = provider.as_ref().map_or_else(
        || arn::provider(partition, &account, &issuer.host_path),
        |p| p.arn.clone(),
    );
    Ok(Target {
        source: Source::Iam,
        role_name: role_name.to_string(),
        role_arn: role.as_ref().map(|r| r.arn.clone()),
        trust_policy: role.map(|r| r.trust_policy),
        provider_found: provider.is_some(),
        client_ids: provider.map(|p| p.client_ids).unwrap_or_default(),
        provider_arn,
        account,
    })
}
