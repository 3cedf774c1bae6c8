//! The values `pipeline` writes into bitbucket-pipelines.yml, checked for what Bitbucket
//! accepts before anything is written: a value that is refused here can never reach a YAML
//! key, a step or a shell line.

use super::roles::{PipelineRoles, RoleChoice};
use crate::config::validate::shown;
use crate::config::{Access, RoleSettings, Settings};
use crate::error::{Error, Result};
use crate::model::audience;

/// The branch whose pipeline plans and applies, unless `--branch` names another.
pub(super) const DEFAULT_BRANCH: &str = "main";
/// Bitbucket accepts at most 10 audiences per step.
const MAX_STEP_AUDIENCES: usize = 10;

/// What shapes the pipeline beyond the desired state, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pipeline {
    /// The deployment environment plan and apply run in (`--deployment`).
    pub deployment: Option<String>,
    /// The branch (or glob) whose pipeline applies (`--branch`).
    pub branch: String,
    /// The audiences each step asks for: empty for the workspace default (`oidc: true`).
    pub custom_audiences: Vec<String>,
    /// The role accepts calls only from its source ranges: the steps run as 4x with
    /// Atlassian's IP ranges.
    pub ip_restricted: bool,
}

impl Pipeline {
    /// Check `--deployment` and `--branch` against the roles the pipeline is for, before any
    /// AWS call or file write.
    pub fn new(
        settings: &Settings,
        roles: &RoleChoice<'_>,
        deployment: Option<&str>,
        branch: Option<&str>,
    ) -> Result<Self> {
        let deployment = deployment.map(deployment_name).transpose()?;
        let branch = branch_pattern(branch.unwrap_or(DEFAULT_BRANCH))?;
        if deployment.is_none() {
            match roles {
                RoleChoice::One(role) if !role.environments.is_empty() => {
                    return Err(role_needs_deployment());
                }
                RoleChoice::PlanApply { .. } => return Err(apply_role_needs_deployment()),
                RoleChoice::One(_) => {}
            }
        }
        let custom_audiences = custom_audiences(&settings.trust.audiences);
        if custom_audiences.len() > MAX_STEP_AUDIENCES {
            return Err(Error::usage(format!(
                "{} custom audiences configured; a Bitbucket step asks for at most {MAX_STEP_AUDIENCES}",
                custom_audiences.len()
            ))
            .hint("pass fewer --audience values"));
        }
        Ok(Pipeline {
            deployment,
            branch,
            custom_audiences,
            // The plan step serves both roles of a pair, so it runs where either needs it.
            ip_restricted: roles.all().iter().any(|r| !r.source_ips.is_empty()),
        })
    }

    /// The pipeline's defaults for a provider trusting `audiences`: no deployment stage,
    /// the default branch, no IP restriction. `init` suggests a step from it.
    pub fn defaults(audiences: &[String]) -> Self {
        Pipeline {
            deployment: None,
            branch: DEFAULT_BRANCH.to_string(),
            custom_audiences: custom_audiences(audiences),
            ip_restricted: false,
        }
    }
}

/// `--deployment` missing for a role limited to deployment environments.
fn role_needs_deployment() -> Error {
    Error::usage(
        "the role only trusts deployment steps (--environment-uuid), so the plan and apply steps must run in a deployment environment",
    )
    .hint("pass --deployment NAME with the name of that environment (Repository settings > Deployments)")
}

/// `--deployment` missing for a plan/apply pair.
fn apply_role_needs_deployment() -> Error {
    Error::usage(
        "the apply role only trusts deployment steps, so its plan and apply steps run in a deployment stage, which needs the name of its environment",
    )
    .hint("pass --deployment NAME with the name of the environment the apply role is limited to (Repository settings > Deployments)")
}

/// The audiences a step must ask for: none (the workspace default) unless custom ones are
/// configured.
fn custom_audiences(audiences: &[String]) -> Vec<String> {
    audiences
        .iter()
        .filter(|a| audience::custom(std::slice::from_ref(a)))
        .cloned()
        .collect()
}

