//! The desired state: Settings + issuer facts + account -> the provider, role, bucket and
//! table the account should have. Both modes are built from this one value.

pub mod admin;
pub mod arn;
pub mod audience;
pub mod kms;
pub mod operator;
pub mod pipeline;
pub mod policy;
pub mod quota;
pub mod state;
pub mod template;
pub mod thumbprints;

use std::collections::BTreeMap;

use ipnet::IpNet;
use serde::Serialize;
use serde_json::{json, Value};

use crate::config::{Settings, SourceIp};
use crate::error::Result;

pub use crate::config::{MANAGED_BY_TAG, VERSION_TAG};
/// Name of the role's inline state-access policy.
pub const STATE_POLICY_NAME: &str = "terraform-state-access";

#[derive(Debug, Clone, Serialize)]
pub struct Account {
    pub id: String,
    pub partition: String,
    pub region: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DesiredProvider {
    pub url: String,
    pub arn: String,
    pub client_ids: Vec<String>,
    /// Thumbprints the hosts serve now, in host order.
    pub thumbprints: Vec<String>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DesiredRole {
    pub name: String,
    pub arn: String,
    pub description: String,
    pub trust_policy: Value,
    pub inline_policy_name: String,
    pub inline_policy: Value,
    pub managed_policies: Vec<String>,
    pub permissions_boundary: Option<String>,
    pub max_session_duration: i32,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DesiredBucket {
    pub name: String,
    pub arn: String,
    pub region: String,
    pub kms_key: Option<String>,
    /// An existing SSE-KMS bucket may be switched to SSE-S3 (`--allow-encryption-downgrade`).
    pub allow_encryption_downgrade: bool,
    pub noncurrent_days: i32,
    /// The statements the tool owns in the bucket policy.
    pub policy_statements: Vec<Value>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DesiredTable {
    pub name: String,
    pub arn: String,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DesiredState {
    pub account: Account,
    pub issuer_url: String,
    pub issuer_host_path: String,
    pub provider: DesiredProvider,
    pub role: DesiredRole,
    pub bucket: DesiredBucket,
    pub table: Option<DesiredTable>,
    pub state_key_prefix: String,
    /// What the user should know before anything is written (a trust policy over IAM's
    /// default quota).
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// The source CIDRs for the trust policy: explicit ones plus, for `bitbucket`, Atlassian's
/// published Pipelines egress ranges (already fetched by the caller). Ranges that together
/// cover a whole address family are refused (exit 64) before anything is written.
pub fn source_cidrs(settings: &Settings, bitbucket_ranges: &[IpNet]) -> Result<Vec<IpNet>> {
    let mut out = Vec::new();
    for s in &settings.source_ips {
        match s {
            SourceIp::Cidr(c) => out.push(*c),
            SourceIp::Bitbucket => out.extend(bitbucket_ranges.iter().copied()),
        }
    }
    out.sort();
    out.dedup();
    let origin = if bitbucket_ranges.is_empty() {
        "given with --source-ip".to_string()
    } else {
        format!(
            "from --ip-ranges-url {} and --source-ip",
            settings.ip_ranges_url
        )
    };
    crate::config::validate::check_source_union(&out, &origin)?;
    Ok(out)
}

/// The IAM ARN of the issuer's OIDC provider in this account.
pub fn provider_arn(account: &Account, issuer: &crate::config::Issuer) -> String {
    arn::provider(&account.partition, &account.id, &issuer.host_path)
}

/// The state bucket: `--state-bucket`, or the default for this account and region.
pub fn bucket_name(settings: &Settings, account: &Account) -> String {
    settings
        .state_bucket
        .clone()
        .unwrap_or_else(|| default_bucket_name(account))
}

/// The default bucket name: nothing random, unique per account and region.
pub fn default_bucket_name(account: &Account) -> String {
    format!("terraform-state-{}-{}", account.id, account.region)
}

pub fn tags(settings: &Settings) -> BTreeMap<String, String> {
    let mut t = settings.tags.clone();
    for (k, v) in [MANAGED_BY_TAG, VERSION_TAG] {
        t.entry(k.to_string()).or_insert_with(|| v.to_string());
    }
    t
}

/// Build the desired state. `thumbprints` are the ones served now; `cidrs` the resolved
/// source ranges.
#[allow(
    clippy::too_many_lines,
    reason = "every resource of the desired state, built in order in one place"
)]
pub fn desired(
    settings: &Settings,
    account: &Account,
    thumbprints: &[String],
    cidrs: &[IpNet],
) -> Result<DesiredState> {
    quota::check_trust_inputs(settings)?;
    let issuer = settings.require_issuer()?;
    let p = &account.partition;
    let tags = tags(settings);
    let provider_arn = provider_arn(account, issuer);
    let provider = DesiredProvider {
        url: issuer.url.clone(),
        arn: provider_arn.clone(),
        client_ids: settings.audiences.clone(),
        thumbprints: thumbprints
            .iter()
            .take(thumbprints::MAX_THUMBPRINTS)
            .cloned()
            .collect(),
        tags: tags.clone(),
    };

    let bucket_name = bucket_name(settings, account);
    let bucket_arn = arn::bucket(p, &bucket_name);
    let objects_arn = arn::objects(&bucket_arn, &settings.state_key_prefix);
    let table = settings.lock_table.as_ref().map(|name| DesiredTable {
        name: name.clone(),
        arn: arn::table(p, &account.region, &account.id, name),
        tags: tags.clone(),
    });

    // The key by its ARN, for the grant and the bucket alike. An alias is resolved by the
    // commands that write or render (kms:DescribeKey) before they get here; only those that
    // use neither the grant nor the bucket (pipeline files, an offline verify) see it as given.
    let kms_key = settings
        .kms_key
        .as_deref()
        .map(|k| kms::key_arn(k, account).unwrap_or_else(|| k.to_string()));
    let trust_inputs = policy::TrustInputs {
        issuer_host_path: &issuer.host_path,
        provider_arn: json!(provider_arn),
        audiences: &settings.audiences,
        repositories: &settings.repositories,
        environments: &settings.environments,
        source_cidrs: cidrs,
    };
    let trust_policy = policy::trust_policy(&trust_inputs);
    // Defence in depth: what we are about to write must obey the same rules as what we read
    // back after writing it.
    let problems = policy::trust_policy_problems(
        &trust_policy,
        &policy::TrustRules {
            issuer_host_path: &issuer.host_path,
            provider_arn: &provider_arn,
            allow_any_repository: settings.allow_any_repository,
        },
    );
    if !problems.is_empty() {
        return Err(crate::error::Error::failure(format!(
            "internal error: the trust policy built from these settings is not safe: {}",
            problems.join("; ")
        ))
        .hint("this is a bug in bootstrap; please report it with the command you ran"));
    }
    let trust_size = quota::trust_policy_size(&trust_inputs);
    quota::refuse_over_maximum(
        trust_size,
        &format!(
            "{} sub patterns, {} source ranges",
            policy::sub_patterns(&settings.repositories, &settings.environments).len(),
            cidrs.len()
        ),
    )?;
    let inline_policy = policy::state_access_policy(&policy::StateAccessInputs {
        bucket_arn: json!(bucket_arn),
        objects_arn: json!(objects_arn),
        deleted_arns: state::deleted_object_arns(&bucket_arn, &settings.state_key_prefix)
            .into_iter()
            .map(Value::String)
            .collect(),
        key_prefix: (!settings.state_key_prefix.is_empty())
            .then(|| settings.state_key_prefix.clone()),
        table_arn: table.as_ref().map(|t| json!(t.arn)),
        kms_key_arn: kms_key.as_ref().map(|k| json!(k)),
    });
    let role = DesiredRole {
        name: settings.role_name.clone(),
        arn: arn::role(p, &account.id, &settings.role_name),
        description: "Assumed by Bitbucket Pipelines through OpenID Connect (managed by bootstrap)"
            .into(),
        trust_policy,
        inline_policy_name: STATE_POLICY_NAME.into(),
        inline_policy,
        managed_policies: settings.policy_arns.clone(),
        permissions_boundary: settings.permissions_boundary.clone(),
        max_session_duration: settings.max_session_duration,
        tags: tags.clone(),
    };
    let bucket = DesiredBucket {
        name: bucket_name,
        arn: bucket_arn.clone(),
        region: account.region.clone(),
        kms_key,
        allow_encryption_downgrade: settings.allow_encryption_downgrade,
        noncurrent_days: settings.noncurrent_days,
        policy_statements: vec![policy::deny_insecure_transport(
            json!(bucket_arn),
            json!(format!("{bucket_arn}/*")),
        )],
        tags: tags.clone(),
    };
    Ok(DesiredState {
        account: account.clone(),
        issuer_url: issuer.url.clone(),
        issuer_host_path: issuer.host_path.clone(),
        provider,
        role,
        bucket,
        table,
        state_key_prefix: settings.state_key_prefix.clone(),
        warnings: quota::warning(trust_size).into_iter().collect(),
    })
}
