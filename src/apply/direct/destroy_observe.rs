//! The reads `destroy` plans from: everything attached to the role, the other roles that
//! trust the provider, what the state bucket holds and whether a lock is held. Only reads.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;

use crate::aws::{classify, errors, Aws};
use crate::error::Result;
use crate::iam::parse_document;
use crate::plan::ownership::is_managed;

/// The role as `destroy` needs it.
#[derive(Debug, Clone, Serialize)]
pub struct FoundRole {
    pub arn: String,
    pub inline_policies: Vec<String>,
    pub managed_policies: Vec<String>,
    pub instance_profiles: Vec<String>,
    /// Whether its trust policy names the provider being destroyed.
    pub trusts_provider: bool,
    /// Whether it carries `managed-by=bootstrap` (created or adopted by the tool).
    pub managed: bool,
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

    /// "3 object versions (1 current) of 1 key, 1 delete marker: env/prod.tfstate (4)".
    pub fn describe(&self) -> String {
        let plural = |n: usize, one: &str, many: &str| {
            if n == 1 {
                format!("{n} {one}")
            } else {
                format!("{n} {many}")
            }
        };
        let mut s = format!(
            "{} ({} current) of {}, {}",
            plural(self.versions, "object version", "object versions"),
            self.current,
            plural(self.keys, "key", "keys"),
            plural(self.delete_markers, "delete marker", "delete markers"),
        );
        if !self.sample.is_empty() {
            let names: Vec<String> = self
                .sample
                .iter()
                .map(|(k, n)| format!("{k} ({n})"))
                .collect();
            s.push_str(": ");
            s.push_str(&names.join(", "));
            if self.keys > self.sample.len() {
                s.push_str(", ...");
            }
        }
        s
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
    /// Whether it carries `managed-by=bootstrap`; only read with `--delete-state` (true
    /// otherwise: the table is kept anyway).
    pub managed: bool,
}

/// Whether the provider exists: None when it does not, else whether it carries
/// `managed-by=bootstrap`.
pub async fn provider(aws: &Aws, arn: &str) -> Result<Option<bool>> {
    match aws
        .iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(arn)
        .send()
        .await
    {
        Ok(out) => Ok(Some(is_managed(&tag_map(
            out.tags().iter().map(|t| (t.key(), t.value())),
        )))),
        Err(e) if errors::is(&e, &["NoSuchEntity"]) => Ok(None),
        Err(e) => Err(classify(&e, "reading the OIDC provider", arn)),
    }
}

fn tag_map<'a>(tags: impl Iterator<Item = (&'a str, &'a str)>) -> BTreeMap<String, String> {
    tags.map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn mentions(trust_document: Option<&str>, provider_arn: &str) -> bool {
    trust_document
        .and_then(parse_document)
        .is_some_and(|doc| doc.to_string().contains(provider_arn))
}

/// The role with everything that must go before it can be deleted, or None.
pub async fn role(aws: &Aws, name: &str, provider_arn: &str) -> Result<Option<FoundRole>> {
    let iam = &aws.iam;
    let (role, inline, attached, profiles) = tokio::join!(
        iam.get_role().role_name(name).send(),
        crate::observe::inline_policy_names(aws, name),
        crate::observe::attached_policy_arns(aws, name),
        iam.list_instance_profiles_for_role()
            .role_name(name)
            .into_paginator()
            .send()
            .try_collect(),
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
    let instance_profiles = match profiles {
        Ok(pages) => pages
            .iter()
            .flat_map(|p| p.instance_profiles().iter())
            .map(|p| p.instance_profile_name().to_string())
            .collect(),
        Err(e) if errors::is(&e, &["NoSuchEntity"]) => return Ok(None),
        Err(e) => return Err(classify(&e, "listing the role's instance profiles", name)),
    };
    Ok(Some(FoundRole {
        arn: role.arn().to_string(),
        inline_policies,
        managed_policies,
        instance_profiles,
        trusts_provider: mentions(role.assume_role_policy_document(), provider_arn),
        managed: is_managed(&tag_map(role.tags().iter().map(|t| (t.key(), t.value())))),
    }))
}

/// Every role other than `except` whose trust policy names the provider.
pub async fn roles_trusting(aws: &Aws, provider_arn: &str, except: &str) -> Result<Vec<String>> {
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
        .filter(|r| r.role_name() != except)
        .filter(|r| mentions(r.assume_role_policy_document(), provider_arn))
        .map(|r| r.role_name().to_string())
        .collect();
    out.sort();
    Ok(out)
}

/// Whether the bucket exists (and is ours to read).
pub async fn bucket_exists(aws: &Aws, name: &str) -> Result<bool> {
    match aws.s3.get_bucket_versioning().bucket(name).send().await {
        Ok(_) => Ok(true),
        Err(e) if errors::is(&e, &["NoSuchBucket"]) => Ok(false),
        Err(e) => Err(classify(&e, "reading the state bucket", name)),
    }
}

/// Whether the bucket carries `managed-by=bootstrap` (a bucket without tags does not).
pub async fn bucket_managed(aws: &Aws, name: &str) -> Result<bool> {
    match aws.s3.get_bucket_tagging().bucket(name).send().await {
        Ok(out) => Ok(is_managed(&tag_map(
            out.tag_set().iter().map(|t| (t.key(), t.value())),
        ))),
        Err(e) if errors::is(&e, &["NoSuchTagSet", "NoSuchBucket"]) => Ok(false),
        Err(e) => Err(classify(&e, "reading the state bucket's tags", name)),
    }
}

/// Every object version and delete marker in the bucket, counted.
pub async fn bucket_contents(aws: &Aws, name: &str) -> Result<BucketContents> {
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

/// The lock table, or None. With `read_locks`, also the locks held now.
pub async fn table(aws: &Aws, name: &str, read_locks: bool) -> Result<Option<FoundTable>> {
    let table = match aws.dynamodb.describe_table().table_name(name).send().await {
        Ok(out) => out.table,
        Err(e) if errors::is(&e, &["ResourceNotFoundException"]) => return Ok(None),
        Err(e) => return Err(classify(&e, "reading the lock table", name)),
    };
    let Some(table) = table else { return Ok(None) };
    let mut held_locks = Vec::new();
    let mut managed = true;
    if read_locks {
        let arn = table.table_arn().unwrap_or_default();
        let tags = aws
            .dynamodb
            .list_tags_of_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(|e| classify(&e, "reading the lock table's tags", name))?;
        managed = is_managed(&tag_map(tags.tags().iter().map(|t| (t.key(), t.value()))));
        let mut start: Option<std::collections::HashMap<String, AttributeValue>> = None;
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
                // Terraform keeps `<bucket>/<key>-md5` digest items next to its locks; they
                // are not locks.
                if !id.ends_with("-md5") {
                    held_locks.push(id);
                }
            }
            start = out.last_evaluated_key().cloned();
            if start.is_none() {
                break;
            }
        }
    }
    Ok(Some(FoundTable {
        deletion_protection: table.deletion_protection_enabled().unwrap_or(false),
        status: table
            .table_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        held_locks,
        managed,
    }))
}
