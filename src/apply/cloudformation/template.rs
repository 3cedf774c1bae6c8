//! The CloudFormation template for a set of settings.
//!
//! The template is built from the same [`DesiredState`] as direct mode, by the same
//! [`model::desired`] call: only the account differs. Here the account id, partition and
//! region are placeholders that no validated input can contain; every string that holds one
//! becomes an `Fn::Sub` with `${AWS::AccountId}`, `${AWS::Partition}` or `${AWS::Region}`, and
//! strings that name a resource of the template become references to it (`Ref`,
//! `Fn::GetAtt`, `${StateBucket.Arn}/...`). So the policies in the template are, after
//! CloudFormation resolves them, exactly the documents direct mode writes, and the same
//! template works in any account and region.

use ipnet::IpNet;
use serde_json::{json, Map, Value};

use super::refs::{account_neutral_policy, tags, Refs};
pub use super::refs::{readable, symbolic_account};
use super::yaml::{self, Comments};
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::model::{self, DesiredState};
use crate::plan::bucket::{desired_encryption, ABORT_MULTIPART_DAYS, LIFECYCLE_RULE_ID};

/// Version of the template's layout. Stamped into the template (Metadata and the
/// `TemplateVersion` output) so later versions of the tool can recognise what they deployed.
/// Bump it when resources, logical ids or outputs change meaning.
pub const TEMPLATE_VERSION: &str = "1";
/// The value of the `TemplateVersion` output.
pub fn version_stamp() -> String {
    format!("bootstrap/{TEMPLATE_VERSION}")
}

/// CloudFormation's limit for a template passed inline (TemplateBody).
pub const MAX_TEMPLATE_BODY: usize = 51_200;

pub const PROVIDER_ID: &str = "OidcProvider";
pub const ROLE_ID: &str = "DeployRole";
pub const BUCKET_ID: &str = "StateBucket";
pub const BUCKET_POLICY_ID: &str = "StateBucketPolicy";
pub const TABLE_ID: &str = "LockTable";

/// How the template is meant to be deployed.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    /// For a StackSet: many accounts, so nothing account-specific may be fixed.
    pub stackset: bool,
}

