//! Read the live AWS state into plain values the planner compares with the desired state.
//! Every read is independent, so they all run concurrently.

mod account;
mod bulk;
pub mod destroy;
pub mod destroy_stack;
mod dynamodb;
mod iam;
pub mod kms;
mod s3;
pub mod stack;
pub mod stackset;
pub mod stale;
pub mod sts;
pub mod token;
pub mod verify;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::aws::Aws;
use crate::config::{Issuer, RoleSettings};
use crate::error::Result;
use crate::model::DesiredState;

pub use account::account;
pub use bulk::RoleListing;
pub use dynamodb::table;
pub use iam::{
    attached_policy_arns, find_provider, inline_policy_names, instance_profiles,
    managed_policy_document, managed_policy_documents, provider, role, PolicyCache,
};
pub use s3::bucket;

/// The state bucket to use when the settings leave it to the default: the default name of
/// earlier versions when this account has a bucket under it (kept, never renamed), else
/// None (the model's default for a new setup).
pub async fn existing_default_bucket(
    aws: &Aws,
    settings: &crate::config::Settings,
    account: &crate::model::Account,
) -> Result<Option<String>> {
    if settings.state.bucket.is_some() || crate::model::namespace::unavailable(account).is_some() {
        return Ok(None);
    }
    let name = crate::model::namespace::global_default(account);
    Ok(s3::owned(aws, &name, &account.id).await?.then_some(name))
}

