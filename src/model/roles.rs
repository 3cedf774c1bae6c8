//! One desired role from its settings: its trust policy (checked against the rules it must
//! obey and measured against IAM's quota) and the permissions of its access kind, all built
//! by [`super::policy`].

use std::collections::BTreeMap;

use ipnet::IpNet;
use serde_json::{json, Value};

use super::{arn, policy, quota, state, Account, DesiredRole};
use crate::config::{Access, Issuer, RoleSettings, Settings, SourceIp, SET_TAG};
use crate::error::{Error, Result};

/// Name of the inline policy of an `apply` or `plan` role: its Terraform state access.
pub const STATE_POLICY_NAME: &str = "terraform-state-access";
/// Name of the inline policy of a `cdk` role: assume the CDK bootstrap roles.
pub const CDK_POLICY_NAME: &str = "cdk-bootstrap-roles";
/// The AWS managed policy every `plan` role holds.
pub const READ_ONLY_POLICY: &str = "ReadOnlyAccess";

/// The name of the inline policy a role of this access kind holds.
pub fn inline_policy_name(access: Access) -> &'static str {
    match access {
        Access::Apply | Access::Plan => STATE_POLICY_NAME,
        Access::Cdk => CDK_POLICY_NAME,
    }
}

/// What every role shares: the account, the issuer and its provider, the state backend, the
/// tags and the set.
pub(super) struct Shared<'a> {
    pub settings: &'a Settings,
    pub account: &'a Account,
    pub issuer: &'a Issuer,
    pub provider_arn: &'a str,
    pub bucket_arn: &'a str,
    pub bucket_name: &'a str,
    pub table_arn: Option<&'a str>,
    pub kms_key: Option<&'a str>,
    pub tags: &'a BTreeMap<String, String>,
    pub set: &'a str,
    pub bitbucket_ranges: &'a [IpNet],
}

/// The source CIDRs for one role's trust policy: its explicit ones plus, for `bitbucket`,
/// Atlassian's published Pipelines egress ranges (already fetched by the caller). Ranges that
/// together cover a whole address family are refused (exit 64) before anything is written.
pub fn source_cidrs(
    settings: &Settings,
    role: &RoleSettings,
    bitbucket_ranges: &[IpNet],
) -> Result<Vec<IpNet>> {
    let mut out = Vec::new();
    for s in &role.source_ips {
        match s {
            SourceIp::Cidr(c) => out.push(*c),
            SourceIp::Bitbucket => out.extend(bitbucket_ranges.iter().copied()),
        }
    }
    out.sort();
    out.dedup();
    let origin = if bitbucket_ranges.is_empty() || !role.source_ips.contains(&SourceIp::Bitbucket) {
        "given with --source-ip".to_string()
    } else {
        format!(
            "from --ip-ranges-url {} and --source-ip",
            settings.trust.ip_ranges_url
        )
    };
    crate::config::validate::check_source_union(&out, &origin)?;
    Ok(out)
}

/// The desired role for `role`, and the warning about its trust policy's size, if any.
pub(super) fn desired_role(
    sh: &Shared<'_>,
    role: &RoleSettings,
) -> Result<(DesiredRole, Option<String>)> {
    let named = |e: Error| {
        if sh.settings.role_tables {
            e.resource(format!("role {}", role.name))
        } else {
            e
        }
    };
    let cidrs = source_cidrs(sh.settings, role, sh.bitbucket_ranges).map_err(named)?;
    let trust_inputs = policy::TrustInputs {
        issuer_host_path: &sh.issuer.host_path,
        provider_arn: json!(sh.provider_arn),
        audiences: &sh.settings.trust.audiences,
        repositories: &role.repositories,
        environments: &role.environments,
        source_cidrs: &cidrs,
    };
    let trust_policy = policy::trust_policy(&trust_inputs);
    check_trust_policy(sh, role, &trust_policy)?;
    let trust_size = quota::trust_policy_size(&trust_inputs);
    quota::refuse_over_maximum(
        trust_size,
        &format!(
            "{} sub patterns, {} source ranges",
            policy::sub_patterns(&role.repositories, &role.environments).len(),
            cidrs.len()
        ),
    )
    .map_err(named)?;
    let warning = quota::warning(trust_size).map(|w| {
        if sh.settings.roles.len() > 1 {
            format!("role {}: {w}", role.name)
        } else {
            w
        }
    });
    let (inline_policy_name, inline_policy, managed_policies) = permissions(sh, role);
    let mut tags = sh.tags.clone();
    for (k, v) in &role.tags {
        tags.insert(k.clone(), v.clone());
    }
    tags.insert(SET_TAG.to_string(), sh.set.to_string());
    if let Some(prefix) = role.state_key_prefix.as_deref().filter(|p| !p.is_empty()) {
        tags.insert(state::STATE_PREFIX_TAG.to_string(), prefix.to_string());
    }
    let desired = DesiredRole {
        name: role.name.clone(),
        access: role.access,
        repositories: role.repositories.clone(),
        environments: role.environments.clone(),
        allow_any_repository: role.allow_any_repository,
        allow_admin: role.allow_admin,
        arn: arn::role(&sh.account.partition, &sh.account.id, &role.name),
        description: description(role.access).into(),
        trust_policy,
        inline_policy_name: inline_policy_name.into(),
        inline_policy,
        managed_policies,
        permissions_boundary: role.permissions_boundary.clone(),
        max_session_duration: role.max_session_duration,
        tags,
        state_key_prefix: role.state_key_prefix.clone(),
    };
    Ok((desired, warning))
}

