//! What the token is judged against: the live role and IAM OIDC provider (read from AWS), or
//! with `--offline` the ones `bootstrap init` would create from the settings.

use serde_json::Value;

use crate::aws::{self, Aws};
use crate::config::{Settings, SourceIp};
use crate::error::Result;
use crate::model::{self, Account, STATE_POLICY_NAME};
use crate::observe;
use crate::oidc;
use crate::report::Reporter;

/// What the token is judged against: the live role and provider, or the desired ones.
pub(super) struct Judge {
    pub(super) live: bool,
    pub(super) aws: Option<Aws>,
    pub(super) role_name: String,
    /// None when the role does not exist.
    pub(super) role_arn: Option<String>,
    pub(super) trust_policy: Option<Value>,
    /// The provider ARN the request comes from (the registered one, or the one it would have).
    pub(super) provider_arn: String,
    pub(super) provider_found: bool,
    pub(super) client_ids: Vec<String>,
    pub(super) account: String,
}

pub(super) async fn live_judge(settings: &Settings, reporter: &Reporter) -> Result<Judge> {
    let issuer = settings.require_issuer()?;
    let aws = Aws::connect(&settings.aws, reporter.verbose()).await?;
    reporter.progress(format!(
        "reading role {} and the IAM OIDC provider for {}",
        settings.role_name, issuer.url
    ));
    let (role, provider) = tokio::try_join!(
        observe::role(&aws, &settings.role_name, STATE_POLICY_NAME),
        observe::find_provider(&aws, issuer)
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
        None => {
            let me = aws.sts.get_caller_identity().send().await.map_err(|e| {
                aws::classify(&e, "finding the AWS account (sts:GetCallerIdentity)", "sts")
            })?;
            me.account().unwrap_or_default().to_string()
        }
    };
    let provider_arn = provider.as_ref().map(|p| p.arn.clone()).unwrap_or_else(|| {
        format!(
            "arn:{partition}:iam::{account}:oidc-provider/{}",
            issuer.host_path
        )
    });
    Ok(Judge {
        live: true,
        role_name: settings.role_name.clone(),
        role_arn: role.as_ref().map(|r| r.arn.clone()),
        trust_policy: role.map(|r| r.trust_policy),
        provider_found: provider.is_some(),
        client_ids: provider.map(|p| p.client_ids).unwrap_or_default(),
        provider_arn,
        account,
        aws: Some(aws),
    })
}

pub(super) async fn offline_judge(
    settings: &Settings,
    fetcher: &oidc::Fetcher,
    account_id: Option<&str>,
) -> Result<Judge> {
    let ranges = if settings.source_ips.contains(&SourceIp::Bitbucket) {
        oidc::ipranges::fetch(fetcher, &settings.ip_ranges_url).await?
    } else {
        Vec::new()
    };
    let region = settings.aws.region.clone().unwrap_or_default();
    let account = Account {
        id: account_id.unwrap_or("<account>").to_string(),
        partition: aws::partition(&region).to_string(),
        region,
    };
    let cidrs = model::source_cidrs(settings, &ranges)?;
    let desired = model::desired(settings, &account, &[], &cidrs)?;
    Ok(Judge {
        live: false,
        aws: None,
        role_name: desired.role.name.clone(),
        role_arn: Some(desired.role.arn.clone()),
        trust_policy: Some(desired.role.trust_policy.clone()),
        provider_arn: desired.provider.arn.clone(),
        provider_found: true,
        client_ids: desired.provider.client_ids.clone(),
        account: account.id,
    })
}