#[derive(Debug, Clone, Serialize)]
pub struct ObservedProvider {
    pub arn: String,
    pub url: String,
    pub client_ids: Vec<String>,
    pub thumbprints: Vec<String>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ObservedRole {
    pub arn: String,
    pub trust_policy: Value,
    /// The tool's own inline policy (the state-access policy), if present.
    pub inline_policy: Option<Value>,
    /// Every other inline policy on the role, by name: not written by the tool.
    pub foreign_inline_policies: BTreeMap<String, Value>,
    pub managed_policies: Vec<String>,
    /// The default version's document of each attached managed policy, by ARN (null when it
    /// could not be read).
    pub managed_documents: BTreeMap<String, Value>,
    pub permissions_boundary: Option<String>,
    pub max_session_duration: i32,
    pub tags: BTreeMap<String, String>,
    /// The instance profiles the role is in: read only for a role the tool does not manage
    /// (one it would adopt), since EC2 instances may depend on it.
    pub instance_profiles: Vec<String>,
}

/// The bucket's settings as read, in the types the desired ones have.
pub use crate::model::bucket::{Encryption, LifecycleRule};

#[derive(Debug, Clone, Serialize)]
pub struct ObservedBucket {
    pub versioning: Option<String>,
    pub encryption: Option<Encryption>,
    /// block_public_acls, ignore_public_acls, block_public_policy, restrict_public_buckets.
    pub public_access_block: Option<[bool; 4]>,
    pub ownership: Option<String>,
    pub policy: Option<Value>,
    pub lifecycle: Vec<LifecycleRule>,
    pub tags: BTreeMap<String, String>,
    /// The raw lifecycle rules, to preserve rules the tool does not own.
    #[serde(skip)]
    pub lifecycle_raw: Vec<aws_sdk_s3::types::LifecycleRule>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ObservedTable {
    pub arn: String,
    pub status: String,
    /// `LockID (S) HASH` when right; otherwise the schema found.
    pub key_schema: String,
    pub key_schema_ok: bool,
    pub on_demand: bool,
    pub sse: bool,
    pub deletion_protection: bool,
    pub point_in_time_recovery: bool,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Observed {
    pub provider: Option<ObservedProvider>,
    /// Each desired role as found, in the desired state's order (None: missing).
    pub roles: Vec<Option<ObservedRole>>,
    pub bucket: Option<ObservedBucket>,
    pub table: Option<ObservedTable>,
}

/// Roles read at once: each read is a handful of IAM calls. Reads mostly wait on the network
/// (and, just after a write, on IAM's eventual consistency), so many overlap; writes are
/// fewer at a time ([`ROLE_WRITE_CONCURRENCY`]), since IAM throttles an account's writes.
pub const ROLE_CONCURRENCY: usize = 24;

/// Roles written (or deleted) at once.
pub const ROLE_WRITE_CONCURRENCY: usize = 8;

impl Observed {
    /// The observed role named `name` (None when it is not desired or missing).
    pub fn role(&self, desired: &DesiredState, name: &str) -> Option<&ObservedRole> {
        let i = desired.roles.iter().position(|r| r.name == name)?;
        self.roles.get(i).and_then(Option::as_ref)
    }
}

/// Every desired role, at most [`ROLE_CONCURRENCY`] at a time, in the desired order; a
/// managed policy attached to several roles is read once.
pub async fn roles(aws: &Aws, desired: &DesiredState) -> Result<Vec<Option<ObservedRole>>> {
    let names = desired
        .roles
        .iter()
        .map(|r| (r.name.as_str(), r.inline_policy_name.as_str()));
    read_roles(aws, names, &PolicyCache::default()).await
}

/// The configured roles by their names alone (before the account is known), in order;
/// managed policies are read through `cache`, which the caller shares with its other reads
/// of policies (the `--policy-arn` checks), so each is read once per run; with many roles,
/// the account's roles are listed through `listing`, which the stale-role search shares.
pub async fn roles_by_name(
    aws: &Aws,
    roles: &[RoleSettings],
    cache: &PolicyCache,
    listing: &RoleListing,
) -> Result<Vec<Option<ObservedRole>>> {
    let names: Vec<(&str, &str)> = roles
        .iter()
        .map(|r| (r.name.as_str(), crate::model::inline_policy_name(r.access)))
        .collect();
    if names.len() >= bulk::BULK_MIN_ROLES {
        if let Some(found) = bulk::roles(aws, listing, &names, cache).await? {
            return Ok(found);
        }
    }
    read_roles(aws, names.into_iter(), cache).await
}

async fn read_roles<'a>(
    aws: &Aws,
    names: impl Iterator<Item = (&'a str, &'a str)>,
    cache: &PolicyCache,
) -> Result<Vec<Option<ObservedRole>>> {
    use futures::stream::{self, StreamExt, TryStreamExt};
    stream::iter(names)
        .map(|(name, inline)| iam::role_cached(aws, name, inline, cache))
        .buffered(ROLE_CONCURRENCY)
        .try_collect()
        .await
}

/// Read everything the desired state names, concurrently.
pub async fn all(aws: &Aws, desired: &DesiredState) -> Result<Observed> {
    let table_name = desired.table.as_ref().map(|t| t.name.clone());
    let (provider, roles, bucket, table) = tokio::try_join!(
        iam::provider(aws, &desired.provider.arn),
        roles(aws, desired),
        s3::bucket(aws, &desired.bucket.name),
        async {
            match &table_name {
                Some(name) => dynamodb::table(aws, name).await,
                None => Ok(None),
            }
        }
    )?;
    Ok(Observed {
        provider,
        roles,
        bucket,
        table,
    })
}

/// The thumbprints registered on the issuer's provider (for `thumbprint --check`).
pub struct RegisteredThumbprints {
    pub arn: String,
    pub thumbprints: Vec<String>,
}

/// The issuer's provider and the thumbprints on it; a check failure (exit 3) when there is no
/// provider for the issuer.
pub async fn registered_thumbprints(aws: &Aws, issuer: &Issuer) -> Result<RegisteredThumbprints> {
    match iam::find_provider(aws, issuer).await? {
        Some(p) => Ok(RegisteredThumbprints {
            arn: p.arn,
            thumbprints: p.thumbprints,
        }),
        None => Err(crate::error::Error::check(format!(
            "no IAM OIDC provider for {} in this account",
            issuer.url
        ))
        .hint("create it with `bootstrap init`")),
    }
}
