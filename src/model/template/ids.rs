//! The logical ids of the template's resources: what `Ref` and `Fn::GetAtt` name, and what a
//! deployed stack's resources are matched by.

use crate::model::DesiredState;

pub const PROVIDER_ID: &str = "OidcProvider";
pub const ROLE_ID: &str = "DeployRole";
pub const BUCKET_ID: &str = "StateBucket";
pub const BUCKET_POLICY_ID: &str = "StateBucketPolicy";
pub const TABLE_ID: &str = "LockTable";
/// The output with a role's ARN (of the one role; with several, followed by its name).
pub const ROLE_OUTPUT: &str = "RoleArn";

/// Where one role is in the template: its resource and the output with its ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleIds {
    /// The role's name.
    pub name: String,
    /// Its logical id: `DeployRole`, or with several roles `DeployRole<Name>`.
    pub resource: String,
    /// Its output: `RoleArn`, or with several roles `RoleArn<Name>`.
    pub output: String,
}

/// The ids of every role of `d`, in order. One role keeps the ids of a one-role template;
/// several are told apart by their names in PascalCase (`infra-plan`: `DeployRoleInfraPlan`),
/// with a number where two names would give the same id. Role names are at most 64
/// characters, so the ids stay far below CloudFormation's 255.
pub fn role_ids(d: &DesiredState) -> Vec<RoleIds> {
    let names: Vec<&str> = d.roles.iter().map(|r| r.name.as_str()).collect();
    suffixes(&names)
        .into_iter()
        .zip(&names)
        .map(|(suffix, name)| RoleIds {
            name: (*name).to_string(),
            resource: format!("{ROLE_ID}{suffix}"),
            output: format!("{ROLE_OUTPUT}{suffix}"),
        })
        .collect()
}

/// The part each id adds to the base ids: nothing for a single role, else the name in
/// PascalCase, unique and never empty.
fn suffixes(names: &[&str]) -> Vec<String> {
    if names.len() == 1 {
        return vec![String::new()];
    }
    let mut taken: Vec<String> = Vec::new();
    for name in names {
        let base = pascal(name);
        let mut candidate = base.clone();
        let mut n = 2;
        while candidate.is_empty() || taken.iter().any(|t| t.eq_ignore_ascii_case(&candidate)) {
            candidate = format!("{base}{n}");
            n += 1;
        }
        taken.push(candidate);
    }
    taken
}

/// `infra-plan` -> `InfraPlan`: the ASCII letters and digits of `name`, each run starting
/// with a capital; everything else dropped.
fn pascal(name: &str) -> String {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            let first = chars.next().map(|c| c.to_ascii_uppercase());
            first.into_iter().chain(chars).collect::<String>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_role_keeps_the_plain_ids_and_several_get_unique_alphanumeric_ones() {
        assert_eq!(suffixes(&["infra-plan"]), [""]);
        assert_eq!(
            suffixes(&["infra-plan", "infra-apply", "app_cdk"]),
            ["InfraPlan", "InfraApply", "AppCdk"]
        );
        // Names that differ only in punctuation or case, and a name without letters.
        assert_eq!(
            suffixes(&["a-b", "a.b", "A_b", "--", "AB2"]),
            ["AB", "AB2", "AB3", "2", "AB22"]
        );
        let long = "x".repeat(64);
        let s = suffixes(&[long.as_str(), "y"]);
        assert!(format!("{ROLE_ID}{}", s[0]).len() <= 255);
        assert!(s
            .iter()
            .all(|s| s.chars().all(|c| c.is_ascii_alphanumeric())));
    }
}
