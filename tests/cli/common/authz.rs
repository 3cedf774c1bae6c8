//! A judge for recorded AWS requests: what IAM action on which resource each request needs
//! (after the Service Authorization Reference), judged against a permissions policy with the
//! project's own evaluator (`bootstrap::iam::evaluate_access`).
//!
//! Covered: IAM, STS, S3 (REST, path-style), DynamoDB and KMS (JSON `X-Amz-Target`) and
//! CloudFormation (query protocol). Anything else is a need for `unknown:<what>`, which no
//! sensible policy allows, so an unmapped request fails a test instead of passing unjudged.

use std::collections::{BTreeMap, BTreeSet};

use bootstrap::iam::{evaluate_access, Access};
use serde_json::Value;

use super::aws::strings;
use super::moto::{classify, RecordedRequest};

/// What the judge knows that a request does not say.
#[derive(Debug, Clone)]
pub struct Env {
    pub partition: String,
    pub account: String,
    /// Used when a request carries no SigV4 scope.
    pub region: String,
    /// The KMS key ARN the buckets' default encryption uses: object reads need
    /// `kms:Decrypt` and object writes `kms:GenerateDataKey` on it.
    pub bucket_kms_key: Option<String>,
}

impl Env {
    pub fn moto(region: &str) -> Env {
        Env {
            partition: "aws".into(),
            account: super::moto::ACCOUNT_ID.into(),
            region: region.into(),
            bucket_kms_key: None,
        }
    }

    pub fn with_bucket_kms_key(mut self, key_arn: &str) -> Env {
        self.bucket_kms_key = Some(key_arn.to_string());
        self
    }
}

/// One permission a request needs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Need {
    pub action: String,
    pub resource: String,
    pub context: BTreeMap<String, Vec<String>>,
    /// `METHOD path?query` or `Service.Operation` of the request it came from.
    pub request: String,
}

impl Need {
    fn new(action: &str, resource: impl Into<String>, request: &str) -> Need {
        Need {
            action: action.to_string(),
            resource: resource.into(),
            context: BTreeMap::new(),
            request: request.to_string(),
        }
    }

    fn with(mut self, key: &str, value: impl Into<String>) -> Need {
        self.context
            .entry(key.to_string())
            .or_default()
            .push(value.into());
        self
    }

    pub fn access(&self) -> Access {
        Access {
            action: self.action.clone(),
            resource: self.resource.clone(),
            context: self.context.clone(),
        }
    }
}

impl std::fmt::Display for Need {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} on {}", self.action, self.resource)?;
        if !self.context.is_empty() {
            write!(f, " with {:?}", self.context)?;
        }
        write!(f, " (for {})", self.request)
    }
}

/// `Credential=AKID/DATE/REGION/SERVICE/aws4_request` -> REGION.
fn scope_region(req: &RecordedRequest) -> Option<String> {
    let auth = req.header("authorization")?;
    let cred = auth.split("Credential=").nth(1)?.split([',', ' ']).next()?;
    let parts: Vec<&str> = cred.split('/').collect();
    (parts.len() == 5).then(|| parts[2].to_string())
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Every permission `req` needs. STS `GetCallerIdentity` and `AssumeRoleWithWebIdentity`
/// need none from an identity policy.
pub fn needs(req: &RecordedRequest, env: &Env) -> Vec<Need> {
    let (service, op, _) = classify(req);
    let region = scope_region(req).unwrap_or_else(|| env.region.clone());
    let ctx = Ctx {
        env,
        region: &region,
        label: format!("{service}:{op}"),
    };
    match service.as_str() {
        "iam" => iam(req, &op, &ctx),
        "sts" => match op.as_str() {
            "GetCallerIdentity" | "AssumeRoleWithWebIdentity" => Vec::new(),
            _ => vec![Need::new(&format!("sts:{op}"), "*", &ctx.label)],
        },
        "s3" => s3(req, &op, &ctx),
        "dynamodb" => dynamodb(req, &op, &ctx),
        "kms" | "trentservice" => kms(req, &op, &ctx),
        "cloudformation" => cloudformation(req, &op, &ctx),
        other => vec![Need::new(&format!("unknown:{other}"), "*", &ctx.label)],
    }
}

struct Ctx<'a> {
    env: &'a Env,
    region: &'a str,
    label: String,
}

impl Ctx<'_> {
    fn arn(&self, service: &str, region: &str, resource: &str) -> String {
        format!(
            "arn:{}:{service}:{region}:{}:{resource}",
            self.env.partition, self.env.account
        )
    }
}

