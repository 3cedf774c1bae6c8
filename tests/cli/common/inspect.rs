//! Look at (and arrange) AWS state in moto with the AWS SDK directly, independently of the
//! tool under test: what a test asserts about the end state is read here, not from the
//! tool's own report.

use std::collections::BTreeMap;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::types::{AttributeValue, TableDescription};
use aws_sdk_iam::config::Credentials;
use aws_sdk_iam::operation::get_role::GetRoleError;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::NoncurrentVersionExpiration;

/// One object version or delete marker.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    pub key: String,
    pub version_id: String,
    pub delete_marker: bool,
}

pub struct Inspect {
    rt: tokio::runtime::Runtime,
    pub iam: aws_sdk_iam::Client,
    pub s3: aws_sdk_s3::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
}

impl Inspect {
    pub fn new(endpoint: &str) -> Inspect {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let creds = Credentials::new("testing", "testing", None, None, "tests");
        let region = Region::new("us-east-1");
        let iam = aws_sdk_iam::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(region.clone())
            .endpoint_url(endpoint)
            .credentials_provider(creds.clone())
            .build();
        let s3 = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(region.clone())
            .endpoint_url(endpoint)
            .force_path_style(true)
            .credentials_provider(creds.clone())
            .build();
        let dynamodb = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(region)
            .endpoint_url(endpoint)
            .credentials_provider(creds)
            .build();
        Inspect {
            rt,
            iam: aws_sdk_iam::Client::from_conf(iam),
            s3: aws_sdk_s3::Client::from_conf(s3),
            dynamodb: aws_sdk_dynamodb::Client::from_conf(dynamodb),
        }
    }

    pub fn block<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    // ---- IAM ----

    pub fn role_exists(&self, name: &str) -> bool {
        match self.block(self.iam.get_role().role_name(name).send()) {
            Ok(_) => true,
            Err(e)
                if e.as_service_error()
                    .is_some_and(GetRoleError::is_no_such_entity_exception) =>
            {
                false
            }
            Err(e) => panic!("GetRole {name}: {e:?}"),
        }
    }

    /// Names of every role.
    pub fn role_names(&self) -> Vec<String> {
        let out = self.block(self.iam.list_roles().send()).expect("ListRoles");
        out.roles()
            .iter()
            .map(|r| r.role_name().to_string())
            .collect()
    }

    /// The role's trust policy, decoded.
    pub fn trust_policy(&self, name: &str) -> serde_json::Value {
        let out = self
            .block(self.iam.get_role().role_name(name).send())
            .expect("GetRole");
        let doc = out
            .role()
            .and_then(|r| r.assume_role_policy_document())
            .expect("trust document")
            .to_string();
        let decoded = percent_encoding::percent_decode_str(&doc)
            .decode_utf8()
            .expect("utf8")
            .into_owned();
        serde_json::from_str(&decoded).expect("trust policy is JSON")
    }

    /// (max session duration, permissions boundary ARN) of a role.
    pub fn role_settings(&self, name: &str) -> (i32, Option<String>) {
        let out = self
            .block(self.iam.get_role().role_name(name).send())
            .expect("GetRole");
        let role = out.role().expect("role");
        (
            role.max_session_duration().unwrap_or(3600),
            role.permissions_boundary()
                .and_then(|b| b.permissions_boundary_arn())
                .map(str::to_string),
        )
    }

    pub fn inline_policy_names(&self, role: &str) -> Vec<String> {
        self.block(self.iam.list_role_policies().role_name(role).send())
            .expect("ListRolePolicies")
            .policy_names()
            .to_vec()
    }

    /// The document of one of the role's inline policies.
    pub fn inline_policy(&self, role: &str, name: &str) -> serde_json::Value {
        let out = self
            .block(
                self.iam
                    .get_role_policy()
                    .role_name(role)
                    .policy_name(name)
                    .send(),
            )
            .expect("GetRolePolicy");
        super::aws::policy_json(out.policy_document())
    }

