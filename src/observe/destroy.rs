//! What exists for `destroy` in direct mode: the role with everything attached to it, the
//! provider, the other roles that trust it, what the state bucket holds and whether a lock is
//! held. Only reads; the destroy plan decides what to do with it.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;

use crate::aws::{classify, errors, Aws};
use crate::config::{Issuer, Settings};
use crate::error::Result;
use crate::iam::parse_document;
use crate::model::{self, Account};

/// A resource's tags, by key.
pub type Tags = BTreeMap<String, String>;

/// What `destroy` is asked to remove.
#[derive(Debug, Clone, Serialize)]
pub struct Targets {
    pub account: Account,
    pub provider_arn: String,
    /// The roles to delete: the `--role` ones, or every configured role.
    pub role_names: Vec<String>,
    /// Configured roles `--role` leaves out: while any remains, the provider, the bucket and
    /// the table are kept.
    pub remaining_roles: Vec<String>,
    pub bucket: String,
    /// None with `--no-lock-table`: the table is not touched.
    pub table: Option<String>,
    pub delete_state: bool,
    pub force: bool,
    /// The set of these settings: a role of another set (or of a CloudFormation stack) is
    /// never deleted, whatever `--force` says.
    pub set: String,
}

impl Targets {
    /// The resources these settings name in `account`: the roles `names` selects (every
    /// configured role when empty; an unknown name is a usage error).
    pub fn new(
        settings: &Settings,
        issuer: &Issuer,
        account: Account,
        names: &[String],
        (delete_state, force): (bool, bool),
    ) -> Result<Targets> {
        let role_names: Vec<String> = settings
            .select_roles(names)?
            .into_iter()
            .map(|r| r.name.clone())
            .collect();
        let remaining_roles = settings
            .roles
            .iter()
            .filter(|r| !role_names.contains(&r.name))
            .map(|r| r.name.clone())
            .collect();
        Ok(Targets {
            provider_arn: model::provider_arn(&account, issuer),
            role_names,
            remaining_roles,
            bucket: model::bucket_name(settings, &account),
            table: settings.state.lock_table.clone(),
            delete_state,
            force,
            set: settings.set_name().unwrap_or_default(),
            account,
        })
    }

    /// `init --prune`: the stale roles `names`, beside the configured roles `remaining`, so
    /// that nothing but those roles is planned (no bucket or table is named).
    pub fn prune(
        account: Account,
        provider_arn: String,
        names: Vec<String>,
        remaining: Vec<String>,
        set: String,
    ) -> Targets {
        Targets {
            account,
            provider_arn,
            role_names: names,
            remaining_roles: remaining,
            bucket: String::new(),
            table: None,
            delete_state: false,
            force: false,
            set,
        }
    }

    /// The same resources, read back after the deletions: whether each exists, without the
    /// bucket's contents, the table's locks or the tags.
    pub fn for_read_back(&self) -> Targets {
        Targets {
            delete_state: false,
            ..self.clone()
        }
    }
}

/// Everything read before planning.
#[derive(Debug, Clone, Serialize)]
pub struct Found {
    /// The provider's tags; None when there is no provider.
    pub provider: Option<Tags>,
    /// The target roles that exist, by name.
    pub roles: BTreeMap<String, FoundRole>,
    /// Roles other than the targets whose trust policy names the provider.
    pub trusting_roles: Vec<String>,
    pub bucket: bool,
    /// Only read with `--delete-state`.
    pub bucket_contents: Option<BucketContents>,
    /// The bucket's tags (none when it has no tag set); only read with `--delete-state`.
    pub bucket_tags: Option<Tags>,
    pub table: Option<FoundTable>,
}

/// The role as `destroy` needs it.
#[derive(Debug, Clone, Serialize)]
pub struct FoundRole {
    pub arn: String,
    pub inline_policies: Vec<String>,
    pub managed_policies: Vec<String>,
    pub instance_profiles: Vec<String>,
    /// Whether its trust policy names the provider being destroyed.
    pub trusts_provider: bool,
    pub tags: Tags,
}

/// What a bucket holds, from ListObjectVersions (every version and delete marker).
#[derive(Debug, Clone, Default, Serialize)]
pub struct BucketContents {
    /// Object versions, current and noncurrent.
    pub versions: usize,
    /// Versions that are the current version of their key.
    pub current: usize,
    pub delete_markers: usize,
    /// Distinct keys with their number of versions and delete markers, at most
    /// [`SAMPLE_KEYS`] of them.
    pub sample: BTreeMap<String, usize>,
    pub keys: usize,
}

/// How many keys a refusal names.
pub const SAMPLE_KEYS: usize = 5;

impl BucketContents {
    pub fn is_empty(&self) -> bool {
        self.versions == 0 && self.delete_markers == 0
    }
}

