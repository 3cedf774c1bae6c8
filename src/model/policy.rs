//! Every policy document the tool writes is built here, once; direct mode and the
//! CloudFormation template both use these functions. Also the rules a trust policy must
//! satisfy, whoever wrote it. Documents are read (statements, values, canonical form)
//! through [`crate::iam`].

use ipnet::IpNet;
use serde_json::{json, Map, Value};

use crate::iam::{as_strings, condition_values, statements_of};

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
/// `sts:AssumeRoleWithWebIdentity`, conditions on `aud` (see [`super::audience`]),
/// `StringLike sub` (unless any repository is allowed) and `IpAddress aws:SourceIp` when CIDRs are given.
pub fn trust_policy(t: &TrustInputs<'_>) -> Value {
    let hp = t.issuer_host_path;
    let mut condition = Map::new();
    for op in super::audience::operators(t.audiences) {
        condition.insert(
            op.to_string(),
            json!({ format!("{hp}:aud"): one_or_many(t.audiences.to_vec()) }),
        );
    }
    let subs = sub_patterns(t.repositories, t.environments);
    if !subs.is_empty() {
        condition.insert(
            "StringLike".into(),
            json!({ format!("{hp}:sub"): one_or_many(subs) }),
        );
    }
    if !t.source_cidrs.is_empty() {
        let cidrs = t.source_cidrs.iter().map(ToString::to_string).collect();
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

/// What a trust policy must satisfy, whoever wrote it: the rules `init` builds by, checked
/// again on the live document after apply.
#[derive(Debug, Clone)]
pub struct TrustRules<'a> {
    pub issuer_host_path: &'a str,
    pub provider_arn: &'a str,
    /// `--allow-any-repository`: no `sub` condition required.
    pub allow_any_repository: bool,
}

/// Whether `value` is `{uuid}:...` with a well-formed UUID (no wildcard inside it).
fn sub_value_ok(value: &str) -> bool {
    match (value.get(..38), value.get(38..)) {
        (Some(braced), Some(tail)) => {
            braced.starts_with('{')
                && uuid::Uuid::try_parse(braced).is_ok()
                && tail.starts_with(':')
        }
        _ => false,
    }
}

/// Every way `doc` breaks the rules; empty when it is sound. Each Allow statement must be
/// for the provider and `sts:AssumeRoleWithWebIdentity` only, with a sound test of `aud`
/// (see [`super::audience::problems`]), and,
/// unless any repository is allowed, a `sub` condition naming repositories by UUID.
pub fn trust_policy_problems(doc: &Value, rules: &TrustRules<'_>) -> Vec<String> {
    let hp = rules.issuer_host_path;
    let aud_key = format!("{hp}:aud");
    let sub_key = format!("{hp}:sub");
    let mut problems = Vec::new();
    let statements = statements_of(doc);
    let allows: Vec<&Value> = statements
        .iter()
        .filter(|s| s.get("Effect").and_then(Value::as_str) == Some("Allow"))
        .collect();
    if allows.is_empty() {
        problems.push("no Allow statement: nobody can assume the role".to_string());
    }
    for (i, st) in allows.iter().enumerate() {
        let n = i + 1;
        if st.get("NotPrincipal").is_some() || st.get("NotAction").is_some() {
            problems.push(format!(
                "statement {n} uses NotPrincipal/NotAction, which allows far more than one provider"
            ));
            continue;
        }
        let federated = st
            .get("Principal")
            .and_then(|p| p.get("Federated"))
            .map(as_strings)
            .unwrap_or_default();
        let other_principals = st.get("Principal").is_none_or(|p| match p {
            Value::Object(m) => m.keys().any(|k| k != "Federated"),
            _ => true,
        });
        if other_principals || federated != [rules.provider_arn] {
            problems.push(format!(
                "statement {n} allows a principal other than the provider {}",
                rules.provider_arn
            ));
        }
        let actions = st.get("Action").map(as_strings).unwrap_or_default();
        if actions != ["sts:AssumeRoleWithWebIdentity"] {
            problems.push(format!(
                "statement {n} allows {} instead of only sts:AssumeRoleWithWebIdentity",
                if actions.is_empty() {
                    "no action".to_string()
                } else {
                    actions.join(", ")
                }
            ));
        }
        let empty = Value::Object(Map::new());
        let condition = st.get("Condition").unwrap_or(&empty);
        problems.extend(super::audience::problems(condition, &aud_key, n));
        if !rules.allow_any_repository {
            let subs: Vec<&str> = ["StringLike", "StringEquals"]
                .iter()
                .filter_map(|op| condition_values(condition, op, &sub_key))
                .flatten()
                .collect();
            if subs.is_empty() {
                problems.push(format!(
                    "statement {n} has no condition on {sub_key}: every repository in the workspace could assume the role"
                ));
            }
            for v in subs {
                if !sub_value_ok(v) {
                    problems.push(format!(
                        "statement {n} allows sub {v:?}, which does not name one repository by UUID"
                    ));
                }
            }
        }
    }
    problems
}

/// What the state-access policy is built from. ARNs are JSON values so the template can
/// pass CloudFormation expressions (`Fn::Sub`) where direct mode passes strings.
#[derive(Debug, Clone)]
pub struct StateAccessInputs {
    pub bucket_arn: Value,
    /// `arn:...:bucket/prefix/*` or `arn:...:bucket/*`.
    pub objects_arn: Value,
    /// The objects Terraform deletes: lock files and non-default workspaces' states
    /// ([`super::state::deleted_object_arns`]).
    pub deleted_arns: Vec<Value>,
    /// The lock objects (`*.tflock` under the prefix), the only objects a plan role writes.
    pub lock_arn: Value,
    /// The key prefix (without trailing slash), if any, for the ListBucket condition.
    pub key_prefix: Option<String>,
    pub table_arn: Option<Value>,
    /// The lock table's items the role may write: its own states' `LockID`s
    /// ([`super::state::lock_item_ids`]).
    pub lock_ids: Vec<Value>,
    pub kms_key_arn: Option<Value>,
}

/// Least privilege for Terraform's S3 backend, as its recorded requests need it: list the
/// bucket (under the prefix), read and write state and lock files, delete only lock files
/// and non-default workspaces' states, use the lock table and the KMS key.
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
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": s.objects_arn,
        }),
        json!({
            "Sid": "DeleteLocksAndWorkspaceStates",
            "Effect": "Allow",
            "Action": "s3:DeleteObject",
            "Resource": s.deleted_arns,
        }),
    ];
    if let Some(table) = &s.table_arn {
        statements.push(json!({
            "Sid": "StateLockTable",
            "Effect": "Allow",
            "Action": ["dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"],
            "Resource": table,
            // Only the items of its own states: another repository's lock and digest are
            // neither written nor deleted (the table is shared by every role).
            "Condition": { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": s.lock_ids } },
        }));
    }
    if let Some(key) = &s.kms_key_arn {
        statements.push(json!({
            "Sid": "StateEncryptionKey",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": key,
        }));
    }
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// What a `plan` role needs of the state beside AWS's ReadOnlyAccess: list and read the
/// state, and write only the lock (`terraform plan` takes it): lock objects and the lock
/// table's items. Never PutObject on a state object.
pub fn plan_state_policy(s: &StateAccessInputs) -> Value {
    let mut doc = state_access_policy(s);
    let statements = doc["Statement"]
        .as_array_mut()
        .map(std::mem::take)
        .unwrap_or_default();
    let mut out = Vec::new();
    for st in statements {
        match st["Sid"].as_str() {
            Some("ReadWriteState") => {
                out.push(json!({
                    "Sid": "ReadState",
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": s.objects_arn,
                }));
                out.push(json!({
                    "Sid": "WriteLocksOnly",
                    "Effect": "Allow",
                    "Action": ["s3:PutObject", "s3:DeleteObject"],
                    "Resource": s.lock_arn,
                }));
            }
            Some("DeleteLocksAndWorkspaceStates") => {}
            _ => out.push(st),
        }
    }
    doc["Statement"] = Value::Array(out);
    doc
}

/// The tags `cdk bootstrap` puts on the roles a `cdk` role may assume
/// (`aws-cdk:bootstrap-role`).
pub const CDK_BOOTSTRAP_ROLES: [&str; 4] =
    ["deploy", "file-publishing", "image-publishing", "lookup"];

/// A `cdk` role's only permission: assume the roles `cdk bootstrap` created in this account
/// (`role/cdk-*`), and only those its tag marks as one of [`CDK_BOOTSTRAP_ROLES`].
pub fn cdk_policy(cdk_roles_arn: Value) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AssumeCdkBootstrapRoles",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": cdk_roles_arn,
            "Condition": {
                "StringEquals": { "iam:ResourceTag/aws-cdk:bootstrap-role": CDK_BOOTSTRAP_ROLES }
            },
        }]
    })
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