/// Without `--environment-uuid` the one role trusts every step of the repository, so the
/// first step of the default pipeline, on any branch, gets its credentials: an apply role's
/// can write the Terraform state, a cdk role's can deploy through the CDK bootstrap roles. A
/// plan role (alone, or a pair's), which every branch is meant to assume, can do neither.
pub fn any_branch_warning(chosen: &RoleChoice<'_>, roles: &PipelineRoles) -> Option<String> {
    let (RoleChoice::One(role), PipelineRoles::One { arn: role_arn }) = (chosen, roles) else {
        return None;
    };
    let (can, runs) = match role.access {
        Access::Apply => ("can write the Terraform state", "plans"),
        Access::Cdk => (
            "can deploy through the roles `cdk bootstrap` created",
            "runs `cdk diff`",
        ),
        Access::Plan => return None,
    };
    role.environments.is_empty().then(|| format!(
        "every branch can assume {role_arn}, which {can}: the default pipeline {runs} with it, and anyone who can push a branch can change bitbucket-pipelines.yml to run anything with it; restrict the role to a deployment environment with --environment-uuid UUID and --deployment NAME, and limit that environment to protected branches (docs/pipelines.md, \"Who can use the role\")"
    ))
}

/// A plan/apply pair whose roles trust different repositories: the pipeline runs in one
/// repository, so one of its roles is refused there (or it plans another repository's
/// state).
pub fn pair_trust_warning(chosen: &RoleChoice<'_>) -> Option<String> {
    let RoleChoice::PlanApply { plan, apply } = chosen else {
        return None;
    };
    let trusted = |r: &RoleSettings| {
        if r.allow_any_repository {
            "any repository".to_string()
        } else {
            r.repositories.join(", ")
        }
    };
    (!plan.same_repositories(apply)).then(|| format!(
        "the plan role {} trusts {} but the apply role {} trusts {}: a pipeline runs in one repository, so one of its roles will be refused there; give both roles the same repository-uuid",
        plan.name,
        trusted(plan),
        apply.name,
        trusted(apply)
    ))
}

/// Longest deployment environment name accepted.
const MAX_DEPLOYMENT_LEN: usize = 100;
/// Longest branch pattern accepted (git refuses longer ref names on most file systems).
const MAX_BRANCH_LEN: usize = 255;
/// Brace alternatives expanded when judging a branch pattern.
const MAX_ALTERNATIVES: usize = 64;

/// A Bitbucket deployment environment name: letters, digits, spaces, `-`, `_` and `.`,
/// starting with a letter or digit (as Bitbucket's environment names are), at most 100.
pub(super) fn deployment_name(value: &str) -> Result<String> {
    let v = value.trim();
    let ok = !v.is_empty()
        && v.chars().count() <= MAX_DEPLOYMENT_LEN
        && v.starts_with(|c: char| c.is_ascii_alphanumeric())
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.'));
    if ok {
        Ok(v.to_string())
    } else {
        Err(Error::usage(format!(
            "--deployment {:?}: expected the name of a Bitbucket deployment environment (letters, digits, spaces, - _ and ., at most {MAX_DEPLOYMENT_LEN}), e.g. Production",
            shown(value)
        ))
        .hint("use the environment's name as Repository settings > Deployments shows it"))
    }
}

/// Whether `c` may appear in a branch pattern: a conservative subset of git's ref-name
/// characters, plus Bitbucket's glob characters `*`, `?`, `{`, `,` and `}`.
fn branch_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '-' | '_' | '.' | '/' | '+' | '@' | '*' | '?' | '{' | '}' | ','
        )
}

/// The alternatives a `{a,b}` glob stands for, expanded (at most [`MAX_ALTERNATIVES`]).
fn alternatives(pattern: &str) -> std::result::Result<Vec<String>, &'static str> {
    let Some(open) = pattern.find('{') else {
        if pattern.contains(['}', ',']) {
            return Err("a } or , outside {...}");
        }
        return Ok(vec![pattern.to_string()]);
    };
    let (head, rest) = (&pattern[..open], &pattern[open + 1..]);
    let mut depth = 0usize;
    let mut parts = Vec::new();
    let mut start = 0;
    let mut close = None;
    for (i, c) in rest.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                parts.push(&rest[start..i]);
                close = Some(i);
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&rest[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    let close = close.ok_or("an unclosed {")?;
    let tail = &rest[close + 1..];
    let mut out = Vec::new();
    for part in parts {
        for expanded in alternatives(&format!("{head}{part}{tail}"))? {
            if out.len() >= MAX_ALTERNATIVES {
                return Err("too many {...} alternatives");
            }
            out.push(expanded);
        }
    }
    Ok(out)
}

