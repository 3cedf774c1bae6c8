//! One role's settings, each declared once: its key in `role_settings!` (given at the top
//! level for the role of the flags, and in each `[[role]]` table), its check in [`one_role`],
//! and its value in [`RoleSettings`].

use std::collections::BTreeMap;

use ipnet::IpNet;
use serde::Deserialize;

use super::Inputs;
use crate::config::combine::{options, Combine};
use crate::config::validate as v;
use crate::error::{Error, Result};

/// The settings of one role: given at the top level for the one role (or the pair) of the
/// flags, and in each `[[role]]` table of the file.
macro_rules! role_settings {
    ([$next:ident $(, $rest:ident)*] $($declared:tt)*) => {
        $next! { [$($rest),*] $($declared)* {
            pub repository_uuid: Vec<String>,
            pub environment_uuid: Vec<String>,
            /// Repository slugs, resolved to UUIDs through the Bitbucket API.
            pub repository: Vec<String>,
            /// Deployment environment names, resolved to UUIDs through the Bitbucket API.
            pub environment: Vec<String>,
            pub allow_any_repository: Option<bool>,
            pub source_ip: Vec<String>,
            pub policy_arn: Vec<String>,
            pub allow_admin: Option<bool>,
            pub permissions_boundary: Option<String>,
            pub max_session_duration: Option<i64> = 3600_i64,
        } }
    };
}
pub(super) use role_settings;

/// The keys only a `[[role]]` table has.
macro_rules! role_table_keys {
    ([$next:ident $(, $rest:ident)*] $($declared:tt)*) => {
        $next! { [$($rest),*] $($declared)* {
            pub name: Option<String>,
            /// `apply` (the default), `plan` or `cdk`.
            pub access: Option<String>,
            pub tags: Option<BTreeMap<String, String>>,
            /// Where the role's Terraform state lives in the bucket (`apply` and `plan` roles).
            pub state_key_prefix: Option<String>,
        } }
    };
}

role_table_keys!([role_settings, options]
    /// One `[[role]]` table of the config file: the role settings, keyed as the flags are.
    #[derive(Debug, Default, Clone, Deserialize)]
    #[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
    pub struct RoleInputs
);

/// What the top level gives of the role settings, as a `[[role]]` table.
macro_rules! top_level_role {
    ([] { $($(#[$meta:meta])* pub $field:ident: $ty:ty $(= $default:expr)?,)* }) => {
        impl Inputs {
            /// The role settings given at the top level, as a `[[role]]` table (no name).
            pub fn role_settings(&self) -> RoleInputs {
                RoleInputs {
                    $($field: self.$field.clone(),)*
                    ..RoleInputs::default()
                }
            }

            /// The keys of the role settings given at the top level, in order.
            pub fn role_settings_given(&self) -> Vec<&'static str> {
                let given = [$((stringify!($field), self.$field.is_given()),)*];
                given.into_iter().filter(|(_, g)| *g).map(|(f, _)| f).collect()
            }
        }
    };
}

role_settings!([top_level_role]);

/// One role, validated: who may assume it and what it may do.
#[derive(Debug, Clone)]
pub struct RoleSettings {
    pub name: String,
    pub access: Access,
    pub repositories: Vec<String>,
    pub environments: Vec<String>,
    /// `repository = [...]`: slugs the Bitbucket API resolves into `repositories`.
    pub repository_names: Vec<String>,
    /// `environment = [...]`: names the Bitbucket API resolves into `environments`.
    pub environment_names: Vec<String>,
    pub allow_any_repository: bool,
    pub source_ips: Vec<SourceIp>,
    pub policy_arns: Vec<String>,
    pub allow_admin: bool,
    pub permissions_boundary: Option<String>,
    pub max_session_duration: i32,
    /// The role's own tags, beside the shared ones.
    pub tags: BTreeMap<String, String>,
    /// The key prefix of the role's Terraform state (`""`: the top of the bucket); `None`
    /// for a `cdk` role, which has no state. See `config/settings/state_prefix.rs`.
    pub state_key_prefix: Option<String>,
}

impl RoleSettings {
    /// The explicit `--source-ip` CIDRs (`--source-ip bitbucket` is resolved from Atlassian's
    /// published ranges when the desired state is built).
    pub fn explicit_cidrs(&self) -> Vec<IpNet> {
        self.source_ips.iter().filter_map(SourceIp::cidr).collect()
    }
}

/// A source-IP restriction: explicit CIDRs, or Atlassian's published Pipelines egress ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceIp {
    Cidr(IpNet),
    Bitbucket,
}

impl SourceIp {
    /// The range, for an explicit CIDR.
    pub fn cidr(&self) -> Option<IpNet> {
        match self {
            SourceIp::Cidr(c) => Some(*c),
            SourceIp::Bitbucket => None,
        }
    }
}

/// What a role may do beside being assumed (`access` in a `[[role]]` table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// Terraform apply: state read and write, the lock, and the `policy-arn` policies.
    Apply,
    /// Terraform plan: AWS's ReadOnlyAccess, state read, and writes on the lock only.
    Plan,
    /// CDK: assume only the roles `cdk bootstrap` created, by their tag.
    Cdk,
}

impl Access {
    /// The word of the config file (`access = "plan"`).
    pub fn from_word(word: &str) -> Option<Access> {
        match word {
            "apply" => Some(Access::Apply),
            "plan" => Some(Access::Plan),
            "cdk" => Some(Access::Cdk),
            _ => None,
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Access::Apply => "apply",
            Access::Plan => "plan",
            Access::Cdk => "cdk",
        }
    }
}

