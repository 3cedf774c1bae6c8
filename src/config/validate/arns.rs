//! AWS identifiers: policy ARNs, regions, accounts, organizational units, profiles.

use crate::error::Result;

use super::{bad, shown};

/// An IAM managed policy ARN (`arn:aws:iam::aws:policy/...` or a customer policy).
pub fn policy_arn(flag: &str, value: &str) -> Result<String> {
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && matches!(parts[1], "aws" | "aws-cn" | "aws-us-gov")
        && parts[2] == "iam"
        && parts[3].is_empty()
        && (parts[4] == "aws"
            || (parts[4].len() == 12 && parts[4].bytes().all(|b| b.is_ascii_digit())))
        && parts[5]
            .strip_prefix("policy/")
            .is_some_and(policy_path_and_name_ok);
    if ok {
        Ok(value.to_string())
    } else {
        Err(bad(
            flag,
            &shown(value),
            "expected a managed policy ARN like arn:aws:iam::123456789012:policy/terraform-deploy (name: 1 to 128 letters, digits and + = , . @ _ -)",
        ))
    }
}

/// The AWS managed policies known to be administrator-equivalent, by name, with the action
/// each allows on every resource: flags and templates are judged by these without reading a
/// document.
const ADMIN_MANAGED_POLICIES: [(&str, &str); 2] =
    [("AdministratorAccess", "*"), ("IAMFullAccess", "iam:*")];

/// The action an AWS managed policy known to be administrator-equivalent allows on every
/// resource, when `arn` names one (`arn:aws:iam::aws:policy/[path/]NAME`).
pub fn admin_managed_policy_action(arn: &str) -> Option<&'static str> {
    let (_, path_and_name) = arn.rsplit_once(":aws:policy/")?;
    let name = path_and_name.rsplit('/').next()?;
    ADMIN_MANAGED_POLICIES
        .iter()
        .find(|(known, _)| *known == name)
        .map(|(_, action)| *action)
}

/// Whether `arn` names an AWS managed policy known to be administrator-equivalent.
pub fn is_admin_policy_arn(arn: &str) -> bool {
    admin_managed_policy_action(arn).is_some()
}

/// `path/name` after `policy/`: a path of `/`-separated segments (at most 512 characters) and
/// a name of 1..=128 `[A-Za-z0-9+=,.@_-]`.
fn policy_path_and_name_ok(rest: &str) -> bool {
    let name_char = |b: u8| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b);
    let (path, name) = match rest.rsplit_once('/') {
        Some((path, name)) => (path, name),
        None => ("", rest),
    };
    !name.is_empty()
        && name.len() <= 128
        && name.bytes().all(name_char)
        && path.len() <= 510
        && path.split('/').all(|seg| seg.bytes().all(name_char))
        && !path.contains("//")
}

/// An AWS region name such as `eu-west-1` or `us-gov-west-1`.
pub fn region(value: &str) -> Result<String> {
    let parts: Vec<&str> = value.split('-').collect();
    let ok = parts.len() >= 3
        && parts[0].len() == 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()));
    if ok {
        Ok(value.to_string())
    } else {
        Err(bad(
            "--region",
            &shown(value),
            "expected a region name like eu-west-1",
        ))
    }
}

/// A 12-digit AWS account id.
pub fn account_id(value: &str) -> Result<String> {
    let v = value.trim();
    if v.len() == 12 && v.bytes().all(|b| b.is_ascii_digit()) {
        Ok(v.to_string())
    } else {
        Err(bad(
            "--accounts",
            &shown(value),
            "an AWS account id is 12 digits, e.g. 123456789012",
        ))
    }
}

/// An AWS Organizations OU id (`ou-xxxx-xxxxxxxx`) or root id (`r-xxxx`).
pub fn org_unit(value: &str) -> Result<String> {
    let v = value.trim();
    let lower_alnum = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    let ok = if let Some(rest) = v.strip_prefix("ou-") {
        match rest.split_once('-') {
            Some((root, ou)) => {
                (4..=32).contains(&root.len())
                    && (8..=32).contains(&ou.len())
                    && lower_alnum(root)
                    && lower_alnum(ou)
            }
            None => false,
        }
    } else if let Some(root) = v.strip_prefix("r-") {
        (4..=32).contains(&root.len()) && lower_alnum(root)
    } else {
        false
    };
    if ok {
        Ok(v.to_string())
    } else {
        Err(bad(
            "--org-units",
            &shown(value),
            "expected an organizational unit id like ou-ab12-cd34ef56 (or a root id like r-ab12)",
        ))
    }
}

/// An AWS profile name: printable, no spaces (they cannot be written in the config file's
/// section headers unambiguously).
pub fn profile(value: &str) -> Result<String> {
    let ok = !value.is_empty()
        && value.len() <= 128
        && value.chars().all(|c| !c.is_control() && !c.is_whitespace());
    if ok {
        Ok(value.to_string())
    } else {
        Err(bad(
            "--profile",
            &shown(value),
            "a profile name is 1 to 128 characters without spaces, as in ~/.aws/config",
        ))
    }
}
