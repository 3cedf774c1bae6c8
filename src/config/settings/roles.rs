//! The roles part of [`Settings`](super::Settings): the one role the flags describe, the two
//! of `--plan-apply`, or the `[[role]]` tables of `bootstrap.toml`, each checked on its own
//! and named in every message about it. A role's setting is declared here once: its key in
//! `role_settings!` (given at the top level for the role of the flags, and in each `[[role]]`
//! table), its check in [`one_role`], and its value in [`RoleSettings`].

use std::collections::BTreeMap;

use ipnet::IpNet;
use serde::Deserialize;

use super::{Access, Inputs, SourceIp};
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

/// The top-level keys of the roles: the one role of the flags, and the `[[role]]` tables.
macro_rules! roles_keys {
    ([$next:ident $(, $rest:ident)*] $($declared:tt)*) => {
        $next! { [$($rest),*] $($declared)* {
            pub role_name: Option<String> = "bitbucket-pipelines-deploy",
            pub plan_apply: Option<bool>,
            /// The name of this configuration's set of roles (the `bootstrap-set` tag).
            pub set: Option<String>,
            /// `[[role]]` tables (file only).
            pub role: Vec<$crate::config::RoleInputs>,
        } }
    };
}
pub(super) use roles_keys;

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

/// The keys no flag gives: Bitbucket names the API resolves, and the `[[role]]` tables.
pub const FILE_ONLY_KEYS: &[&str] = &["repository", "environment", "role"];

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
    /// for a `cdk` role, which has no state. See [`state_prefix`](super::state_prefix).
    pub state_key_prefix: Option<String>,
}

impl RoleSettings {
    /// The explicit `--source-ip` CIDRs (`--source-ip bitbucket` is resolved from Atlassian's
    /// published ranges when the desired state is built).
    pub fn explicit_cidrs(&self) -> Vec<IpNet> {
        self.source_ips.iter().filter_map(SourceIp::cidr).collect()
    }
}

/// At most this many roles in one configuration (IAM's default quota is 1,000 per account).
pub(crate) const MAX_ROLES: usize = 100;

/// The roles of `i` (over the defaults); the top-level role settings `given` beside
/// `[[role]]` tables are refused.
pub(super) fn roles(
    i: &Inputs,
    given: &Inputs,
    warnings: &mut Vec<String>,
) -> Result<Vec<RoleSettings>> {
    if i.role.is_empty() {
        return flag_roles(i, warnings);
    }
    if let Some(key) = single_role_key(given) {
        return Err(Error::usage(format!(
            "{key} is given beside [[role]] tables in the config file; with [[role]] tables every role setting belongs inside a table"
        ))
        .hint(format!("move {key} into each [[role]] table of bootstrap.toml (without the dashes), or remove the [[role]] tables")));
    }
    if i.role.len() > MAX_ROLES {
        return Err(crate::usage!(
            "{} [[role]] tables; at most {MAX_ROLES} roles are accepted in one configuration",
            i.role.len()
        )
        .hint("split the roles into several configurations, each with its own `set`"));
    }
    let mut out: Vec<RoleSettings> = Vec::with_capacity(i.role.len());
    for (n, table) in i.role.iter().enumerate() {
        let Some(name) = table.name.as_deref() else {
            return Err(
                Error::usage(format!("[[role]] table {} has no name", n + 1))
                    .hint("add name = \"...\" to every [[role]] table"),
            );
        };
        let name = v::role_name(name).map_err(|e| e.resource(format!("[[role]] {}", n + 1)))?;
        if out.iter().any(|r| r.name == name) {
            return Err(
                Error::usage(format!("two [[role]] tables are named {name}"))
                    .hint("give every [[role]] table its own name"),
            );
        }
        // IAM role names are unique without regard to case: IAM refuses the second.
        if let Some(other) = out.iter().find(|r| r.name.eq_ignore_ascii_case(&name)) {
            return Err(Error::usage(format!(
                "[[role]] tables named {} and {name} differ only in case; IAM role names are unique without regard to case, so both cannot exist",
                other.name
            ))
            .hint("give every [[role]] table a name of its own, not only in case"));
        }
        let access = match table.access.as_deref() {
            None => Access::Apply,
            Some(word) => Access::from_word(word).ok_or_else(|| {
                crate::usage!("access = {word:?}: expected \"apply\", \"plan\" or \"cdk\"")
                    .resource(format!("role {name}"))
            })?,
        };
        let table = table.clone().combine(RoleInputs::defaults());
        let role = one_role(name.clone(), access, &table, warnings)
            .map_err(|e| e.resource(format!("role {name}")))?;
        out.push(role);
    }
    Ok(out)
}

