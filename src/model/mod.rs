//! The desired state: Settings + issuer facts + account -> the provider, the roles, the
//! bucket and the table the account should have. Both modes are built from this one value.

pub mod admin;
pub mod arn;
pub mod audience;
pub mod bucket;
pub mod kms;
pub mod namespace;
pub mod operator;
pub mod owner;
pub mod pipeline;
pub mod policy;
pub mod quota;
mod roles;
pub mod state;
pub mod template;
pub mod thumbprints;

use std::collections::BTreeMap;

use ipnet::IpNet;
use serde::Serialize;
use serde_json::{json, Value};

use crate::config::{Access, Settings};
use crate::error::Result;

pub use crate::config::{MANAGED_BY_TAG, SET_TAG, STACK_TAG, VERSION_TAG};
pub use roles::{
    inline_policy_name, source_cidrs, CDK_POLICY_NAME, READ_ONLY_POLICY, STATE_POLICY_NAME,
};

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
    pub access: Access,
    /// The repositories and deployment environments its trust names (for the pipeline and
    /// for the messages that explain it).
    pub repositories: Vec<String>,
    pub environments: Vec<String>,
    pub allow_any_repository: bool,
    /// `--allow-admin`: an administrator-equivalent `policy-arn` may stay attached.
    pub allow_admin: bool,
    pub arn: String,
    pub description: String,
    pub trust_policy: Value,
    pub inline_policy_name: String,
    pub inline_policy: Value,
    pub managed_policies: Vec<String>,
    pub permissions_boundary: Option<String>,
    pub max_session_duration: i32,
    pub tags: BTreeMap<String, String>,
    /// The key prefix of the role's Terraform state (`""`: the top of the bucket); `None`
    /// for a `cdk` role.
    pub state_key_prefix: Option<String>,
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
    /// Where the name lives: the account regional namespace for a name of that form.
    pub namespace: namespace::Namespace,
    /// Why a default name is in the global namespace (the region has no account regional
    /// namespace), for the plan.
    pub namespace_note: Option<String>,
    /// The default name of earlier versions (global), when the default is in use: looked
    /// for, and kept when it exists (the operator policy grants it).
    pub global_default: Option<String>,
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
    /// Every configured role, in configuration order; never empty.
    pub roles: Vec<DesiredRole>,
    /// The `bootstrap-set` tag value the roles carry.
    pub set: String,
    pub bucket: DesiredBucket,
    pub table: Option<DesiredTable>,
    pub state_key_prefix: String,
    /// What the user should know before anything is written (a trust policy over IAM's
    /// default quota).
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// The IAM ARN of the issuer's OIDC provider in this account.
pub fn provider_arn(account: &Account, issuer: &crate::config::Issuer) -> String {
    arn::provider(&account.partition, &account.id, &issuer.host_path)
}

/// The state bucket: `--state-bucket`, or the default for a new setup in this account and
/// region. (A bucket under the default name of earlier versions is found by `observe` and
/// named as `--state-bucket` would.)
pub fn bucket_name(settings: &Settings, account: &Account) -> String {
    settings
        .state
        .bucket
        .clone()
        .unwrap_or_else(|| default_bucket_name(account))
}

/// The default bucket name: nothing random, unique per account and region, in the account
/// regional namespace where the region has one ([`namespace::default_name`]).
pub fn default_bucket_name(account: &Account) -> String {
    namespace::default_name(account)
}

pub fn tags(settings: &Settings) -> BTreeMap<String, String> {
    let mut t = settings.state.tags.clone();
    for (k, v) in [MANAGED_BY_TAG, VERSION_TAG] {
        t.entry(k.to_string()).or_insert_with(|| v.to_string());
    }
    t
}

impl DesiredState {
    /// The role named `name`, if configured.
    pub fn role(&self, name: &str) -> Option<&DesiredRole> {
        self.roles.iter().find(|r| r.name == name)
    }

    /// The first configured role (there is always one: settings hold at least one role).
    pub fn primary_role(&self) -> &DesiredRole {
        &self.roles[0]
    }
}