/// The Sid of the bucket-policy statement that confines each role to its state prefix.
pub const STATE_PREFIX_SID: &str = "DenyStateOutsideRolePrefix";

/// The object actions the confinement denies outside a role's prefix: every read (with old
/// versions, tags and ACLs), write and delete of an object. `ReadOnlyAccess` allows
/// `s3:Get*` on every bucket; this Deny wins over it.
pub const CONFINED_ACTIONS: [&str; 3] = ["s3:GetObject*", "s3:PutObject*", "s3:DeleteObject*"];

/// The bucket-policy statement that keeps every role carrying the tag
/// [`super::state::STATE_PREFIX_TAG`] inside its own prefix: object reads, writes and
/// deletes anywhere else in the bucket are denied, whatever the role's identity policies
/// allow (an explicit Deny wins over `ReadOnlyAccess`). One statement for every role of
/// every set: it names no role, so each configuration writes the same one.
pub fn deny_outside_state_prefix(bucket_arn: &str) -> Value {
    let tag = format!("aws:PrincipalTag/{}", super::state::STATE_PREFIX_TAG);
    json!({
        "Sid": STATE_PREFIX_SID,
        "Effect": "Deny",
        "Principal": "*",
        "Action": CONFINED_ACTIONS,
        "NotResource": format!("{bucket_arn}/${{{tag}}}/*"),
        "Condition": { "Null": { tag: "false" } },
    })
}

