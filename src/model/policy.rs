//! Every policy document the tool writes is built here, once; direct mode and the
//! CloudFormation template both use these functions. Also the semantic comparison of
//! documents as IAM returns them (URL-encoded, reordered, scalars vs one-element lists).

use ipnet::IpNet;
use serde_json::{json, Map, Value};

/// The Sid of the bucket-policy statement the tool owns.
pub const DENY_INSECURE_SID: &str = "DenyInsecureTransport";
/// The Sid prefix of every statement the tool writes into a bucket policy.
pub const OWNED_SID_PREFIX: &str = "DenyInsecureTransport";

/// What the trust policy is built from.
#[derive(Debug, Clone)]
pub struct TrustInputs<'a> {
    /// `host/path` of the issuer (condition-key prefix).
    pub issuer_host_path: &'a str,
    /// ARN of the OIDC provider (or a CloudFormation reference to it).
    pub provider_arn: Value,
    pub audiences: &'a [String],
    pub repositories: &'a [String],
    pub environments: &'a [String],
    pub source_cidrs: &'a [IpNet],
}

fn one_or_many(values: Vec<String>) -> Value {
    if values.len() == 1 {
        Value::String(values.into_iter().next().unwrap_or_default())
    } else {
        Value::Array(values.into_iter().map(Value::String).collect())
    }
}

/// The `sub` patterns: `{repo}:*` per repository, or `{repo}:{env}:*` per pair when
/// environments are given. Empty when any repository is allowed.
pub fn sub_patterns(repositories: &[String], environments: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for r in repositories {
        if environments.is_empty() {
            out.push(format!("{r}:*"));
        } else {
            for e in environments {
                out.push(format!("{r}:{e}:*"));
            }
        }
    }
    out
}

/// The role's trust policy: one Allow statement for the provider with
/// `sts:AssumeRoleWithWebIdentity`, `StringEquals aud`, `StringLike sub` (unless any
/// repository is allowed) and `IpAddress aws:SourceIp` when CIDRs are given.
pub fn trust_policy(t: &TrustInputs<'_>) -> Value {
    let hp = t.issuer_host_path;
    let mut condition = Map::new();
    condition.insert(
        "StringEquals".into(),
        json!({ format!("{hp}:aud"): one_or_many(t.audiences.to_vec()) }),
    );
    let subs = sub_patterns(t.repositories, t.environments);
    if !subs.is_empty() {
        condition.insert(
            "StringLike".into(),
            json!({ format!("{hp}:sub"): one_or_many(subs) }),
        );
    }
    if !t.source_cidrs.is_empty() {
        let cidrs = t.source_cidrs.iter().map(|c| c.to_string()).collect();
        condition.insert(
            "IpAddress".into(),
            json!({ "aws:SourceIp": one_or_many(cidrs) }),
        );
    }
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "BitbucketPipelinesOidc",
            "Effect": "Allow",
            "Principal": { "Federated": t.provider_arn },
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": condition,
        }]
    })
}

/// What the state-access policy is built from. ARNs are JSON values so the template can
/// pass CloudFormation expressions (`Fn::Sub`) where direct mode passes strings.
#[derive(Debug, Clone)]
pub struct StateAccessInputs {
    pub bucket_arn: Value,
    /// `arn:...:bucket/prefix/*` or `arn:...:bucket/*`.
    pub objects_arn: Value,
    /// The key prefix (without trailing slash), if any, for the ListBucket condition.
    pub key_prefix: Option<String>,
    pub table_arn: Option<Value>,
    pub kms_key_arn: Option<Value>,
}

/// Least privilege for Terraform's S3 backend: list the bucket (under the prefix), read and
/// write state and lock files, use the lock table and the KMS key.
pub fn state_access_policy(s: &StateAccessInputs) -> Value {
    let mut list = json!({
        "Sid": "ListStateBucket",
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": s.bucket_arn,
    });
    if let Some(prefix) = &s.key_prefix {
        list["Condition"] =
            json!({ "StringLike": { "s3:prefix": [prefix, format!("{prefix}/*")] } });
    }
    let mut statements = vec![
        list,
        json!({
            "Sid": "ReadWriteState",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            "Resource": s.objects_arn,
        }),
    ];
    if let Some(table) = &s.table_arn {
        statements.push(json!({
            "Sid": "StateLockTable",
            "Effect": "Allow",
            "Action": ["dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"],
            "Resource": table,
        }));
    }
    if let Some(key) = &s.kms_key_arn {
        statements.push(json!({
            "Sid": "StateEncryptionKey",
            "Effect": "Allow",
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": key,
        }));
    }
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// The bucket-policy statement the tool owns: refuse any request not made over TLS.
pub fn deny_insecure_transport(bucket_arn: Value, objects_arn: Value) -> Value {
    json!({
        "Sid": DENY_INSECURE_SID,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, objects_arn],
        "Condition": { "Bool": { "aws:SecureTransport": "false" } },
    })
}

/// Merge the tool's statements into an existing bucket policy: statements with the tool's
/// Sids are replaced, every other statement is kept as it is.
pub fn merge_bucket_policy(existing: Option<&Value>, owned: &[Value]) -> Value {
    let owned_sids: Vec<&str> = owned.iter().filter_map(|s| s["Sid"].as_str()).collect();
    let mut statements: Vec<Value> = existing
        .map(statements_of)
        .unwrap_or_default()
        .into_iter()
        .filter(|s| {
            !s["Sid"]
                .as_str()
                .is_some_and(|sid| owned_sids.contains(&sid))
        })
        .collect();
    statements.extend(owned.iter().cloned());
    let mut doc = json!({ "Version": "2012-10-17", "Statement": statements });
    if let Some(id) = existing.and_then(|p| p.get("Id")) {
        doc["Id"] = id.clone();
    }
    doc
}