/// The statements the tool owns in the bucket policy: TLS only, and the confinement of every
/// role of the tool to its own state: a role with a prefix to that prefix
/// ([`policy::deny_outside_state_prefix`]), a role without one to the top-level state objects
/// ([`policy::deny_unprefixed_outside_top_state`]). Both always: this configuration cannot
/// know which other sets share the bucket (now or later), each statement names no role, and
/// each leaves every role exactly its own objects.
fn bucket_statements(bucket_arn: &str) -> Vec<Value> {
    vec![
        policy::deny_insecure_transport(json!(bucket_arn), json!(format!("{bucket_arn}/*"))),
        policy::deny_outside_state_prefix(bucket_arn),
        policy::deny_unprefixed_outside_top_state(bucket_arn),
    ]
}

/// Build the desired state. `thumbprints` are the ones served now; `bitbucket_ranges`
/// Atlassian's published Pipelines egress ranges, fetched by the caller when a role names
/// `--source-ip bitbucket` (empty otherwise).
pub fn desired(
    settings: &Settings,
    account: &Account,
    thumbprints: &[String],
    bitbucket_ranges: &[IpNet],
) -> Result<DesiredState> {
    quota::check_trust_inputs(settings)?;
    let issuer = settings.require_issuer()?;
    let p = &account.partition;
    let set = settings.set_name().unwrap_or_default();
    let state = &settings.state;
    // Every resource records its set: a role's owner, the set that configures a shared one.
    let mut tags = tags(settings);
    tags.insert(SET_TAG.to_string(), set.clone());
    let provider = DesiredProvider {
        url: issuer.url.clone(),
        arn: provider_arn(account, issuer),
        client_ids: settings.trust.audiences.clone(),
        thumbprints: thumbprints
            .iter()
            .take(thumbprints::MAX_THUMBPRINTS)
            .cloned()
            .collect(),
        tags: tags.clone(),
    };
    let bucket_name = bucket_name(settings, account);
    let bucket_namespace = namespace::namespace_of(&bucket_name, account)?;
    let bucket_arn = arn::bucket(p, &bucket_name);
    let table = state.lock_table.as_ref().map(|name| DesiredTable {
        name: name.clone(),
        arn: arn::table(p, &account.region, &account.id, name),
        tags: tags.clone(),
    });
    // The key by its ARN, for the grant and the bucket alike. An alias is resolved by the
    // commands that write or render (kms:DescribeKey) before they get here; only those that
    // use neither the grant nor the bucket (pipeline files, an offline verify) see it as given.
    let kms_key = state
        .kms_key
        .as_deref()
        .map(|k| kms::key_arn(k, account).unwrap_or_else(|| k.to_string()));
    let shared = roles::Shared {
        settings,
        account,
        issuer,
        provider_arn: &provider.arn,
        bucket_arn: &bucket_arn,
        bucket_name: &bucket_name,
        table_arn: table.as_ref().map(|t| t.arn.as_str()),
        kms_key: kms_key.as_deref(),
        tags: &tags,
        set: &set,
        bitbucket_ranges,
    };
    let mut warnings = Vec::new();
    let mut desired_roles = Vec::with_capacity(settings.roles.len());
    for role in &settings.roles {
        let (desired, warning) = roles::desired_role(&shared, role)?;
        desired_roles.push(desired);
        warnings.extend(warning);
    }
    let bucket = DesiredBucket {
        name: bucket_name,
        arn: bucket_arn.clone(),
        region: account.region.clone(),
        kms_key,
        allow_encryption_downgrade: state.allow_encryption_downgrade,
        noncurrent_days: state.noncurrent_days,
        namespace: bucket_namespace,
        namespace_note: state
            .bucket
            .is_none()
            .then(|| namespace::unavailable(account))
            .flatten(),
        global_default: (state.bucket.is_none() && namespace::unavailable(account).is_none())
            .then(|| namespace::global_default(account)),
        policy_statements: bucket_statements(&bucket_arn),
        tags,
    };
    Ok(DesiredState {
        account: account.clone(),
        issuer_url: issuer.url.clone(),
        issuer_host_path: issuer.host_path.clone(),
        provider,
        roles: desired_roles,
        set,
        bucket,
        table,
        state_key_prefix: settings.state.key_prefix.clone(),
        warnings,
    })
}

#[cfg(test)]
#[path = "confinement_tests.rs"]
mod confinement_tests;