fn iam(req: &RecordedRequest, op: &str, c: &Ctx<'_>) -> Vec<Need> {
    let action = format!("iam:{op}");
    let p = |name: &str| req.param(name);
    let role = |name: String| {
        let path = p("Path").unwrap_or_else(|| "/".into());
        c.arn("iam", "", &format!("role{path}{name}"))
    };
    let resource = if let Some(name) = p("RoleName") {
        role(name)
    } else if let Some(arn) = p("OpenIDConnectProviderArn") {
        arn
    } else if op == "CreateOpenIDConnectProvider" {
        let url = p("Url").unwrap_or_default();
        c.arn(
            "iam",
            "",
            &format!("oidc-provider/{}", url.trim_start_matches("https://")),
        )
    } else if let Some(arn) = p("PolicyArn") {
        arn
    } else {
        "*".to_string()
    };
    let mut need = Need::new(&action, resource.clone(), &c.label);
    if let Some(boundary) = p("PermissionsBoundary") {
        need = need.with("iam:PermissionsBoundary", boundary);
    }
    if matches!(op, "AttachRolePolicy" | "DetachRolePolicy") {
        if let Some(arn) = p("PolicyArn") {
            need = need.with("iam:PolicyARN", arn);
        }
    }
    let mut out = vec![need];
    // Creating a resource with tags also needs the tagging action (IAM User Guide,
    // "Permissions required to tag IAM resources").
    if p("Tags.member.1.Key").is_some() {
        let tag = match op {
            "CreateRole" => Some("iam:TagRole"),
            "CreateOpenIDConnectProvider" => Some("iam:TagOpenIDConnectProvider"),
            _ => None,
        };
        out.extend(tag.map(|t| Need::new(t, resource, &c.label)));
    }
    out
}