fn description(access: Access) -> &'static str {
    match access {
        Access::Apply => {
            "Assumed by Bitbucket Pipelines through OpenID Connect (managed by bootstrap)"
        }
        Access::Plan => {
            "Assumed by Bitbucket Pipelines through OpenID Connect to plan, read-only (managed by bootstrap)"
        }
        Access::Cdk => {
            "Assumed by Bitbucket Pipelines through OpenID Connect to deploy with the CDK (managed by bootstrap)"
        }
    }
}

/// Defence in depth: what we are about to write must obey the same rules as what we read
/// back after writing it.
fn check_trust_policy(sh: &Shared<'_>, role: &RoleSettings, doc: &Value) -> Result<()> {
    let problems = policy::trust_policy_problems(
        doc,
        &policy::TrustRules {
            issuer_host_path: &sh.issuer.host_path,
            provider_arn: sh.provider_arn,
            allow_any_repository: role.allow_any_repository,
        },
    );
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::failure(format!(
        "internal error: the trust policy built for the role {} is not safe: {}",
        role.name,
        problems.join("; ")
    ))
    .hint("this is a bug in bootstrap; please report it with the command you ran"))
}

/// The inline policy (name and document) and the managed policies of the role's access
/// kind.
fn permissions(sh: &Shared<'_>, role: &RoleSettings) -> (&'static str, Value, Vec<String>) {
    let p = &sh.account.partition;
    match role.access {
        Access::Apply => (
            STATE_POLICY_NAME,
            policy::state_access_policy(&state_inputs(sh, role)),
            role.policy_arns.clone(),
        ),
        Access::Plan => {
            let read_only = arn::policy(p, "aws", READ_ONLY_POLICY);
            let others = role
                .policy_arns
                .iter()
                .filter(|a| **a != read_only)
                .cloned();
            let managed = std::iter::once(read_only.clone()).chain(others).collect();
            (
                STATE_POLICY_NAME,
                policy::plan_state_policy(&state_inputs(sh, role)),
                managed,
            )
        }
        Access::Cdk => (
            CDK_POLICY_NAME,
            policy::cdk_policy(json!(arn::role(p, &sh.account.id, "cdk-*"))),
            role.policy_arns.clone(),
        ),
    }
}

/// The state a role may use: its own prefix only.
fn state_inputs(sh: &Shared<'_>, role: &RoleSettings) -> policy::StateAccessInputs {
    let prefix = role.state_key_prefix.as_deref().unwrap_or_default();
    policy::StateAccessInputs {
        bucket_arn: json!(sh.bucket_arn),
        objects_arn: json!(arn::objects(sh.bucket_arn, prefix)),
        deleted_arns: state::deleted_object_arns(sh.bucket_arn, prefix)
            .into_iter()
            .map(Value::String)
            .collect(),
        lock_arn: json!(state::lock_object_arn(sh.bucket_arn, prefix)),
        key_prefix: (!prefix.is_empty()).then(|| prefix.to_string()),
        table_arn: sh.table_arn.map(|t| json!(t)),
        lock_ids: state::lock_item_ids(sh.bucket_name, prefix)
            .into_iter()
            .map(Value::String)
            .collect(),
        kms_key_arn: sh.kms_key.map(|k| json!(k)),
    }
}
