//! IAM's quota on the size of a role trust policy: 2,048 characters by default, adjustable
//! up to 8,192 ("Role trust policy length" in Service Quotas), whitespace not counted. Over
//! the default is a warning (the account's quota may have been raised); over the maximum no
//! account accepts it, so the input is refused.

use serde_json::json;

use super::arn;
use super::policy::{trust_policy, TrustInputs};
use crate::config::{RoleSettings, Settings};
use crate::error::{Error, Result};
use crate::iam::policy_size;

/// IAM's default quota on a role trust policy.
pub const TRUST_POLICY_DEFAULT_CHARS: usize = 2048;
/// The most the quota can be raised to.
pub const TRUST_POLICY_MAX_CHARS: usize = 8192;

/// The size IAM would count for the trust policy built from `t`, in any account: the
/// provider ARN is measured with the longest partition and a 12-digit account id, so neither
/// the account nor a template's placeholders change the figure.
pub fn trust_policy_size(t: &TrustInputs<'_>) -> usize {
    let measured = TrustInputs {
        provider_arn: json!(arn::provider(
            "aws-us-gov",
            "123456789012",
            t.issuer_host_path
        )),
        ..t.clone()
    };
    policy_size(&trust_policy(&measured))
}

/// Refuse a trust policy no account accepts. `what` says what makes it large.
pub fn refuse_over_maximum(size: usize, what: &str) -> Result<()> {
    if size <= TRUST_POLICY_MAX_CHARS {
        return Ok(());
    }
    Err(Error::usage(format!(
        "the trust policy would be about {size} characters ({what}); IAM accepts at most {TRUST_POLICY_MAX_CHARS}, even with the 'Role trust policy length' quota raised"
    ))
    .hint("split the repositories over several roles ([[role]] tables in bootstrap.toml, docs/many-roles.md), or drop --environment-uuid / --source-ip values (`bitbucket` alone adds every published Pipelines range)"))
}

/// [`Settings::require_trust_inputs`], then the size of the trust policy of each role: a
/// policy no account accepts is refused before any network or AWS call. Only the explicit
/// CIDRs are measured here (`--source-ip bitbucket` is resolved, and the policy measured
/// again, when the desired state is built).
pub fn check_trust_inputs(settings: &Settings) -> Result<()> {
    settings.require_trust_inputs()?;
    for role in &settings.roles {
        refuse_over_maximum(
            estimated_trust_policy_size(settings, role),
            &format!(
                "{} repositories x {} environments, {} source ranges",
                role.repositories.len(),
                role.environments.len().max(1),
                role.source_ips.len(),
            ),
        )
        .map_err(|e| {
            if settings.role_tables {
                e.resource(format!("role {}", role.name))
            } else {
                e
            }
        })?;
    }
    Ok(())
}

/// The size of the trust policy `role` gets, with only the explicit CIDRs.
pub fn estimated_trust_policy_size(settings: &Settings, role: &RoleSettings) -> usize {
    let Some(issuer) = &settings.trust.issuer else {
        return 0;
    };
    trust_policy_size(&TrustInputs {
        issuer_host_path: &issuer.host_path,
        provider_arn: serde_json::Value::Null,
        audiences: &settings.trust.audiences,
        repositories: &role.repositories,
        environments: &role.environments,
        source_cidrs: &role.explicit_cidrs(),
    })
}

/// The warnings about trust policies over the default quota that the settings alone decide,
/// worded as the desired state words them, so `plan`, `init` and `status` give them before
/// any network or AWS call (docs/many-roles.md). A role with `--source-ip bitbucket` is
/// measured once Atlassian's ranges are read, when the desired state is built.
pub fn early_warnings(settings: &Settings) -> Vec<String> {
    let many = settings.roles.len() > 1;
    settings
        .roles
        .iter()
        .filter(|role| {
            !role
                .source_ips
                .contains(&crate::config::SourceIp::Bitbucket)
        })
        .filter_map(|role| {
            let w = warning(estimated_trust_policy_size(settings, role))?;
            Some(if many {
                format!("role {}: {w}", role.name)
            } else {
                w
            })
        })
        .collect()
}