/// A rendered template: the document, what explains it, and the desired state it came from.
#[derive(Debug, Clone)]
pub struct Template {
    /// The template as JSON (keys in template order).
    pub body: Value,
    /// The desired state with placeholders for account, partition and region.
    pub desired: DesiredState,
    /// Warnings about settings that behave differently in a template (StackSets).
    pub warnings: Vec<String>,
    comments: Comments,
    header: Vec<String>,
}
/// Checks that only matter for a template; run before any network call.
pub fn validate(settings: &Settings, opts: RenderOptions) -> Result<()> {
    settings.require_trust_inputs()?;
    if let Some((k, _)) = settings.tags.iter().find(|(_, v)| v.is_empty()) {
        return Err(Error::usage(format!(
            "--tag {k}= has an empty value, which CloudFormation does not accept for IAM tags"
        ))
        .hint(format!("give the tag a value, e.g. --tag {k}=yes")));
    }
    if opts.stackset {
        if let Some(b) = &settings.state_bucket {
            return Err(Error::usage(format!(
                "--state-bucket {b}: a StackSet deploys to many accounts, and a bucket name can exist only once in all of AWS"
            ))
            .hint("leave --state-bucket out: each account gets terraform-state-ACCOUNT-REGION"));
        }
    }
    Ok(())
}
/// Build the template for `settings`. `thumbprints` and `cidrs` are the issuer's verified
/// thumbprints and the resolved source ranges, as for direct mode.
pub fn build(
    settings: &Settings,
    thumbprints: &[String],
    cidrs: &[IpNet],
    opts: RenderOptions,
) -> Result<Template> {
    validate(settings, opts)?;
    let d = model::desired(settings, &symbolic_account(), thumbprints, cidrs)?;
    let refs = Refs {
        provider_arn: d.provider.arn.clone(),
        bucket_arn: d.bucket.arn.clone(),
        table_arn: d.table.as_ref().map(|t| t.arn.clone()),
    };
    let mut warnings = d.warnings.clone();
    let mut c = Comments::default();

    // The OIDC provider.
    let provider = json!({
        "Type": "AWS::IAM::OIDCProvider",
        "Properties": {
            "Url": d.provider.url,
            "ClientIdList": d.provider.client_ids,
            "ThumbprintList": d.provider.thumbprints,
            "Tags": tags(&d.provider.tags),
        }
    });
    c.add(
        &["Resources", PROVIDER_ID, "Properties", "ClientIdList"],
        "The audiences (aud) Bitbucket puts in its tokens; the role checks them again.",
    );
    c.add(
        &["Resources", PROVIDER_ID, "Properties", "ThumbprintList"],
        "SHA-1 of the top intermediate CA certificate each issuer host served when this was\n\
         rendered, over a chain verified against trusted roots. IAM trusts well-known CAs\n\
         without them, but private CAs and TLS-inspecting proxies need them. Render again\n\
         after the issuer changes CA (`bootstrap thumbprint --check` tells you when).",
    );

    // The deployment role.
    let mut role_props = Map::new();
    role_props.insert("RoleName".into(), json!(d.role.name));
    role_props.insert("Description".into(), json!(d.role.description));
    role_props.insert(
        "AssumeRolePolicyDocument".into(),
        refs.value(&d.role.trust_policy),
    );
    role_props.insert(
        "Policies".into(),
        json!([{
            "PolicyName": d.role.inline_policy_name,
            "PolicyDocument": refs.value(&d.role.inline_policy),
        }]),
    );
    if !d.role.managed_policies.is_empty() {
        let arns: Vec<Value> = d
            .role
            .managed_policies
            .iter()
            .map(|arn| match (opts.stackset, account_neutral_policy(arn)) {
                (true, Some(neutral)) => {
                    warnings.push(format!(
                        "--policy-arn {arn}: in a StackSet each account attaches its own policy of that name (the account id becomes ${{AWS::AccountId}}); it must exist in every target account"
                    ));
                    neutral
                }
                _ => json!(arn),
            })
            .collect();
        role_props.insert("ManagedPolicyArns".into(), Value::Array(arns));
    }
    if let Some(b) = &d.role.permissions_boundary {
        let v = match (opts.stackset, account_neutral_policy(b)) {
            (true, Some(neutral)) => {
                warnings.push(format!(
                    "--permissions-boundary {b}: in a StackSet each account uses its own policy of that name; it must exist in every target account"
                ));
                neutral
            }
            _ => json!(b),
        };
        role_props.insert("PermissionsBoundary".into(), v);
    }
    role_props.insert(
        "MaxSessionDuration".into(),
        json!(d.role.max_session_duration),
    );
    role_props.insert("Tags".into(), tags(&d.role.tags));
    let role = json!({ "Type": "AWS::IAM::Role", "Properties": role_props });
    let trust = [
        "Resources",
        ROLE_ID,
        "Properties",
        "AssumeRolePolicyDocument",
    ];
    c.add(
        &trust,
        "Who may assume the role: only tokens issued by this provider (Federated, through\n\
         AssumeRoleWithWebIdentity), and only when every condition below holds.",
    );
    let cond = |k: &'static str| {
        let mut p: Vec<&str> = trust.to_vec();
        p.extend(["Statement", "0", "Condition", k]);
        p
    };
    let aud_ops = model::audience::operators(&settings.audiences);
    if model::audience::custom(&settings.audiences) {
        c.add(
            &cond(model::audience::ANY_VALUE),
            "Custom audiences (`oidc: audiences:` in a step) make aud a JSON list, even with\n\
             one value. The set operators match it element by element, as documented, where\n\
             plain StringEquals on a list is not: some value must be one of the audiences\n\
             (false when aud is absent)...",
        );
        c.add(
            &cond(model::audience::ALL_VALUES),
            "...and every value must be one of them. Together: a non-empty aud of trusted\n\
             audiences only; a one-string aud is a list of one.",
        );
    } else {
        c.add(
            &cond(model::audience::PLAIN),
            "aud must be one of the audiences. Plain StringEquals: ForAllValues: would also\n\
             pass a token that has no aud claim at all.",
        );
    }
    if !settings.repositories.is_empty() {
        c.add(
            &cond("StringLike"),
            "sub is {repository}:{step}, or {repository}:{environment}:{step} on deployment\n\
             steps: only pipelines of these repositories (and environments) get in.",
        );
    } else {
        c.add(
            &cond(aud_ops[0]),
            "No sub condition (--allow-any-repository): every repository of the workspace\n\
             can assume this role.",
        );
    }
    if !cidrs.is_empty() {
        c.add(
            &cond("IpAddress"),
            "Only calls from these networks. Atlassian's published ranges cover only 4x/8x\n\
             steps with `atlassian-ip-ranges: true`; 1x/2x steps are refused.",
        );
    }
    c.add(
        &["Resources", ROLE_ID, "Properties", "Policies"],
        "Least privilege for Terraform's S3 backend: list the bucket, read and write state\n\
         (and lock) objects, use the lock table and the KMS key. Anything else the pipelines\n\
         deploy comes from ManagedPolicyArns (--policy-arn).",
    );

    // The state bucket.
    let enc = desired_encryption(&d.bucket);
    let mut by_default = Map::new();
    by_default.insert("SSEAlgorithm".into(), json!(enc.algorithm));
    if let Some(k) = &enc.kms_key {
        by_default.insert("KMSMasterKeyID".into(), refs.string(k));
    }
    let mut sse_rule = Map::new();
    sse_rule.insert(
        "ServerSideEncryptionByDefault".into(),
        Value::Object(by_default),
    );
    if enc.bucket_key {
        sse_rule.insert("BucketKeyEnabled".into(), json!(true));
    }
    let bucket_skips = json!([{
        "id": "CKV_AWS_18",
        "comment": "Access logging needs a second bucket to receive the logs, which was not asked for; CloudTrail data events are the usual audit trail for state access.",
    }]);
    let bucket = json!({
        "Type": "AWS::S3::Bucket",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Metadata": { "checkov": { "skip": bucket_skips } },
        "Properties": {
            "BucketName": refs.string(&d.bucket.name),
            "VersioningConfiguration": { "Status": "Enabled" },
            "BucketEncryption": { "ServerSideEncryptionConfiguration": [Value::Object(sse_rule)] },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": true,
                "BlockPublicPolicy": true,
                "IgnorePublicAcls": true,
                "RestrictPublicBuckets": true,
            },
            "OwnershipControls": { "Rules": [{ "ObjectOwnership": "BucketOwnerEnforced" }] },
            "LifecycleConfiguration": {
                "Rules": [{
                    "Id": LIFECYCLE_RULE_ID,
                    "Status": "Enabled",
                    "NoncurrentVersionExpiration": { "NoncurrentDays": d.bucket.noncurrent_days },
                    "AbortIncompleteMultipartUpload": { "DaysAfterInitiation": ABORT_MULTIPART_DAYS },
                }]
            },
            "Tags": tags(&d.bucket.tags),
        }
    });
    c.add(
        &["Resources", BUCKET_ID, "DeletionPolicy"],
        "Retain: deleting the stack, or a change that replaces the bucket, never deletes\n\
         Terraform state. (bootstrap also deploys with RetainExceptOnCreate, so a failed\n\
         first create leaves nothing behind.)",
    );
    if settings.state_bucket.is_none() {
        c.add(
            &["Resources", BUCKET_ID, "Properties", "BucketName"],
            "Bucket names are global: account and region make this one unique.",
        );
    }
    c.add(
        &[
            "Resources",
            BUCKET_ID,
            "Properties",
            "VersioningConfiguration",
        ],
        "Every state write keeps the previous version, so a bad apply can be undone.",
    );
    c.add(
        &["Resources", BUCKET_ID, "Properties", "OwnershipControls"],
        "ACLs disabled: the bucket policy and IAM alone decide access.",
    );
    c.add(
        &[
            "Resources",
            BUCKET_ID,
            "Properties",
            "LifecycleConfiguration",
        ],
        &format!(
            "Old state versions are kept {} days (--noncurrent-days); unfinished uploads are\n\
             removed after {ABORT_MULTIPART_DAYS}.",
            d.bucket.noncurrent_days
        ),
    );

    let bucket_policy = json!({
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "Bucket": { "Ref": BUCKET_ID },
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": refs.value(&Value::Array(d.bucket.policy_statements.clone())),
            }
        }
    });
    c.add(
        &["Resources", BUCKET_POLICY_ID],
        "Refuses every request that is not made over TLS. The stack owns the whole bucket\n\
         policy: add statements here, not in the console, or the next update removes them.",
    );

    let mut resources = Map::new();
    resources.insert(PROVIDER_ID.into(), provider);
    resources.insert(ROLE_ID.into(), role);
    resources.insert(BUCKET_ID.into(), bucket);
    resources.insert(BUCKET_POLICY_ID.into(), bucket_policy);

    if let Some(t) = &d.table {
        let table = json!({
            "Type": "AWS::DynamoDB::Table",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Metadata": { "checkov": { "skip": [{
                "id": "CKV_AWS_119",
                "comment": "The lock table holds lock entries and state checksums, never state; it is encrypted at rest with the AWS managed key, as in direct mode. A customer-managed key was not asked for.",
            }] } },
            "Properties": {
                "TableName": t.name,
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [{ "AttributeName": "LockID", "AttributeType": "S" }],
                "KeySchema": [{ "AttributeName": "LockID", "KeyType": "HASH" }],
                "SSESpecification": { "SSEEnabled": true },
                "PointInTimeRecoverySpecification": { "PointInTimeRecoveryEnabled": true },
                "DeletionProtectionEnabled": true,
                "Tags": tags(&t.tags),
            }
        });
        resources.insert(TABLE_ID.into(), table);
        c.add(
            &["Resources", TABLE_ID],
            "Terraform before 1.11 locks state here (dynamodb_table); 1.11 and later can lock\n\
             in the bucket instead (use_lockfile = true) and need no table (--no-lock-table).",
        );
    }

    let mut outputs = Map::new();
    outputs.insert(
        "RoleArn".into(),
        json!({
            "Description": "Set as AWS_ROLE_ARN in the Bitbucket repository variables",
            "Value": { "Fn::GetAtt": [ROLE_ID, "Arn"] },
        }),
    );
    outputs.insert(
        "OidcProviderArn".into(),
        json!({ "Description": "The IAM OIDC provider of the issuer", "Value": { "Ref": PROVIDER_ID } }),
    );
    outputs.insert(
        "StateBucketName".into(),
        json!({ "Description": "Terraform backend bucket", "Value": { "Ref": BUCKET_ID } }),
    );
    if d.table.is_some() {
        outputs.insert(
            "LockTableName".into(),
            json!({ "Description": "Terraform backend dynamodb_table", "Value": { "Ref": TABLE_ID } }),
        );
    }
    outputs.insert(
        "Region".into(),
        json!({ "Description": "Set as AWS_REGION in Bitbucket", "Value": { "Ref": "AWS::Region" } }),
    );
    outputs.insert(
        "TemplateVersion".into(),
        json!({ "Description": "Layout version of this template, for bootstrap", "Value": version_stamp() }),
    );

    let description = if opts.stackset {
        "Bitbucket Pipelines OpenID Connect: IAM OIDC provider, deployment role and Terraform state (bootstrap, StackSet)"
    } else {
        "Bitbucket Pipelines OpenID Connect: IAM OIDC provider, deployment role and Terraform state (bootstrap)"
    };
    let body = json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": description,
        "Metadata": {
            "bootstrap": {
                "template-version": TEMPLATE_VERSION,
                "issuer": d.issuer_url,
            }
        },
        "Resources": resources,
        "Outputs": outputs,
    });
    c.add(
        &["Metadata", "bootstrap"],
        "Recognised by bootstrap: do not remove.",
    );

    if opts.stackset && settings.kms_key.is_some() {
        warnings.push(
            "--kms-key in a StackSet: every account uses this one key; its key policy must allow the deployment role of each account".into(),
        );
    }

    let mut header = vec![
        format!(
            "Bitbucket Pipelines -> AWS through OpenID Connect. Rendered by bootstrap {}.",
            env!("CARGO_PKG_VERSION")
        ),
        String::new(),
        "The same settings as `bootstrap init --mode direct`, from the same code: the".into(),
        "policies below are the documents direct mode writes. Account, region and partition".into(),
        "come from pseudo-parameters, so the template works in any account.".into(),
        String::new(),
    ];
    if opts.stackset {
        header.extend([
            "For a StackSet: deploy it to one region per account (IAM is global to an".to_string(),
            "account); each account gets its own terraform-state-ACCOUNT-REGION bucket.".into(),
            "  bootstrap init --mode cloudformation --stackset NAME --accounts ... --regions ..."
                .into(),
        ]);
    } else {
        header.extend([
            "Deploy: bootstrap init --mode cloudformation".to_string(),
            "    or: aws cloudformation deploy --template-file FILE --stack-name NAME \\".into(),
            "          --capabilities CAPABILITY_NAMED_IAM".into(),
        ]);
    }

    Ok(Template {
        body,
        desired: d,
        warnings,
        comments: c,
        header,
    })
}

impl Template {
    /// The template as commented YAML.
    pub fn yaml(&self) -> String {
        yaml::to_string(&self.body, &self.header, &self.comments)
    }

    /// The template as JSON (no comments).
    pub fn json(&self) -> String {
        let mut s = serde_json::to_string_pretty(&self.body).unwrap_or_default();
        s.push('\n');
        s
    }

    /// `(logical id, type)` of every resource, in template order.
    pub fn resources(&self) -> Vec<(String, String)> {
        resource_types(&self.body)
    }
}

/// `(logical id, type)` of every resource of a template, in template order.
pub fn resource_types(template: &Value) -> Vec<(String, String)> {
    template["Resources"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(id, r)| (id.clone(), r["Type"].as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default()
}