/// Whether a glob alternative matches every branch (of some shape): nothing but `*`, `?`
/// and `/` in it, as in `*`, `**`, `**/*` or `?*`.
fn matches_every_branch(alternative: &str) -> bool {
    alternative.chars().all(|c| matches!(c, '*' | '?' | '/'))
}

/// A branch name or Bitbucket glob for the branch whose pipeline runs plan and apply. A
/// pattern that matches every branch is refused: any branch could then apply.
pub(super) fn branch_pattern(value: &str) -> Result<String> {
    let refuse = |why: &str| {
        Error::usage(format!("--branch {:?}: {why}", shown(value)))
            .hint("name the branch that may deploy, e.g. --branch main, or a narrow pattern such as release/*")
    };
    if value.is_empty() || value.len() > MAX_BRANCH_LEN {
        return Err(refuse(
            "expected a branch name like main (1 to 255 characters)",
        ));
    }
    if !value.chars().all(branch_char)
        || value.starts_with(['-', '/', '.'])
        || value.ends_with(['/', '.'])
        || value.contains("..")
        || value.contains("//")
    {
        return Err(refuse(
            "expected a branch name like main or a glob like release/*: letters, digits, - _ . / + @ and the glob characters * ? {a,b}",
        ));
    }
    let alts = alternatives(value).map_err(|e| refuse(&format!("bad glob: {e}")))?;
    if let Some(all) = alts.iter().find(|a| matches_every_branch(a)) {
        return Err(refuse(&format!(
            "the pattern {all:?} matches every branch, so every branch could run the apply step"
        )));
    }
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_names_are_what_bitbucket_accepts() {
        for ok in ["Production", "prod-eu_1", "Staging 2", "v1.2"] {
            assert_eq!(deployment_name(ok).unwrap(), ok);
        }
        for bad in [
            "",
            " ",
            "Prod$(touch x)",
            "Prod`id`",
            "Prod\"; rm -rf /",
            "Prod'x",
            "a\nb",
            "-prod",
            "Prod#x",
            "Prod: x",
            "Prödüction",
        ] {
            let e = deployment_name(bad).unwrap_err();
            assert!(
                e.message.starts_with("--deployment"),
                "{bad:?}: {}",
                e.message
            );
        }
        assert!(deployment_name(&"a".repeat(101)).is_err());
    }

    #[test]
    fn patterns_that_match_every_branch_are_refused() {
        for all in [
            "*",
            "**",
            "**/*",
            "*/**",
            "?*",
            "{main,**}",
            "{*}",
            "{release/*,{**}}",
        ] {
            let e = branch_pattern(all).unwrap_err();
            assert!(
                e.message.contains("matches every branch"),
                "{all:?}: {}",
                e.message
            );
        }
        for ok in [
            "main",
            "release/*",
            "release/**",
            "{main,develop}",
            "hotfix-?",
            "v1.*",
        ] {
            assert_eq!(branch_pattern(ok).unwrap(), ok);
        }
    }

    #[test]
    fn branch_patterns_hold_no_shell_or_yaml() {
        for bad in [
            "main$(id)",
            "ma`in",
            "main;x",
            "a b",
            "-main",
            "main:",
            "'main'",
            "\"main\"",
            "main\n",
            "a..b",
            "a//b",
            "{main",
            "main}",
            "a,b",
            "#main",
            "[ab]",
        ] {
            assert!(branch_pattern(bad).is_err(), "{bad:?} accepted");
        }
        let many = "{a,b}{c,d}{e,f}{g,h}{i,j}{k,l}{m,n}";
        assert!(branch_pattern(many).is_err());
    }
}