/// The Sid of the bucket-policy statement that keeps the roles with no state prefix (the
/// top of the bucket) to the top-level state objects.
pub const TOP_STATE_SID: &str = "DenyStateOutsideTopLevelState";

/// The objects of the state kept at the top of the bucket (no prefix), as ARNs under
/// `bucket_arn`: the default workspace's state, its lock, and the other workspaces (states
/// and locks under Terraform's default `env:/`). Named one by one, not `terraform.tfstate*`:
/// a `[[role]]` prefix may itself begin with `terraform.tfstate` (`terraform.tfstate.d/...`),
/// while no prefix can hold `env:` (a prefix has no ':').
pub fn top_state_object_arns(bucket_arn: &str) -> Vec<String> {
    let state = super::state::state_key("");
    vec![
        format!("{bucket_arn}/{state}"),
        format!("{bucket_arn}/{state}{}", super::state::LOCK_SUFFIX),
        format!("{bucket_arn}/{}/*", super::state::workspace_key_prefix("")),
    ]
}

/// The bucket-policy statement that keeps every role of the tool (tagged
/// [`crate::config::SET_TAG`]) that carries no [`super::state::STATE_PREFIX_TAG`] (its state
/// is at the top of the bucket: the single-role flags' default) to the top-level state
/// objects ([`top_state_object_arns`]): without it such a role, whose own policy grants
/// `<bucket>/*`, could read and overwrite every `[[role]]` role's state in the same bucket,
/// and a `--plan-apply` plan role (`ReadOnlyAccess`) read them all. Like
/// [`deny_outside_state_prefix`] it names no role, so every configuration writes the same one.
pub fn deny_unprefixed_outside_top_state(bucket_arn: &str) -> Value {
    let set = format!("aws:PrincipalTag/{}", crate::config::SET_TAG);
    let prefix = format!("aws:PrincipalTag/{}", super::state::STATE_PREFIX_TAG);
    json!({
        "Sid": TOP_STATE_SID,
        "Effect": "Deny",
        "Principal": "*",
        "Action": CONFINED_ACTIONS,
        "NotResource": top_state_object_arns(bucket_arn),
        "Condition": { "Null": { set: "false", prefix: "true" } },
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

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
