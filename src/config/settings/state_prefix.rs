//! Where each role's Terraform state lives in the shared bucket. The roles the single-role
//! flags describe (one role, or the pair of `--plan-apply`) keep `--state-key-prefix` (the
//! top of the bucket by default: today's `terraform.tfstate`). Each `[[role]]` table gets
//! its own prefix: `state-key-prefix` in the table, or by default the role's name, or the
//! pair's base name for `NAME-plan` and `NAME-apply` roles that trust the same repositories
//! (under the top-level `state-key-prefix` when one is given). Roles that trust different
//! repositories never share a prefix, nor hold one inside another's, unless both tables say
//! so with an explicit `state-key-prefix` (and are warned).

use super::{Access, RoleSettings};
use crate::config::validate as v;
use crate::error::{Error, Result};

/// A tag value holds at most 256 characters, and the prefix is carried in a role tag.
const MAX_PREFIX_LEN: usize = 256;

/// A `[[role]]` table's own `state-key-prefix`, checked; a `cdk` role has no state.
pub(super) fn given(access: Access, value: Option<&str>) -> Result<Option<String>> {
    let Some(value) = value else {
        return Ok(None);
    };
    if access == Access::Cdk {
        return Err(Error::usage(
            "state-key-prefix is given for a cdk role, which has no Terraform state",
        )
        .hint("remove state-key-prefix from the role's [[role]] table"));
    }
    let prefix = v::key_prefix(value)?;
    check_length(&prefix)?;
    Ok(Some(prefix))
}

fn check_length(prefix: &str) -> Result<()> {
    if prefix.len() > MAX_PREFIX_LEN {
        return Err(crate::usage!(
            "state-key-prefix of {} characters; a role's prefix has at most {MAX_PREFIX_LEN} (it is carried in the role's tag)",
            prefix.len()
        ));
    }
    Ok(())
}

/// Give every role its prefix (see the module documentation), and refuse prefixes that
/// roles of different repositories would share.
pub(super) fn assign(
    roles: &mut [RoleSettings],
    top: &str,
    tables: bool,
    warnings: &mut Vec<String>,
) -> Result<()> {
    if !tables {
        for r in roles.iter_mut() {
            r.state_key_prefix = (r.access != Access::Cdk).then(|| top.to_string());
        }
        return Ok(());
    }
    let defaults: Vec<String> = roles.iter().map(|r| default_name(r, roles)).collect();
    let explicit: Vec<bool> = roles.iter().map(|r| r.state_key_prefix.is_some()).collect();
    for (r, base) in roles.iter_mut().zip(defaults) {
        if r.access == Access::Cdk || r.state_key_prefix.is_some() {
            continue;
        }
        let prefix = if top.is_empty() {
            base
        } else {
            format!("{top}/{base}")
        };
        let prefix = v::key_prefix(&prefix).map_err(|_| {
            crate::usage!(
                "the role name {} cannot be its state key prefix (letters, digits and - _ . / = only)",
                r.name
            )
            .resource(format!("role {}", r.name))
            .hint("set state-key-prefix in the role's [[role]] table")
        })?;
        check_length(&prefix).map_err(|e| e.resource(format!("role {}", r.name)))?;
        r.state_key_prefix = Some(prefix);
    }
    refuse_shared(roles, &explicit, warnings)
}

impl RoleSettings {
    /// Whether two roles trust the same repositories (environments aside): a plan role and
    /// the apply role of one repository. Repositories given by name are compared by name (they
    /// are resolved to UUIDs later, and the answer must not change when they are).
    pub fn same_repositories(&self, other: &RoleSettings) -> bool {
        let sorted = |v: &[String]| {
            let mut v = v.to_vec();
            v.sort();
            v
        };
        self.allow_any_repository == other.allow_any_repository
            && sorted(&self.repositories) == sorted(&other.repositories)
            && sorted(&self.repository_names) == sorted(&other.repository_names)
    }
}

fn same_repositories(a: &RoleSettings, b: &RoleSettings) -> bool {
    a.same_repositories(b)
}

/// The default prefix of a `[[role]]` role: `NAME` for the pair `NAME-plan` and
/// `NAME-apply` of the same repositories, the role's own name otherwise.
fn default_name(role: &RoleSettings, roles: &[RoleSettings]) -> String {
    for (own, other) in [("-plan", "-apply"), ("-apply", "-plan")] {
        let Some(base) = role.name.strip_suffix(own) else {
            continue;
        };
        let partner = format!("{base}{other}");
        let paired = roles
            .iter()
            .any(|o| o.name == partner && o.access != Access::Cdk && same_repositories(o, role));
        if !base.is_empty() && paired {
            return base.to_string();
        }
    }
    role.name.clone()
}

/// Whether one prefix is the other or holds it (the top of the bucket holds every prefix).
fn overlap(a: &str, b: &str) -> bool {
    let under = |inner: &str, outer: &str| {
        outer.is_empty() || inner == outer || inner.starts_with(&format!("{outer}/"))
    };
    under(a, b) || under(b, a)
}

/// Two roles of different repositories whose prefixes overlap could each read the other's
/// state, and an apply role overwrite it: refused unless both tables ask for it with an
/// explicit `state-key-prefix` (then a warning says what they share).
fn refuse_shared(
    roles: &[RoleSettings],
    explicit: &[bool],
    warnings: &mut Vec<String>,
) -> Result<()> {
    for (i, a) in roles.iter().enumerate() {
        for (j, b) in roles.iter().enumerate().skip(i + 1) {
            let (Some(pa), Some(pb)) = (&a.state_key_prefix, &b.state_key_prefix) else {
                continue;
            };
            if !overlap(pa, pb) || same_repositories(a, b) {
                continue;
            }
            let shown = |p: &str| {
                if p.is_empty() {
                    "the top of the bucket".to_string()
                } else {
                    format!("{p:?}")
                }
            };
            let what = format!(
                "the roles {} (state-key-prefix {}) and {} (state-key-prefix {}) trust different repositories but their state prefixes overlap: each can read the other's Terraform state",
                a.name,
                shown(pa),
                b.name,
                shown(pb)
            );
            if explicit[i] && explicit[j] {
                warnings.push(what);
                continue;
            }
            return Err(crate::usage!("{what}").hint(
                "give each repository's roles their own state-key-prefix in their [[role]] tables, none inside another",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "state_prefix_tests.rs"]
mod tests;