/// The warning for a trust policy over the default quota, or None.
pub fn warning(size: usize) -> Option<String> {
    (size > TRUST_POLICY_DEFAULT_CHARS).then(|| {
        format!(
            "the trust policy is about {size} characters, over IAM's default quota of {TRUST_POLICY_DEFAULT_CHARS}: creating or updating the role fails unless the account's adjustable IAM quota 'Role trust policy length' is at least {size}; request an increase (up to {TRUST_POLICY_MAX_CHARS}) in the Service Quotas console under AWS Identity and Access Management (IAM), or with `aws service-quotas request-service-quota-increase --service-code iam` (its quota code: `aws service-quotas list-service-quotas --service-code iam`)"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warning_above_the_default_and_refusal_above_the_maximum() {
        assert_eq!(warning(2048), None);
        let w = warning(2049).unwrap();
        assert!(
            w.contains("'Role trust policy length'") && w.contains("8192"),
            "{w}"
        );
        assert!(refuse_over_maximum(8192, "x").is_ok());
        let e = refuse_over_maximum(8193, "40 repositories").unwrap_err();
        assert_eq!(e.exit_code(), 64);
        assert!(e.message.contains("at most 8192"), "{}", e.message);
    }

    fn settings(repositories: usize) -> Settings {
        Settings::from_inputs(crate::config::Inputs {
            workspace: Some("acme".into()),
            workspace_uuid: Some("11111111-2222-3333-4444-555555555555".into()),
            repository_uuid: (0..repositories)
                .map(|n| format!("{{{n:08x}-2222-3333-4444-555555555555}}"))
                .collect(),
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn settings_whose_trust_policy_no_account_accepts_are_refused() {
        check_trust_inputs(&settings(1)).unwrap();
        let many = settings(200);
        many.require_trust_inputs().unwrap();
        assert!(estimated_trust_policy_size(&many, &many.roles[0]) > TRUST_POLICY_MAX_CHARS);
        let e = check_trust_inputs(&many).unwrap_err();
        assert_eq!(e.exit_code(), 64);
        assert!(
            e.message
                .contains("(200 repositories x 1 environments, 0 source ranges)"),
            "{}",
            e.message
        );
    }

    /// The most `sub` patterns a role's trust policy holds within the default quota, for
    /// the workspace `slug`, with `environments` environments per repository (0: none).
    fn patterns_within_default_quota(slug: &str, environments: usize) -> usize {
        let fits = |repositories: usize| {
            let s = Settings::from_inputs(crate::config::Inputs {
                workspace: Some(slug.into()),
                workspace_uuid: Some("11111111-2222-3333-4444-555555555555".into()),
                repository_uuid: (0..repositories)
                    .map(|n| format!("{{{n:08x}-2222-3333-4444-555555555555}}"))
                    .collect(),
                environment_uuid: (0..environments)
                    .map(|n| format!("{{{n:08x}-6666-7777-8888-999999999999}}"))
                    .collect(),
                ..Default::default()
            })
            .unwrap();
            estimated_trust_policy_size(&s, &s.roles[0]) <= TRUST_POLICY_DEFAULT_CHARS
        };
        let repositories = (1..200).take_while(|n| fits(*n)).last().unwrap_or(0);
        repositories * environments.max(1)
    }

    /// The figures docs/many-roles.md gives, with the default audience and no source ranges:
    /// 35 repositories per role at the default quota (33 with a 25-character workspace slug),
    /// 18 repository-environment pairs (their patterns are twice as long).
    #[test]
    fn sub_patterns_within_the_default_quota() {
        let measured = [
            patterns_within_default_quota("acme", 0),
            patterns_within_default_quota("acme-platform-engineering", 0),
            patterns_within_default_quota("acme", 1),
            patterns_within_default_quota("acme", 2),
        ];
        assert_eq!(measured, [35, 33, 18, 18]);
    }
}