    /// The role's tags.
    pub fn role_tags(&self, role: &str) -> BTreeMap<String, String> {
        let out = self
            .block(self.iam.get_role().role_name(role).send())
            .expect("GetRole");
        out.role()
            .map(|r| {
                r.tags()
                    .iter()
                    .map(|t| (t.key().to_string(), t.value().to_string()))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn attached_policy_arns(&self, role: &str) -> Vec<String> {
        self.block(
            self.iam
                .list_attached_role_policies()
                .role_name(role)
                .send(),
        )
        .expect("ListAttachedRolePolicies")
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn().map(str::to_string))
        .collect()
    }

    pub fn create_role(&self, name: &str, trust: &serde_json::Value) {
        self.block(
            self.iam
                .create_role()
                .role_name(name)
                .assume_role_policy_document(trust.to_string())
                .send(),
        )
        .expect("CreateRole");
    }

    pub fn create_policy(&self, name: &str, document: &serde_json::Value) -> String {
        let out = self
            .block(
                self.iam
                    .create_policy()
                    .policy_name(name)
                    .policy_document(document.to_string())
                    .send(),
            )
            .expect("CreatePolicy");
        out.policy()
            .and_then(|p| p.arn())
            .expect("policy arn")
            .to_string()
    }

    pub fn policy_exists(&self, arn: &str) -> bool {
        self.block(self.iam.get_policy().policy_arn(arn).send())
            .is_ok()
    }

    /// ARNs of every OIDC provider.
    pub fn provider_arns(&self) -> Vec<String> {
        self.block(self.iam.list_open_id_connect_providers().send())
            .expect("ListOpenIDConnectProviders")
            .open_id_connect_provider_list()
            .iter()
            .filter_map(|p| p.arn().map(str::to_string))
            .collect()
    }

    /// (client ids, thumbprints, tags) of a provider.
    pub fn provider(&self, arn: &str) -> (Vec<String>, Vec<String>, BTreeMap<String, String>) {
        let out = self
            .block(
                self.iam
                    .get_open_id_connect_provider()
                    .open_id_connect_provider_arn(arn)
                    .send(),
            )
            .expect("GetOpenIDConnectProvider");
        (
            out.client_id_list().to_vec(),
            out.thumbprint_list().to_vec(),
            out.tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect(),
        )
    }

    // ---- S3 ----

    pub fn bucket_names(&self) -> Vec<String> {
        self.block(self.s3.list_buckets().send())
            .expect("ListBuckets")
            .buckets()
            .iter()
            .filter_map(|b| b.name().map(str::to_string))
            .collect()
    }

    pub fn bucket_exists(&self, name: &str) -> bool {
        self.bucket_names().iter().any(|b| b == name)
    }

    /// Put an object; returns its version id.
    pub fn put_object(&self, bucket: &str, key: &str, body: &str) -> String {
        let out = self
            .block(
                self.s3
                    .put_object()
                    .bucket(bucket)
                    .key(key)
                    .body(ByteStream::from(body.as_bytes().to_vec()))
                    .send(),
            )
            .expect("PutObject");
        out.version_id().expect("versioned bucket").to_string()
    }

    /// Delete an object without a version id: a delete marker on a versioned bucket.
    pub fn delete_object(&self, bucket: &str, key: &str) {
        self.block(self.s3.delete_object().bucket(bucket).key(key).send())
            .expect("DeleteObject");
    }

    /// Every version and delete marker, sorted.
    pub fn versions(&self, bucket: &str) -> Vec<Version> {
        let out = self
            .block(self.s3.list_object_versions().bucket(bucket).send())
            .expect("ListObjectVersions");
        assert_ne!(out.is_truncated(), Some(true), "tests keep buckets small");
        let mut v: Vec<Version> = out
            .versions()
            .iter()
            .map(|v| Version {
                key: v.key().unwrap_or_default().to_string(),
                version_id: v.version_id().unwrap_or_default().to_string(),
                delete_marker: false,
            })
            .chain(out.delete_markers().iter().map(|m| Version {
                key: m.key().unwrap_or_default().to_string(),
                version_id: m.version_id().unwrap_or_default().to_string(),
                delete_marker: true,
            }))
            .collect();
        v.sort();
        v
    }

    pub fn object_version_body(&self, bucket: &str, key: &str, version_id: &str) -> String {
        let out = self
            .block(
                self.s3
                    .get_object()
                    .bucket(bucket)
                    .key(key)
                    .version_id(version_id)
                    .send(),
            )
            .expect("GetObject");
        let bytes = self.block(out.body.collect()).expect("body").into_bytes();
        String::from_utf8(bytes.to_vec()).expect("utf8 body")
    }

    pub fn bucket_tags(&self, bucket: &str) -> BTreeMap<String, String> {
        match self.block(self.s3.get_bucket_tagging().bucket(bucket).send()) {
            Ok(out) => out
                .tag_set()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect(),
            Err(_) => BTreeMap::new(),
        }
    }

    pub fn bucket_policy(&self, bucket: &str) -> Option<serde_json::Value> {
        self.block(self.s3.get_bucket_policy().bucket(bucket).send())
            .ok()
            .and_then(|o| o.policy().map(str::to_string))
            .map(|p| serde_json::from_str(&p).expect("bucket policy JSON"))
    }

    /// Run `f` with the bucket policy lifted: moto enforces the TLS-only policy on its plain
    /// http endpoint, so a test cannot write objects while it is in place.
    pub fn without_bucket_policy<T>(&self, bucket: &str, f: impl FnOnce() -> T) -> T {
        let saved = self.bucket_policy(bucket).expect("the bucket has a policy");
        self.block(self.s3.delete_bucket_policy().bucket(bucket).send())
            .expect("DeleteBucketPolicy");
        let out = f();
        self.block(
            self.s3
                .put_bucket_policy()
                .bucket(bucket)
                .policy(saved.to_string())
                .send(),
        )
        .expect("PutBucketPolicy");
        out
    }

    pub fn lifecycle_rule_ids(&self, bucket: &str) -> Vec<String> {
        self.block(
            self.s3
                .get_bucket_lifecycle_configuration()
                .bucket(bucket)
                .send(),
        )
        .map(|o| {
            o.rules()
                .iter()
                .map(|r| r.id().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
    }

    /// Noncurrent-version expiry days of every lifecycle rule.
    pub fn lifecycle_noncurrent_days(&self, bucket: &str) -> Vec<Option<i32>> {
        self.block(
            self.s3
                .get_bucket_lifecycle_configuration()
                .bucket(bucket)
                .send(),
        )
        .map(|o| {
            o.rules()
                .iter()
                .map(|r| {
                    r.noncurrent_version_expiration()
                        .and_then(NoncurrentVersionExpiration::noncurrent_days)
                })
                .collect()
        })
        .unwrap_or_default()
    }

    pub fn set_deletion_protection(&self, table: &str, on: bool) {
        self.block(
            self.dynamodb
                .update_table()
                .table_name(table)
                .deletion_protection_enabled(on)
                .send(),
        )
        .expect("UpdateTable");
    }

    pub fn versioning(&self, bucket: &str) -> Option<String> {
        self.block(self.s3.get_bucket_versioning().bucket(bucket).send())
            .expect("GetBucketVersioning")
            .status()
            .map(|s| s.as_str().to_string())
    }

    // ---- DynamoDB ----

    pub fn table_names(&self) -> Vec<String> {
        self.block(self.dynamodb.list_tables().send())
            .expect("ListTables")
            .table_names()
            .to_vec()
    }

    pub fn table_exists(&self, name: &str) -> bool {
        self.table_names().iter().any(|t| t == name)
    }

    /// (deletion protection, point-in-time recovery) of a table.
    pub fn table_protection(&self, name: &str) -> (bool, bool) {
        let d = self
            .block(self.dynamodb.describe_table().table_name(name).send())
            .expect("DescribeTable");
        let b = self
            .block(
                self.dynamodb
                    .describe_continuous_backups()
                    .table_name(name)
                    .send(),
            )
            .expect("DescribeContinuousBackups");
        let pitr = b
            .continuous_backups_description()
            .and_then(|c| c.point_in_time_recovery_description())
            .and_then(|p| p.point_in_time_recovery_status())
            .is_some_and(|s| s.as_str() == "ENABLED");
        (
            d.table()
                .and_then(TableDescription::deletion_protection_enabled)
                .unwrap_or(false),
            pitr,
        )
    }

    pub fn put_lock_item(&self, table: &str, lock_id: &str, info: Option<&str>) {
        let mut req = self
            .dynamodb
            .put_item()
            .table_name(table)
            .item("LockID", AttributeValue::S(lock_id.to_string()));
        if let Some(info) = info {
            req = req.item("Info", AttributeValue::S(info.to_string()));
        }
        self.block(req.send()).expect("PutItem");
    }

    pub fn delete_lock_item(&self, table: &str, lock_id: &str) {
        self.block(
            self.dynamodb
                .delete_item()
                .table_name(table)
                .key("LockID", AttributeValue::S(lock_id.to_string()))
                .send(),
        )
        .expect("DeleteItem");
    }
}
