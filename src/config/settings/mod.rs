//! Every setting, as given ([`Inputs`]) and as validated ([`Settings`]), with the parts'
//! accessors. Each part declares its own keys beside their checks and its value: `build` the
//! global ones (and [`Settings`] itself, checked one part at a time), `trust`, `roles` (the
//! per-role ones too), `state` and `deployment`; [`Inputs`] is all of their keys in one
//! struct, merged by [`Combine`](crate::config::Combine) over its defaults.

mod build;
mod deployment;
mod role;
mod roles;
mod source;
mod state;
mod state_prefix;
#[cfg(test)]
mod tests;
mod trust;

pub use build::{AwsSettings, Settings};
pub use deployment::{DeploymentSettings, StackSetSettings, StackSetTargets};
pub use role::{Access, RoleInputs, RoleSettings, SourceIp};
pub use roles::{tag_counts, FILE_ONLY_KEYS};
pub use source::Source;
pub use state::StateSettings;
pub use trust::{BitbucketSettings, Issuer, ResolvedName, TrustSettings};

use serde::Deserialize;

use crate::config::combine::{options, Combine};
use crate::config::validate;
use crate::error::{Error, Result};
use build::global_keys;
use deployment::deployment_keys;
use role::role_settings;
use roles::roles_keys;
use state::state_keys;
use trust::trust_keys;

global_keys!([trust_keys, role_settings, roles_keys, state_keys, deployment_keys, options]
    /// Every setting that can come from a flag or from the config file. The file uses the flag
    /// names as keys (`role-name = "deploy"`); repeatable flags take a list
    /// (`repository-uuid = ["{...}"]`); `--tag K=V` is the table `[tags]`. The settings of
    /// the one role of the flags are `role_settings!`'s.
    #[derive(Debug, Default, Clone, Deserialize)]
    #[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
    pub struct Inputs
);

impl Inputs {
    /// Overlay `flags` on `self` (the file): `flags.combine(file)`.
    pub fn overlay(self, flags: Inputs) -> Inputs {
        flags.combine(self)
    }
}

impl Settings {
    /// The issuer, or a usage error naming the flags that set it.
    pub fn require_issuer(&self) -> Result<&Issuer> {
        self.trust.issuer.as_ref().ok_or_else(|| {
            Error::usage("no OIDC issuer given")
                .hint("pass --workspace SLUG (your Bitbucket workspace) or --issuer-url URL")
        })
    }

    /// The inputs every command that builds a trust policy needs (plan, init, status, render,
    /// ...). The size of that policy is judged where it is built: `model::quota` refuses one no
    /// account accepts before any network or AWS call.
    pub fn require_trust_inputs(&self) -> Result<()> {
        self.require_issuer()?;
        if self.trust.audiences.is_empty() {
            return Err(Error::usage("no audience given").hint(
                "pass --workspace-uuid UUID (Repository settings > OpenID Connect shows it) or --audience AUD",
            ));
        }
        for role in &self.roles {
            if role.repositories.is_empty() && !role.allow_any_repository {
                return Err(self.no_repository(role));
            }
        }
        Ok(())
    }

    fn no_repository(&self, role: &RoleSettings) -> Error {
        if self.role_tables {
            return Error::usage(format!(
                "role {} has no repository-uuid: it would trust every pipeline in the workspace",
                role.name
            ))
            .hint("add repository-uuid = [\"{...}\"] to its [[role]] table, or allow-any-repository = true to accept that risk");
        }
        Error::usage(
            "no --repository-uuid given: the role would trust every pipeline in the workspace",
        )
        .hint("pass --repository-uuid UUID for each repository that deploys, or --allow-any-repository to accept that risk")
    }

    /// Whether a role names `--source-ip bitbucket` (Atlassian's ranges must be fetched).
    pub fn needs_bitbucket_ranges(&self) -> bool {
        self.roles
            .iter()
            .any(|r| r.source_ips.contains(&SourceIp::Bitbucket))
    }

