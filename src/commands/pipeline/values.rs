//! The values `pipeline` writes into bitbucket-pipelines.yml, checked for what Bitbucket
//! accepts before anything is written: a value that is refused here can never reach a YAML
//! key, a step or a shell line.

use crate::config::validate::shown;
use crate::error::{Error, Result};

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