/// The lock table as `destroy` needs it.
#[derive(Debug, Clone, Serialize)]
pub struct FoundTable {
    pub deletion_protection: bool,
    pub status: String,
    /// LockIDs of locks held now (items other than Terraform's `-md5` digests); only read
    /// with `--delete-state`.
    pub held_locks: Vec<String>,
    /// The table's tags; only read with `--delete-state` (the table is kept otherwise).
    pub tags: Option<Tags>,
}

/// Read everything the plan needs, concurrently.
pub async fn found(aws: &Aws, t: &Targets) -> Result<Found> {
    let (provider, roles, trusting_roles, bucket, table) = tokio::try_join!(
        super::provider(aws, &t.provider_arn),
        roles(aws, &t.role_names, &t.provider_arn),
        roles_trusting(aws, &t.provider_arn, &t.role_names),
        bucket_exists(aws, &t.bucket),
        async {
            match &t.table {
                Some(name) => table(aws, name, t.delete_state).await,
                None => Ok(None),
            }
        },
    )?;
    let (bucket_contents, bucket_tags) = if bucket && t.delete_state {
        let (contents, tags) =
            tokio::try_join!(bucket_contents(aws, &t.bucket), bucket_tags(aws, &t.bucket))?;
        (Some(contents), Some(tags))
    } else {
        (None, None)
    };
    Ok(Found {
        provider: provider.map(|p| p.tags),
        roles,
        trusting_roles,
        bucket,
        bucket_contents,
        bucket_tags,
        table,
    })
}

fn tag_map<'a>(tags: impl Iterator<Item = (&'a str, &'a str)>) -> Tags {
    tags.map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn mentions(trust_document: Option<&str>, provider_arn: &str) -> bool {
    trust_document
        .and_then(parse_document)
        .is_some_and(|doc| doc.to_string().contains(provider_arn))
}

/// The roles `names` that exist, each with everything that must go before it can be deleted,
/// at most [`super::ROLE_CONCURRENCY`] read at a time.
pub async fn roles(
    aws: &Aws,
    names: &[String],
    provider_arn: &str,
) -> Result<BTreeMap<String, FoundRole>> {
    use futures::stream::{self, StreamExt, TryStreamExt};
    let found: Vec<Option<FoundRole>> = stream::iter(names)
        .map(|name| role(aws, name, provider_arn))
        .buffered(super::ROLE_CONCURRENCY)
        .try_collect()
        .await?;
    Ok(names
        .iter()
        .zip(found)
        .filter_map(|(name, r)| r.map(|r| (name.clone(), r)))
        .collect())
}

/// The role with everything that must go before it can be deleted, or None.
async fn role(aws: &Aws, name: &str, provider_arn: &str) -> Result<Option<FoundRole>> {
    let iam = &aws.iam;
    let (role, inline, attached, profiles) = tokio::join!(
        iam.get_role().role_name(name).send(),
        super::inline_policy_names(aws, name),
        super::attached_policy_arns(aws, name),
        super::instance_profiles(aws, name),
    );
    let role = match role {
        Ok(out) => out.role,
        Err(e) if errors::is(&e, &["NoSuchEntity"]) => return Ok(None),
        Err(e) => return Err(classify(&e, "reading the role", name)),
    };
    let Some(role) = role else { return Ok(None) };
    let (Some(inline_policies), Some(managed_policies)) = (inline?, attached?) else {
        return Ok(None);
    };
    let Some(instance_profiles) = profiles? else {
        return Ok(None);
    };
    Ok(Some(FoundRole {
        arn: role.arn().to_string(),
        inline_policies,
        managed_policies,
        instance_profiles,
        trusts_provider: mentions(role.assume_role_policy_document(), provider_arn),
        tags: tag_map(role.tags().iter().map(|t| (t.key(), t.value()))),
    }))
}

/// Every role other than `except` whose trust policy names the provider.
pub(crate) async fn roles_trusting(
    aws: &Aws,
    provider_arn: &str,
    except: &[String],
) -> Result<Vec<String>> {
    let pages = aws
        .iam
        .list_roles()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| classify(&e, "listing roles to find who trusts the provider", "iam"))?;
    let mut out: Vec<String> = pages
        .iter()
        .flat_map(|p| p.roles().iter())
        .filter(|r| !except.iter().any(|e| e == r.role_name()))
        .filter(|r| mentions(r.assume_role_policy_document(), provider_arn))
        .map(|r| r.role_name().to_string())
        .collect();
    out.sort();
    Ok(out)
}

