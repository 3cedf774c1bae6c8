//! [`Inputs`]: every setting as given, by a flag or by the config file, before it is
//! checked; and how the flags overlay the file.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::choices::{ColorChoice, Given, Mode, OutputFormat};

/// Every setting that can come from a flag or from the config file. The file uses the flag
/// names as keys (`role-name = "deploy"`); repeatable flags take a list
/// (`repository-uuid = ["{...}"]`); `--tag K=V` is the table `[tags]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Inputs {
    // global
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    pub ca_bundle: Option<PathBuf>,
    pub output: Option<Given<OutputFormat>>,
    pub color: Option<Given<ColorChoice>>,
    pub timeout: Option<u64>,
    // identity
    pub workspace: Option<String>,
    pub issuer_url: Option<String>,
    #[serde(default)]
    pub audience: Vec<String>,
    pub workspace_uuid: Option<String>,
    #[serde(default)]
    pub repository_uuid: Vec<String>,
    #[serde(default)]
    pub environment_uuid: Vec<String>,
    pub allow_any_repository: Option<bool>,
    #[serde(default)]
    pub source_ip: Vec<String>,
    pub ip_ranges_url: Option<String>,
    /// Repository slugs in `workspace`, resolved to UUIDs through the Bitbucket API.
    #[serde(default)]
    pub repository: Vec<String>,
    /// Deployment environment names of those repositories, resolved to UUIDs.
    #[serde(default)]
    pub environment: Vec<String>,
    /// The Bitbucket API (`--bitbucket-api-url`).
    pub bitbucket_api_url: Option<String>,
    // role
    pub role_name: Option<String>,
    #[serde(default)]
    pub policy_arn: Vec<String>,
    pub allow_admin: Option<bool>,
    pub permissions_boundary: Option<String>,
    pub max_session_duration: Option<i64>,
    pub plan_apply: Option<bool>,
    /// The name of this configuration's set of roles (the `bootstrap-set` tag).
    pub set: Option<String>,
    /// `[[role]]` tables (file only).
    #[serde(default)]
    pub role: Vec<RoleInputs>,
    // state
    pub state_bucket: Option<String>,
    pub state_key_prefix: Option<String>,
    pub lock_table: Option<String>,
    pub no_lock_table: Option<bool>,
    pub kms_key: Option<String>,
    pub allow_encryption_downgrade: Option<bool>,
    pub noncurrent_days: Option<i64>,
    pub tags: Option<BTreeMap<String, String>>,
    // deployment
    pub mode: Option<Given<Mode>>,
    pub stack_name: Option<String>,
    pub stackset: Option<String>,
    #[serde(default)]
    pub accounts: Vec<String>,
    #[serde(default)]
    pub org_units: Vec<String>,
    #[serde(default)]
    pub regions: Vec<String>,
}

/// One `[[role]]` table of the config file: the role settings, keyed as the flags are.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RoleInputs {
    pub name: Option<String>,
    #[serde(default)]
    pub repository_uuid: Vec<String>,
    #[serde(default)]
    pub environment_uuid: Vec<String>,
    /// Repository slugs, resolved to UUIDs through the Bitbucket API.
    #[serde(default)]
    pub repository: Vec<String>,
    /// Deployment environment names, resolved to UUIDs through the Bitbucket API.
    #[serde(default)]
    pub environment: Vec<String>,
    pub allow_any_repository: Option<bool>,
    #[serde(default)]
    pub source_ip: Vec<String>,
    /// `apply` (the default), `plan` or `cdk`.
    pub access: Option<String>,
    #[serde(default)]
    pub policy_arn: Vec<String>,
    pub allow_admin: Option<bool>,
    pub permissions_boundary: Option<String>,
    pub max_session_duration: Option<i64>,
    pub tags: Option<BTreeMap<String, String>>,
    /// Where the role's Terraform state lives in the bucket (`apply` and `plan` roles).
    pub state_key_prefix: Option<String>,
}

macro_rules! take_opt {
    ($dst:ident, $src:ident, $($f:ident),*) => { $( if $src.$f.is_some() { $dst.$f = $src.$f; } )* };
}
macro_rules! take_vec {
    ($dst:ident, $src:ident, $($f:ident),*) => { $( if !$src.$f.is_empty() { $dst.$f = $src.$f; } )* };
}

impl Inputs {
    /// Overlay `flags` on `self` (the file): a flag that was given wins; a repeatable flag given
    /// at least once replaces the file's whole list.
    pub fn overlay(mut self, flags: Inputs) -> Inputs {
        let dst = &mut self;
        take_opt!(
            dst,
            flags,
            profile,
            region,
            endpoint_url,
            ca_bundle,
            output,
            color,
            timeout,
            workspace,
            issuer_url,
            workspace_uuid,
            allow_any_repository,
            ip_ranges_url,
            bitbucket_api_url,
            role_name,
            allow_admin,
            permissions_boundary,
            max_session_duration,
            plan_apply,
            set,
            state_bucket,
            state_key_prefix,
            lock_table,
            no_lock_table,
            kms_key,
            allow_encryption_downgrade,
            noncurrent_days,
            mode,
            stack_name,
            stackset
        );
        take_vec!(
            dst,
            flags,
            audience,
            repository_uuid,
            environment_uuid,
            repository,
            environment,
            source_ip,
            policy_arn,
            accounts,
            org_units,
            regions
        );
        if let Some(tags) = flags.tags {
            let merged = dst.tags.get_or_insert_with(BTreeMap::new);
            merged.extend(tags);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::file::parse_file;

    #[test]
    fn flags_win_and_lists_replace() {
        let file = parse_file(
            "role-name = \"from-file\"\nrepository-uuid = [\"a\", \"b\"]\nregion = \"eu-west-1\"\n[tags]\nteam = \"x\"\n",
        )
        .unwrap();
        let flags = Inputs {
            role_name: Some("from-flag".into()),
            repository_uuid: vec!["c".into()],
            tags: Some([("env".to_string(), "prod".to_string())].into()),
            ..Default::default()
        };
        let merged = file.overlay(flags);
        assert_eq!(merged.role_name.as_deref(), Some("from-flag"));
        assert_eq!(merged.repository_uuid, vec!["c".to_string()]);
        assert_eq!(merged.region.as_deref(), Some("eu-west-1"));
        let tags = merged.tags.unwrap();
        assert_eq!(tags.get("team").map(String::as_str), Some("x"));
        assert_eq!(tags.get("env").map(String::as_str), Some("prod"));
    }
}