/// One role's settings, checked. Messages name the flags; for a `[[role]]` table the caller
/// names the role.
pub(super) fn one_role(
    name: String,
    access: Access,
    t: &RoleInputs,
    warnings: &mut Vec<String>,
) -> Result<RoleSettings> {
    let repositories = v::unique(&t.repository_uuid, |r| v::uuid("--repository-uuid", r))?;
    let environments = v::unique(&t.environment_uuid, |e| v::uuid("--environment-uuid", e))?;
    let repository_names = v::unique(&t.repository, v::repository_slug)?;
    let environment_names = v::unique(&t.environment, v::environment_name)?;
    let allow_any_repository = t.allow_any_repository.unwrap_or(false);
    let named_repositories = !repositories.is_empty() || !repository_names.is_empty();
    if allow_any_repository && named_repositories {
        return Err(
            Error::usage("--allow-any-repository contradicts --repository-uuid")
                .hint("drop one of them"),
        );
    }
    if (!environments.is_empty() || !environment_names.is_empty()) && !named_repositories {
        return Err(Error::usage(
            "--environment-uuid needs --repository-uuid: the sub claim is {repository}:{environment}:{step}",
        )
        .hint("add the repository the environments belong to with --repository-uuid"));
    }
    let source_ips = source_ips(&t.source_ip, warnings)?;
    let allow_admin = t.allow_admin.unwrap_or(false);
    let policy_arns = policy_arns(&t.policy_arn, allow_admin)?;
    if access == Access::Plan && policy_arns.len() > 19 {
        return Err(crate::usage!(
            "{} --policy-arn given for a plan role, which also holds ReadOnlyAccess; IAM attaches at most 20 managed policies to a role",
            policy_arns.len()
        ));
    }
    let permissions_boundary = t
        .permissions_boundary
        .as_deref()
        .map(|p| v::policy_arn("--permissions-boundary", p))
        .transpose()?;
    let max_session_duration = session(t.max_session_duration, warnings)?;
    let tags = tags(t.tags.as_ref())?;
    let state_key_prefix = super::state_prefix::given(access, t.state_key_prefix.as_deref())?;
    Ok(RoleSettings {
        name,
        access,
        repositories,
        environments,
        repository_names,
        environment_names,
        allow_any_repository,
        source_ips,
        policy_arns,
        allow_admin,
        permissions_boundary,
        max_session_duration,
        tags,
        state_key_prefix,
    })
}

/// `--policy-arn` values: administrator-equivalent ones only with `--allow-admin`, at most 20
/// (19 for a plan role, which also holds ReadOnlyAccess; checked where it is added).
fn policy_arns(values: &[String], allow_admin: bool) -> Result<Vec<String>> {
    let policy_arns = v::unique(values, |p| {
        let p = v::policy_arn("--policy-arn", p)?;
        if v::is_admin_policy_arn(&p) && !allow_admin {
            return Err(Error::usage(format!(
                "--policy-arn {p} grants full administrator access to every pipeline that can assume the role"
            ))
            .hint("attach a narrower policy, or pass --allow-admin if this is really intended"));
        }
        Ok(p)
    })?;
    if policy_arns.len() > 20 {
        return Err(crate::usage!(
            "{} --policy-arn given; IAM attaches at most 20 managed policies to a role",
            policy_arns.len()
        ));
    }
    Ok(policy_arns)
}

/// `--max-session-duration`: 900 to 43200 seconds; over 4 hours is a warning.
fn session(value: Option<i64>, warnings: &mut Vec<String>) -> Result<i32> {
    let seconds = match value.unwrap_or_default() {
        #[allow(clippy::cast_possible_truncation, reason = "the pattern bounds it")]
        s @ 900..=43200 => s as i32,
        s => {
            return Err(crate::usage!(
                "--max-session-duration {s}: expected 900 to 43200 seconds (15 minutes to 12 hours)"
            ))
        }
    };
    if seconds > 4 * 3600 {
        warnings.push(format!(
            "--max-session-duration {seconds}: pipeline credentials stay valid for over 4 hours"
        ));
    }
    Ok(seconds)
}

/// `--source-ip CIDR|bitbucket` values: a broad CIDR is a warning, CIDRs that together cover
/// a whole address family are refused.
fn source_ips(values: &[String], warnings: &mut Vec<String>) -> Result<Vec<SourceIp>> {
    let source_ips = v::unique(values, |s| {
        if s.eq_ignore_ascii_case("bitbucket") {
            return Ok(SourceIp::Bitbucket);
        }
        let net = v::cidr(s)?;
        if v::is_broad(&net) {
            warnings.push(format!(
                "--source-ip {net} is a very broad range; the role's IP condition restricts little"
            ));
        }
        Ok(SourceIp::Cidr(net))
    })?;
    let explicit: Vec<_> = source_ips.iter().filter_map(SourceIp::cidr).collect();
    v::check_source_union(&explicit, "given with --source-ip")?;
    Ok(source_ips)
}

/// A `[[role]]` table's own `tags`, each checked, at most 10 (beside the shared ones).
fn tags(given: Option<&BTreeMap<String, String>>) -> Result<BTreeMap<String, String>> {
    let tags = given.cloned().unwrap_or_default();
    for (k, val) in &tags {
        v::tag(k, val)?;
    }
    if tags.len() > 10 {
        return Err(crate::usage!(
            "{} tags in one [[role]] table; at most 10 are accepted beside the shared [tags]",
            tags.len()
        ));
    }
    Ok(tags)
}