/// Whether the bucket exists (and is ours to read).
async fn bucket_exists(aws: &Aws, name: &str) -> Result<bool> {
    match aws.s3.get_bucket_versioning().bucket(name).send().await {
        Ok(_) => Ok(true),
        Err(e) if errors::is(&e, &["NoSuchBucket"]) => Ok(false),
        Err(e) => Err(classify(&e, "reading the state bucket", name)),
    }
}

/// The bucket's tags (none for a bucket without a tag set).
async fn bucket_tags(aws: &Aws, name: &str) -> Result<Tags> {
    match aws.s3.get_bucket_tagging().bucket(name).send().await {
        Ok(out) => Ok(tag_map(out.tag_set().iter().map(|t| (t.key(), t.value())))),
        Err(e) if errors::is(&e, &["NoSuchTagSet", "NoSuchBucket"]) => Ok(Tags::new()),
        Err(e) => Err(classify(&e, "reading the state bucket's tags", name)),
    }
}

/// Every object version and delete marker in the bucket, counted.
async fn bucket_contents(aws: &Aws, name: &str) -> Result<BucketContents> {
    let mut contents = BucketContents::default();
    let mut per_key: BTreeMap<String, usize> = BTreeMap::new();
    let mut key_marker: Option<String> = None;
    let mut version_marker: Option<String> = None;
    // Bounded: 1000 pages of up to 1000 entries is far beyond any state bucket; stopping
    // there still refuses (the bucket is not empty).
    for _ in 0..1000 {
        let out = aws
            .s3
            .list_object_versions()
            .bucket(name)
            .set_key_marker(key_marker.clone())
            .set_version_id_marker(version_marker.clone())
            .send()
            .await
            .map_err(|e| classify(&e, "listing the object versions in the bucket", name))?;
        for v in out.versions() {
            contents.versions += 1;
            if v.is_latest() == Some(true) {
                contents.current += 1;
            }
            *per_key
                .entry(v.key().unwrap_or_default().to_string())
                .or_default() += 1;
        }
        for m in out.delete_markers() {
            contents.delete_markers += 1;
            *per_key
                .entry(m.key().unwrap_or_default().to_string())
                .or_default() += 1;
        }
        if out.is_truncated() != Some(true) {
            break;
        }
        key_marker = out.next_key_marker().map(str::to_string);
        version_marker = out.next_version_id_marker().map(str::to_string);
        if key_marker.is_none() && version_marker.is_none() {
            break;
        }
    }
    contents.keys = per_key.len();
    contents.sample = per_key.into_iter().take(SAMPLE_KEYS).collect();
    Ok(contents)
}

/// The lock table, or None. With `read_locks`, also its tags and the locks held now.
async fn table(aws: &Aws, name: &str, read_locks: bool) -> Result<Option<FoundTable>> {
    let table = match aws.dynamodb.describe_table().table_name(name).send().await {
        Ok(out) => out.table,
        Err(e) if errors::is(&e, &["ResourceNotFoundException"]) => return Ok(None),
        Err(e) => return Err(classify(&e, "reading the lock table", name)),
    };
    let Some(table) = table else { return Ok(None) };
    let (tags, held_locks) = if read_locks {
        let tags = table_tags(aws, name, table.table_arn().unwrap_or_default()).await?;
        (Some(tags), held_locks(aws, name).await?)
    } else {
        (None, Vec::new())
    };
    Ok(Some(FoundTable {
        deletion_protection: table.deletion_protection_enabled().unwrap_or(false),
        status: table
            .table_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        held_locks,
        tags,
    }))
}

async fn table_tags(aws: &Aws, name: &str, arn: &str) -> Result<Tags> {
    let tags = aws
        .dynamodb
        .list_tags_of_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|e| classify(&e, "reading the lock table's tags", name))?;
    Ok(tag_map(tags.tags().iter().map(|t| (t.key(), t.value()))))
}

/// The LockIDs in the table, without Terraform's `<bucket>/<key>-md5` digest items (they
/// are not locks).
async fn held_locks(aws: &Aws, name: &str) -> Result<Vec<String>> {
    let mut held = Vec::new();
    let mut start: Option<HashMap<String, AttributeValue>> = None;
    for _ in 0..100 {
        let out = aws
            .dynamodb
            .scan()
            .table_name(name)
            .projection_expression("LockID")
            .set_exclusive_start_key(start.clone())
            .send()
            .await
            .map_err(|e| classify(&e, "reading the locks in the lock table", name))?;
        for item in out.items() {
            let id = match item.get("LockID") {
                Some(AttributeValue::S(s)) => s.clone(),
                _ => "(an item without a string LockID)".to_string(),
            };
            if !id.ends_with("-md5") {
                held.push(id);
            }
        }
        start = out.last_evaluated_key().cloned();
        if start.is_none() {
            break;
        }
    }
    Ok(held)
}