    /// The one role `command` acts on: the one configured, or the one `--role` names among
    /// several.
    pub fn one_role(&self, names: &[String], command: &str) -> Result<&RoleSettings> {
        let selected = self.select_roles(names)?;
        match selected.as_slice() {
            [one] => Ok(one),
            _ => Err(Error::usage(format!(
                "`{command}` acts on one role, and {} are configured ({})",
                selected.len(),
                selected
                    .iter()
                    .map(|r| r.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .hint("pass --role NAME to pick one")),
        }
    }

    /// The set the roles belong to: `set = "..."`, or the issuer's host/path.
    pub fn set_name(&self) -> Option<String> {
        self.set
            .clone()
            .or_else(|| self.trust.issuer.as_ref().map(|i| i.host_path.clone()))
    }

    /// The roles named by `--role` (all of them when none is named); an unknown name is a
    /// usage error listing the configured ones.
    pub fn select_roles(&self, names: &[String]) -> Result<Vec<&RoleSettings>> {
        if names.is_empty() {
            return Ok(self.roles.iter().collect());
        }
        let mut out = Vec::new();
        for n in names {
            match self.roles.iter().find(|r| &r.name == n) {
                Some(r) if !out.iter().any(|o: &&RoleSettings| o.name == r.name) => out.push(r),
                Some(_) => {}
                None => {
                    let known: Vec<&str> = self.roles.iter().map(|r| r.name.as_str()).collect();
                    return Err(Error::usage(format!(
                        "--role {n}: no such role in these settings (configured: {})",
                        known.join(", ")
                    ))
                    .hint("pass --role with one of the configured role names"));
                }
            }
        }
        Ok(out)
    }

    /// These settings with only the roles `--role` names (unchanged when none is named); an
    /// unknown name is a usage error, as in [`Settings::select_roles`].
    pub fn narrowed(&self, names: &[String]) -> Result<std::borrow::Cow<'_, Settings>> {
        if names.is_empty() {
            return Ok(std::borrow::Cow::Borrowed(self));
        }
        let roles = self.select_roles(names)?.into_iter().cloned().collect();
        Ok(std::borrow::Cow::Owned(Settings {
            roles,
            ..self.clone()
        }))
    }

    /// Warnings the user should see before anything is written.
    pub fn trust_warnings(&self) -> Vec<String> {
        let mut w = self.warnings.clone();
        // Each warning once, naming the roles it is about when they come from [[role]] tables.
        let mut by_warning: Vec<(String, Vec<&str>)> = Vec::new();
        for role in &self.roles {
            let mut found = Vec::new();
            role_warnings(role, &mut found);
            for line in found {
                match by_warning.iter_mut().find(|(l, _)| *l == line) {
                    Some((_, names)) => names.push(&role.name),
                    None => by_warning.push((line, vec![&role.name])),
                }
            }
        }
        for (line, names) in by_warning {
            w.push(match (self.role_tables, names.as_slice()) {
                (false, _) => line,
                (true, [one]) => format!("role {one}: {line}"),
                (true, many) => format!("roles {}: {line}", many.join(", ")),
            });
        }
        dedup_in_order(&mut w);
        w
    }
}

/// Drop repeated lines, keeping the first of each (two roles often share a warning).
pub(super) fn dedup_in_order(lines: &mut Vec<String>) {
    let mut seen = std::collections::BTreeSet::new();
    lines.retain(|l| seen.insert(l.clone()));
}

/// The warnings about one role's trust and permissions.
fn role_warnings(role: &RoleSettings, w: &mut Vec<String>) {
    if role.allow_any_repository {
        w.push(
            "--allow-any-repository: EVERY repository in the workspace can assume this role".into(),
        );
    }
    if role.source_ips.is_empty() {
        w.push("no --source-ip: any network can use a stolen pipeline token until it expires (the repository condition still applies)".into());
    }
    if role.source_ips.contains(&SourceIp::Bitbucket) {
        w.push("--source-ip bitbucket: only 4x/8x steps with `runtime: cloud: atlassian-ip-ranges: true` egress from Atlassian's published ranges; 1x/2x steps will be refused".into());
    }
    if role.allow_admin
        && role
            .policy_arns
            .iter()
            .any(|p| validate::is_admin_policy_arn(p))
    {
        w.push("--allow-admin: pipelines get AdministratorAccess".into());
    }
}