/// The statements of a policy as a list (IAM allows a single object).
pub fn statements_of(policy: &Value) -> Vec<Value> {
    match &policy["Statement"] {
        Value::Array(a) => a.clone(),
        Value::Object(_) => vec![policy["Statement"].clone()],
        _ => Vec::new(),
    }
}

/// Parse a policy document as AWS returns it: IAM URL-encodes documents; S3 does not.
pub fn parse_document(text: &str) -> Option<Value> {
    serde_json::from_str(text).ok().or_else(|| {
        let decoded = percent_encoding::percent_decode_str(text)
            .decode_utf8()
            .ok()?;
        serde_json::from_str(&decoded).ok()
    })
}

/// A canonical form for comparing documents: statement lists sorted, scalar-or-list fields
/// turned into sorted lists, Sids and Version kept. Two documents IAM treats the same
/// compare equal.
pub fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut out = Map::new();
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            for k in keys {
                let val = &map[k];
                let c = if k == "Statement" {
                    let mut stmts: Vec<Value> = match val {
                        Value::Array(a) => a.iter().map(canonical).collect(),
                        other => vec![canonical(other)],
                    };
                    stmts.sort_by_key(|s| s.to_string());
                    Value::Array(stmts)
                } else {
                    canonical(val)
                };
                out.insert(k.clone(), c);
            }
            Value::Object(out)
        }
        Value::Array(a) => {
            let mut items: Vec<Value> = a.iter().map(canonical).collect();
            items.sort_by_key(|i| i.to_string());
            items.dedup();
            if items.len() == 1 {
                items.pop().unwrap_or(Value::Null)
            } else {
                Value::Array(items)
            }
        }
        Value::Bool(b) => Value::String(b.to_string()),
        Value::Number(n) => Value::String(n.to_string()),
        other => other.clone(),
    }
}

/// Whether two policy documents mean the same.
pub fn same(a: &Value, b: &Value) -> bool {
    canonical(a) == canonical(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trust() -> Value {
        trust_policy(&TrustInputs {
            issuer_host_path: "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc",
            provider_arn: json!("arn:aws:iam::123456789012:oidc-provider/api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc"),
            audiences: &["ari:cloud:bitbucket::workspace/1111".to_string()],
            repositories: &["{aaaa}".to_string(), "{bbbb}".to_string()],
            environments: &[],
            source_cidrs: &["203.0.113.0/24".parse().unwrap()],
        })
    }

    #[test]
    fn trust_policy_restricts_audience_repository_and_ip() {
        let p = trust();
        let s = &p["Statement"][0];
        assert_eq!(s["Action"], "sts:AssumeRoleWithWebIdentity");
        let hp = "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc";
        assert_eq!(
            s["Condition"]["StringEquals"][format!("{hp}:aud")],
            "ari:cloud:bitbucket::workspace/1111"
        );
        assert_eq!(
            s["Condition"]["StringLike"][format!("{hp}:sub")],
            json!(["{aaaa}:*", "{bbbb}:*"])
        );
        assert_eq!(
            s["Condition"]["IpAddress"]["aws:SourceIp"],
            "203.0.113.0/24"
        );
        assert!(s["Condition"].get("ForAllValues:StringEquals").is_none());
    }

    #[test]
    fn environments_narrow_sub() {
        assert_eq!(
            sub_patterns(&["{r}".into()], &["{e1}".into(), "{e2}".into()]),
            vec!["{r}:{e1}:*", "{r}:{e2}:*"]
        );
    }

    #[test]
    fn url_encoded_reordered_document_is_the_same() {
        let p = trust();
        let mut reordered = p.clone();
        let subs = reordered["Statement"][0]["Condition"]["StringLike"]
            .as_object_mut()
            .unwrap();
        for v in subs.values_mut() {
            v.as_array_mut().unwrap().reverse();
        }
        reordered["Statement"][0]["Condition"]["IpAddress"]["aws:SourceIp"] =
            json!(["203.0.113.0/24"]);
        let encoded: String = percent_encoding::utf8_percent_encode(
            &reordered.to_string(),
            percent_encoding::NON_ALPHANUMERIC,
        )
        .collect();
        let parsed = parse_document(&encoded).unwrap();
        assert!(same(&p, &parsed));
        let mut changed = parsed;
        changed["Statement"][0]["Condition"]["StringLike"] = json!({});
        assert!(!same(&p, &changed));
    }

    #[test]
    fn merge_keeps_foreign_statements_and_replaces_owned_ones() {
        let foreign = json!({"Sid": "AllowAuditRead", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"});
        let stale_owned = json!({"Sid": DENY_INSECURE_SID, "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "x"});
        let existing =
            json!({"Version": "2012-10-17", "Statement": [foreign.clone(), stale_owned]});
        let owned = deny_insecure_transport(json!("arn:aws:s3:::b"), json!("arn:aws:s3:::b/*"));
        let merged = merge_bucket_policy(Some(&existing), std::slice::from_ref(&owned));
        let stmts = statements_of(&merged);
        assert_eq!(stmts.len(), 2);
        assert_eq!(stmts[0], foreign);
        assert_eq!(stmts[1], owned);
    }
}
