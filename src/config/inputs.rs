//! [`Inputs`]: every setting as given, by a flag or by the config file, before it is
//! checked; each declared once, and merged by [`Combine`].

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::choices::{ColorChoice, Given, Mode, OutputFormat};
use super::combine::{options, Combine};

/// The settings of one role, declared once: given at the top level for the one role (or
/// the pair) of the flags, and in each `[[role]]` table of the file. `$then` receives them
/// as one more group of fields.
macro_rules! role_settings {
    ($then:ident! { $($declared:tt)* }) => {
        $then! {
            $($declared)*
            {
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
                pub max_session_duration: Option<i64>,
            }
        }
    };
}

role_settings!(options! {
    /// Every setting that can come from a flag or from the config file. The file uses the flag
    /// names as keys (`role-name = "deploy"`); repeatable flags take a list
    /// (`repository-uuid = ["{...}"]`); `--tag K=V` is the table `[tags]`. The settings of
    /// the one role of the flags are `role_settings!`'s.
    #[derive(Debug, Default, Clone, Deserialize)]
    #[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
    pub struct Inputs
    {
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
        pub audience: Vec<String>,
        pub workspace_uuid: Option<String>,
    }
    {
        pub ip_ranges_url: Option<String>,
        /// The Bitbucket API (`--bitbucket-api-url`).
        pub bitbucket_api_url: Option<String>,
        // role
        pub role_name: Option<String>,
        pub plan_apply: Option<bool>,
        /// The name of this configuration's set of roles (the `bootstrap-set` tag).
        pub set: Option<String>,
        /// `[[role]]` tables (file only).
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
        pub accounts: Vec<String>,
        pub org_units: Vec<String>,
        pub regions: Vec<String>,
    }
});

role_settings!(options! {
    /// One `[[role]]` table of the config file: the role settings, keyed as the flags are.
    #[derive(Debug, Default, Clone, Deserialize)]
    #[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
    pub struct RoleInputs
    {
        pub name: Option<String>,
    }
    {
        /// `apply` (the default), `plan` or `cdk`.
        pub access: Option<String>,
        pub tags: Option<BTreeMap<String, String>>,
        /// Where the role's Terraform state lives in the bucket (`apply` and `plan` roles).
        pub state_key_prefix: Option<String>,
    }
});

/// What the top level gives of the role settings, as a `[[role]]` table.
macro_rules! top_level_role {
    ({ $($(#[$meta:meta])* pub $field:ident: $ty:ty,)* }) => {
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

role_settings!(top_level_role! {});

impl Inputs {
    /// Overlay `flags` on `self` (the file): `flags.combine(file)`.
    pub fn overlay(self, flags: Inputs) -> Inputs {
        flags.combine(self)
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
