//! The template's IAM resources: the OIDC provider and the deployment roles, with the comments
//! that explain them.

use serde_json::{json, Map, Value};

use super::ids::PROVIDER_ID;
use super::refs::{account_neutral_policy, tags, Refs};
use super::yaml::Comments;
use super::RenderOptions;
use crate::config::Access;
use crate::model::{audience, DesiredRole, DesiredState, STACK_TAG};

/// The `AWS::IAM::OIDCProvider` resource.
pub(super) fn provider(d: &DesiredState, c: &mut Comments) -> Value {
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
    json!({
        "Type": "AWS::IAM::OIDCProvider",
        "Properties": {
            "Url": d.provider.url,
            "ClientIdList": d.provider.client_ids,
            "ThumbprintList": d.provider.thumbprints,
            "Tags": tags(&d.provider.tags),
        }
    })
}

/// A policy ARN as the template names it: in a StackSet, a customer policy of the deploying
/// account becomes the policy of that name in each target account (with a warning).
fn policy_ref(
    arn: &str,
    refs: &Refs,
    opts: RenderOptions,
    warning: String,
    warnings: &mut Vec<String>,
) -> Value {
    match (opts.stackset, account_neutral_policy(arn)) {
        (true, Some(neutral)) => {
            warnings.push(warning);
            neutral
        }
        _ => refs.string(arn),
    }
}

/// Where a role goes in the template, and what it is rendered with.
pub(super) struct RoleContext<'a> {
    /// The role's logical id.
    pub id: &'a str,
    pub audiences: &'a [String],
    pub refs: &'a Refs,
    pub opts: RenderOptions,
}

/// The `AWS::IAM::Role` resource of `r`. `warnings` gets what behaves differently in a
/// StackSet.
pub(super) fn role(
    r: &DesiredRole,
    cx: &RoleContext<'_>,
    c: &mut Comments,
    warnings: &mut Vec<String>,
) -> Value {
    let (refs, opts) = (cx.refs, cx.opts);
    let mut props = Map::new();
    props.insert("RoleName".into(), json!(r.name));
    props.insert("Description".into(), json!(r.description));
    props.insert(
        "AssumeRolePolicyDocument".into(),
        refs.value(&r.trust_policy),
    );
    props.insert(
        "Policies".into(),
        json!([{
            "PolicyName": r.inline_policy_name,
            "PolicyDocument": refs.value(&r.inline_policy),
        }]),
    );
    if !r.managed_policies.is_empty() {
        let arns = r.managed_policies.iter().map(|arn| {
            policy_ref(arn, refs, opts, format!(
                "--policy-arn {arn}: in a StackSet each account attaches its own policy of that name (the account id becomes ${{AWS::AccountId}}); it must exist in every target account"
            ), warnings)
        });
        props.insert("ManagedPolicyArns".into(), Value::Array(arns.collect()));
    }
    if let Some(b) = &r.permissions_boundary {
        let v = policy_ref(b, refs, opts, format!(
            "--permissions-boundary {b}: in a StackSet each account uses its own policy of that name; it must exist in every target account"
        ), warnings);
        props.insert("PermissionsBoundary".into(), v);
    }
    props.insert("MaxSessionDuration".into(), json!(r.max_session_duration));
    props.insert("Tags".into(), role_tags(r));
    role_comments(r, cx.id, cx.audiences, c);
    json!({ "Type": "AWS::IAM::Role", "Properties": props })
}

/// The role's tags and [`STACK_TAG`] naming the stack (in a StackSet, the instance's stack):
/// CloudFormation does not tag IAM roles with its own `aws:cloudformation:*` tags
/// (cloudformation-coverage-roadmap #277, #1159, #1966), so this is how direct mode knows the
/// role is the stack's and leaves it alone.
fn role_tags(r: &DesiredRole) -> Value {
    let mut all = match tags(&r.tags) {
        Value::Array(a) => a,
        _ => Vec::new(),
    };
    all.push(json!({ "Key": STACK_TAG, "Value": { "Ref": "AWS::StackName" } }));
    all.sort_by(|a, b| a["Key"].as_str().cmp(&b["Key"].as_str()));
    Value::Array(all)
}

/// What each condition of the trust policy, and the inline policy, are for.
fn role_comments(r: &DesiredRole, id: &str, audiences: &[String], c: &mut Comments) {
    let trust = ["Resources", id, "Properties", "AssumeRolePolicyDocument"];
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
    let has = |k: &str| r.trust_policy["Statement"][0]["Condition"].get(k).is_some();
    let aud_ops = audience::operators(audiences);
    if audience::custom(audiences) {
        c.add(
            &cond(audience::ANY_VALUE),
            "Custom audiences (`oidc: audiences:` in a step) make aud a JSON list, even with\n\
             one value. The set operators match it element by element, as documented, where\n\
             plain StringEquals on a list is not: some value must be one of the audiences\n\
             (false when aud is absent)...",
        );
        c.add(
            &cond(audience::ALL_VALUES),
            "...and every value must be one of them. Together: a non-empty aud of trusted\n\
             audiences only; a one-string aud is a list of one.",
        );
    } else {
        c.add(
            &cond(audience::PLAIN),
            "aud must be one of the audiences. Plain StringEquals: ForAllValues: would also\n\
             pass a token that has no aud claim at all.",
        );
    }
    if has("StringLike") {
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
    if has("IpAddress") {
        c.add(
            &cond("IpAddress"),
            "Only calls from these networks. Atlassian's published ranges cover only 4x/8x\n\
             steps with `atlassian-ip-ranges: true`; 1x/2x steps are refused.",
        );
    }
    c.add(
        &["Resources", id, "Properties", "Policies"],
        policies_comment(r.access),
    );
}

/// What the inline policy of a role of this access kind is for.
fn policies_comment(access: Access) -> &'static str {
    match access {
        Access::Apply => {
            "Least privilege for Terraform's S3 backend: list the bucket, read and write state\n\
             (and lock) objects, use the lock table and the KMS key. Anything else the pipelines\n\
             deploy comes from ManagedPolicyArns (--policy-arn)."
        }
        Access::Plan => {
            "For `terraform plan`: list the bucket and read state; write only the lock (the\n\
             .tflock object and the lock table item), never a state object. Reading what the\n\
             pipelines plan comes from ReadOnlyAccess in ManagedPolicyArns."
        }
        Access::Cdk => {
            "For `cdk deploy`: assume only the roles `cdk bootstrap` created in this account\n\
             (deploy, file-publishing, image-publishing, lookup, told apart by their\n\
             aws-cdk:bootstrap-role tag). No Terraform state access."
        }
    }
}