fn query_keys(req: &RecordedRequest) -> BTreeMap<String, String> {
    req.query
        .as_deref()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// The S3 action for a bucket-level operation (as `classify` names it).
fn s3_bucket_action(op: &str) -> String {
    let mapped = match op {
        "HeadBucket" | "ListObjects" | "ListObjectsV2" => "ListBucket",
        "ListObjectVersions" => "ListBucketVersions",
        "ListMultipartUploads" => "ListBucketMultipartUploads",
        "ListBuckets" => "ListAllMyBuckets",
        "GetBucketEncryption" => "GetEncryptionConfiguration",
        "PutBucketEncryption" | "DeleteBucketEncryption" => "PutEncryptionConfiguration",
        "GetPublicAccessBlock" => "GetBucketPublicAccessBlock",
        "PutPublicAccessBlock" | "DeletePublicAccessBlock" => "PutBucketPublicAccessBlock",
        "DeleteBucketOwnershipControls" => "PutBucketOwnershipControls",
        "GetBucketLifecycleConfiguration" => "GetLifecycleConfiguration",
        "PutBucketLifecycleConfiguration" | "DeleteBucketLifecycleConfiguration" => {
            "PutLifecycleConfiguration"
        }
        "DeleteBucketTagging" => "PutBucketTagging",
        "GetBucketCors" => "GetBucketCORS",
        "PutBucketCors" | "DeleteBucketCors" => "PutBucketCORS",
        "GetBucketReplication" => "GetReplicationConfiguration",
        "PutBucketReplication" | "DeleteBucketReplication" => "PutReplicationConfiguration",
        "GetObjectLockConfiguration" => "GetBucketObjectLockConfiguration",
        "PutObjectLockConfiguration" => "PutBucketObjectLockConfiguration",
        "GetBucketAccelerateConfiguration" => "GetAccelerateConfiguration",
        "PutBucketAccelerateConfiguration" => "PutAccelerateConfiguration",
        "GetBucketNotificationConfiguration" => "GetBucketNotification",
        "PutBucketNotificationConfiguration" => "PutBucketNotification",
        other => other,
    };
    format!("s3:{mapped}")
}

#[allow(
    clippy::too_many_lines,
    reason = "a table of S3 requests and the actions they need"
)]
fn s3(req: &RecordedRequest, op: &str, c: &Ctx<'_>) -> Vec<Need> {
    let path = req.path.trim_start_matches('/');
    let (bucket, key) = match path.split_once('/') {
        Some((b, k)) if !k.is_empty() => (b.to_string(), Some(decode(k))),
        Some((b, _)) => (b.to_string(), None),
        None => (path.to_string(), None),
    };
    let p = &c.env.partition;
    let bucket_arn = format!("arn:{p}:s3:::{bucket}");
    let label = format!(
        "{} /{}{}",
        req.method,
        decode(path),
        req.query
            .as_deref()
            .map(|q| format!("?{q}"))
            .unwrap_or_default()
    );
    let query = query_keys(req);
    if op == "ListBuckets" {
        return vec![Need::new("s3:ListAllMyBuckets", "*", &label)];
    }
    let Some(key) = key else {
        let mut need = Need::new(&s3_bucket_action(op), bucket_arn.clone(), &label);
        for (k, ctx_key) in [
            ("prefix", "s3:prefix"),
            ("delimiter", "s3:delimiter"),
            ("max-keys", "s3:max-keys"),
        ] {
            if let Some(v) = query.get(k) {
                need = need.with(ctx_key, v.clone());
            }
        }
        let mut out = vec![need];
        if op == "DeleteObjects" {
            out = delete_objects(req, &bucket_arn, &label);
        }
        // Tags in the create call need s3:TagResource (S3 API Reference, CreateBucket:
        // CreateBucketConfiguration.Tags).
        if op == "CreateBucket" && req.body_str().contains("<Tags>") {
            out.push(Need::new("s3:TagResource", bucket_arn.clone(), &label));
        }
        if op == "CreateBucket" && req.header("x-amz-object-ownership").is_some() {
            out.push(Need::new(
                "s3:PutBucketOwnershipControls",
                bucket_arn,
                &label,
            ));
        }
        return out;
    };
    let object_arn = format!("{bucket_arn}/{key}");
    let versioned = query.contains_key("versionId");
    let action = match op {
        "GetObject" | "HeadObject" if versioned => "s3:GetObjectVersion".to_string(),
        "GetObject" | "HeadObject" => "s3:GetObject".to_string(),
        "DeleteObject" if versioned => "s3:DeleteObjectVersion".to_string(),
        "CreateMultipartUpload" | "UploadPart" | "CompleteMultipartUpload" | "CopyObject" => {
            "s3:PutObject".to_string()
        }
        "ListParts" => "s3:ListMultipartUploadParts".to_string(),
        // PutObject, DeleteObject, AbortMultipartUpload, Get/Put/DeleteObjectTagging, ...
        other => format!("s3:{other}"),
    };
    let mut need = Need::new(&action, object_arn, &label);
    for (header, ctx_key) in [
        ("if-none-match", "s3:if-none-match"),
        ("if-match", "s3:if-match"),
        (
            "x-amz-server-side-encryption",
            "s3:x-amz-server-side-encryption",
        ),
        (
            "x-amz-server-side-encryption-aws-kms-key-id",
            "s3:x-amz-server-side-encryption-aws-kms-key-id",
        ),
    ] {
        if let Some(v) = req.header(header) {
            need = need.with(ctx_key, v);
        }
    }
    let mut out = vec![need];
    if let Some(source) = req.header("x-amz-copy-source") {
        let source = decode(source.trim_start_matches('/'));
        out.push(Need::new(
            "s3:GetObject",
            format!("arn:{p}:s3:::{}", source.split('?').next().unwrap_or("")),
            &label,
        ));
    }
    // SSE-KMS: S3 uses the caller's permissions on the key (S3 User Guide, "Using
    // server-side encryption with AWS KMS keys").
    let writes = matches!(op, "PutObject" | "CreateMultipartUpload" | "CopyObject");
    let header_key = req
        .header("x-amz-server-side-encryption-aws-kms-key-id")
        .map(str::to_string);
    let key_arn = header_key.or_else(|| c.env.bucket_kms_key.clone());
    if let Some(key_arn) = key_arn {
        if writes {
            out.push(Need::new("kms:GenerateDataKey", key_arn, &label));
        } else if op == "GetObject" {
            out.push(Need::new("kms:Decrypt", key_arn, &label));
        }
    }
    out
}

/// `POST /bucket?delete`: DeleteObject (or DeleteObjectVersion) on every key in the body.
fn delete_objects(req: &RecordedRequest, bucket_arn: &str, label: &str) -> Vec<Need> {
    let body = req.body_str();
    body.split("<Object>")
        .skip(1)
        .map(|object| {
            let field = |name: &str| {
                object
                    .split(&format!("<{name}>"))
                    .nth(1)
                    .and_then(|r| r.split(&format!("</{name}>")).next())
                    .map(str::to_string)
            };
            let action = if field("VersionId").is_some() {
                "s3:DeleteObjectVersion"
            } else {
                "s3:DeleteObject"
            };
            Need::new(
                action,
                format!("{bucket_arn}/{}", field("Key").unwrap_or_default()),
                label,
            )
        })
        .collect()
}

