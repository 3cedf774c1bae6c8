//! The roles part of [`Settings`](super::Settings): the one role the flags describe, the two
//! of `--plan-apply`, or the `[[role]]` tables of `bootstrap.toml`, each checked on its own
//! (`role.rs`) and named in every message about it; the set they belong to, and the tags each
//! would carry.

use std::collections::BTreeMap;

use super::role::{one_role, Access, RoleInputs, RoleSettings};
use super::Inputs;
use crate::config::combine::Combine;
use crate::config::validate as v;
use crate::error::{Error, Result};

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

/// The keys no flag gives: Bitbucket names the API resolves, and the `[[role]]` tables.
pub const FILE_ONLY_KEYS: &[&str] = &["repository", "environment", "role"];

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