/// The role the single-role flags describe, or with `--plan-apply` its plan and apply pair.
fn flag_roles(i: &Inputs, warnings: &mut Vec<String>) -> Result<Vec<RoleSettings>> {
    let name = v::role_name(i.role_name.as_deref().unwrap_or_default())?;
    let table = i.role_settings();
    if !i.plan_apply.unwrap_or(false) {
        return Ok(vec![one_role(name, Access::Apply, &table, warnings)?]);
    }
    if i.environment_uuid.is_empty() && i.environment.is_empty() {
        return Err(Error::usage(
            "--plan-apply needs --environment-uuid: the apply role is limited to the deployment steps of those environments",
        )
        .hint("add --environment-uuid UUID of the environment that deploys (Repository settings > OpenID Connect lists it)"));
    }
    let plan_name = v::role_name(&format!("{name}-plan"))?;
    let apply_name = v::role_name(&format!("{name}-apply"))?;
    let plan_table = RoleInputs {
        environment_uuid: Vec::new(),
        environment: Vec::new(),
        policy_arn: Vec::new(),
        ..table.clone()
    };
    let plan = one_role(plan_name, Access::Plan, &plan_table, warnings)?;
    let apply = one_role(apply_name, Access::Apply, &table, warnings)?;
    Ok(vec![plan, apply])
}

/// The first single-role setting given at the top level (flag or file key), for the message
/// that refuses it beside `[[role]]` tables: a flag by its name, a key of the file alone
/// without dashes.
fn single_role_key(i: &Inputs) -> Option<String> {
    let role_name = i.role_name.is_some().then_some("role_name");
    let plan_apply = i.plan_apply.is_some().then_some("plan_apply");
    let field = role_name
        .into_iter()
        .chain(i.role_settings_given())
        .chain(plan_apply)
        .next()?;
    let key = field.replace('_', "-");
    Some(if FILE_ONLY_KEYS.contains(&key.as_str()) {
        key
    } else {
        format!("--{key}")
    })
}

/// One role's settings, checked. Messages name the flags; for a `[[role]]` table the caller
/// names the role.
fn one_role(
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

/// The most tags AWS allows on an IAM role, an OIDC provider, an S3 bucket or a DynamoDB table.
const MAX_TAGS: usize = 50;
/// The tags the tool adds to every resource: managed-by, bootstrap-version, bootstrap-set.
const TOOL_TAGS: usize = 3;

/// Every resource's tag count within AWS's 50, the tool's own tags counted, before any AWS
/// call: each role carries the shared `[tags]`, its own `tags` and the tool's three, with
/// bootstrap-state-prefix when it has a state prefix and, in a CloudFormation template
/// (`stack_tag`), bootstrap-stack; the provider, bucket and table the shared ones and the
/// tool's three.
pub fn tag_counts(
    roles: &[RoleSettings],
    shared: &BTreeMap<String, String>,
    stack_tag: bool,
) -> Result<()> {
    if shared.len() + TOOL_TAGS > MAX_TAGS {
        return Err(crate::usage!(
            "{} [tags] (--tag) and the {TOOL_TAGS} the tool adds (managed-by, bootstrap-version, bootstrap-set) make {}; AWS allows at most {MAX_TAGS} on a role, provider, bucket or table",
            shared.len(),
            shared.len() + TOOL_TAGS
        ));
    }
    for role in roles {
        let own = role
            .tags
            .keys()
            .filter(|k| !shared.contains_key(*k))
            .count();
        let mut tool = vec!["managed-by", "bootstrap-version", "bootstrap-set"];
        if role
            .state_key_prefix
            .as_deref()
            .is_some_and(|p| !p.is_empty())
        {
            tool.push("bootstrap-state-prefix");
        }
        if stack_tag {
            tool.push("bootstrap-stack");
        }
        let total = shared.len() + own + tool.len();
        if total > MAX_TAGS {
            return Err(crate::usage!(
                "role {} would carry {total} tags ({} from [tags], {own} of its own, {} the tool adds: {}); IAM allows at most {MAX_TAGS} on a role",
                role.name,
                shared.len(),
                tool.len(),
                tool.join(", ")
            )
            .hint("drop tags from [tags] (--tag) or from the role's own tags table"));
        }
    }
    Ok(())
}

/// `set = "..."` (or `--set`): a tag value, 1 to 256 letters, digits, spaces and `_ . : / = + - @`.
pub(super) fn set(i: &Inputs) -> Result<Option<String>> {
    let Some(set) = i.set.as_deref() else {
        return Ok(None);
    };
    let allowed = |c: char| c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c);
    if set.trim().is_empty() || set.chars().count() > 256 || !set.chars().all(allowed) {
        return Err(crate::usage!(
            "--set {}: expected 1 to 256 letters, digits, spaces and _ . : / = + - @ (it becomes the {} tag)",
            v::shown(set),
            crate::config::SET_TAG
        ));
    }
    Ok(Some(set.to_string()))
}