fn dynamodb(req: &RecordedRequest, op: &str, c: &Ctx<'_>) -> Vec<Need> {
    let body = req.body_json();
    let resource = if let Some(table) = body["TableName"].as_str() {
        c.arn("dynamodb", c.region, &format!("table/{table}"))
    } else if let Some(arn) = body["ResourceArn"].as_str() {
        arn.to_string()
    } else {
        "*".to_string()
    };
    let mut need = Need::new(&format!("dynamodb:{op}"), resource, &c.label);
    let key = body
        .get("Key")
        .or_else(|| body.get("Item"))
        .and_then(|k| k["LockID"]["S"].as_str());
    if let Some(key) = key {
        need = need.with("dynamodb:LeadingKeys", key);
    }
    vec![need]
}

fn kms(req: &RecordedRequest, op: &str, c: &Ctx<'_>) -> Vec<Need> {
    let body = req.body_json();
    let key = body["KeyId"].as_str().unwrap_or("*");
    let resource = if key.starts_with("arn:") || key == "*" {
        key.to_string()
    } else if key.starts_with("alias/") {
        c.arn("kms", c.region, key)
    } else {
        c.arn("kms", c.region, &format!("key/{key}"))
    };
    vec![Need::new(&format!("kms:{op}"), resource, &c.label)]
}

fn cloudformation(req: &RecordedRequest, op: &str, c: &Ctx<'_>) -> Vec<Need> {
    let action = format!("cloudformation:{op}");
    let stack = |name: String| {
        if name.starts_with("arn:") {
            name
        } else {
            c.arn("cloudformation", c.region, &format!("stack/{name}/id"))
        }
    };
    let resource = if let Some(name) = req.param("StackSetName") {
        if name.starts_with("arn:") {
            name
        } else {
            c.arn("cloudformation", c.region, &format!("stackset/{name}:id"))
        }
    } else if let Some(name) = req.param("StackName") {
        stack(name)
    } else {
        "*".to_string()
    };
    vec![Need::new(&action, resource, &c.label)]
}

/// A request's needs that `policy` does not allow, each with the evaluator's reason.
pub fn denied(policy: &Value, needs: &[Need]) -> Vec<String> {
    needs
        .iter()
        .filter_map(|n| {
            let e = evaluate_access(policy, &n.access());
            (!e.allowed).then(|| format!("{n}: {}", e.reason))
        })
        .collect()
}

/// The needs of every request, in order, duplicates removed.
pub fn all_needs(requests: &[RecordedRequest], env: &Env) -> Vec<Need> {
    let mut seen = BTreeSet::new();
    requests
        .iter()
        .flat_map(|r| needs(r, env))
        .filter(|n| seen.insert((n.action.clone(), n.resource.clone(), n.context.clone())))
        .collect()
}

/// Panics with every recorded request `policy` would refuse.
pub fn assert_all_allowed(policy: &Value, requests: &[RecordedRequest], env: &Env, what: &str) {
    assert!(!requests.is_empty(), "{what}: no AWS request was recorded");
    let refused = denied(policy, &all_needs(requests, env));
    assert!(
        refused.is_empty(),
        "{what}: {} request(s) the policy does not allow:\n  {}\npolicy: {policy:#}",
        refused.len(),
        refused.join("\n  ")
    );
}

/// The grants of `policy` no need used: `(statement label, action, resource)` for each
/// action and resource of each Allow statement that allowed none of `needs`. Actions with
/// wildcards count as used when any need they match was allowed by the statement.
pub fn unused_grants(policy: &Value, needs: &[Need]) -> Vec<(String, String, String)> {
    let statements: Vec<Value> = match &policy["Statement"] {
        Value::Array(a) => a.clone(),
        one @ Value::Object(_) => vec![one.clone()],
        _ => Vec::new(),
    };
    let mut unused = Vec::new();
    for (i, st) in statements.iter().enumerate() {
        if st["Effect"] != "Allow" {
            continue;
        }
        let label = st["Sid"]
            .as_str()
            .map(str::to_string)
            .unwrap_or(format!("#{}", i + 1));
        for action in strings(&st["Action"]) {
            for resource in strings(&st["Resource"]) {
                let mut narrowed = st.clone();
                narrowed["Action"] = Value::String(action.clone());
                narrowed["Resource"] = Value::String(resource.clone());
                let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [narrowed]});
                let used = needs
                    .iter()
                    .any(|n| evaluate_access(&doc, &n.access()).allowed);
                if !used {
                    unused.push((label.clone(), action.clone(), resource.clone()));
                }
            }
        }
    }
    unused
}
