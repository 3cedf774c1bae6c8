//! Parsers for every kind of input value. Each returns the normalised value or a usage error
//! that says what is wrong and what is accepted. None of them panics on any input.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::error::{Error, Result};

const BITBUCKET_API: &str = "https://api.bitbucket.org/2.0/workspaces";

fn bad(flag: &str, value: &str, what: &str) -> Error {
    Error::usage(format!("{flag} {value:?}: {what}"))
}

/// Shorten user input for messages, so a pasted megabyte does not become the error line.
pub fn shown(value: &str) -> String {
    let mut s: String = value.chars().take(80).collect();
    if value.chars().count() > 80 {
        s.push('…');
    }
    s
}

/// A Bitbucket workspace slug: lowercase letters, digits, `-` and `_`.
pub fn workspace_slug(value: &str) -> Result<String> {
    let ok = !value.is_empty()
        && value.len() <= 62
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(value.to_string())
    } else {
        Err(bad(
            "--workspace",
            &shown(value),
            "a workspace slug is 1 to 62 lowercase letters, digits, '-' or '_' (the part after bitbucket.org/ in your workspace URL)",
        ))
    }
}

/// The issuer URL for a Bitbucket workspace.
pub fn bitbucket_issuer(slug: &str) -> String {
    format!("{BITBUCKET_API}/{slug}/pipelines-config/identity/oidc")
}

/// An OIDC issuer URL: https, a host, no credentials, query or fragment; no trailing slash.
pub fn issuer_url(value: &str) -> Result<String> {
    let url = https_url("--issuer-url", value, true)?;
    let v = shown(value);
    if url.ends_with("/.well-known/openid-configuration") || url.ends_with("/keys.json") {
        return Err(bad(
            "--issuer-url",
            &v,
            "this is the discovery document or key set, not the issuer; pass the URL in front of /.well-known/openid-configuration",
        ));
    }
    if url.len() > 255 {
        return Err(bad(
            "--issuer-url",
            &v,
            "IAM accepts provider URLs of at most 255 characters",
        ));
    }
    Ok(url)
}

/// An https URL (used for the issuer and for `--ip-ranges-url`).
pub fn https_url(flag: &str, value: &str, strict: bool) -> Result<String> {
    let v = shown(value);
    let url = url::Url::parse(value).map_err(|e| bad(flag, &v, &format!("not a URL ({e})")))?;
    if url.scheme() != "https" {
        return Err(bad(
            flag,
            &v,
            "only https:// is accepted: OIDC documents and keys must come over verified TLS",
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad(flag, &v, "the URL has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(flag, &v, "credentials in the URL are not accepted"));
    }
    if strict && (url.query().is_some() || url.fragment().is_some()) {
        return Err(bad(
            flag,
            &v,
            "an issuer URL has no query (?...) or fragment (#...)",
        ));
    }
    let s = url.as_str().trim_end_matches('/').to_string();
    Ok(s)
}

/// An AWS endpoint override (`--endpoint-url`): http or https.
pub fn endpoint_url(value: &str) -> Result<String> {
    let v = shown(value);
    let url = url::Url::parse(value)
        .map_err(|e| bad("--endpoint-url", &v, &format!("not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(bad(
            "--endpoint-url",
            &v,
            "expected http(s)://host[:port], e.g. http://127.0.0.1:5000",
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// A Bitbucket UUID, with or without braces; returned lowercase with braces.
pub fn uuid(flag: &str, value: &str) -> Result<String> {
    let v = shown(value);
    let trimmed = value.trim();
    let inner = match (trimmed.strip_prefix('{'), trimmed.ends_with('}')) {
        (Some(rest), true) => &rest[..rest.len() - 1],
        (None, false) => trimmed,
        _ => return Err(bad(flag, &v, "unbalanced braces; write {UUID} or UUID")),
    };
    if inner.contains(['*', '?']) {
        return Err(bad(
            flag,
            &v,
            "wildcards are not accepted in a UUID: name each repository, or pass --allow-any-repository to drop the restriction deliberately",
        ));
    }
    let groups: Vec<&str> = inner.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    let ok = groups.len() == 5
        && groups
            .iter()
            .zip(lens)
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()));
    if !ok {
        return Err(bad(
            flag,
            &v,
            "expected a UUID like {a1b2c3d4-e5f6-7890-abcd-ef1234567890} (braces optional); find it under Repository settings > OpenID Connect",
        ));
    }
    Ok(format!("{{{}}}", inner.to_ascii_lowercase()))
}

/// A UUID without braces (the workspace UUID inside the default audience).
pub fn uuid_bare(flag: &str, value: &str) -> Result<String> {
    let braced = uuid(flag, value)?;
    Ok(braced[1..braced.len() - 1].to_string())
}

/// An audience (IAM client ID): 1..=255 printable characters, no surrounding spaces.
pub fn audience(value: &str) -> Result<String> {
    if value.is_empty()
        || value.len() > 255
        || value.chars().any(|c| c.is_control())
        || value.trim() != value
    {
        return Err(bad(
            "--audience",
            &shown(value),
            "an audience is 1 to 255 printable characters without leading or trailing spaces",
        ));
    }
    Ok(value.to_string())
}

/// A source-IP CIDR for the trust policy. A bare address is taken as /32 (/128). The whole
/// internet is refused: it would be no restriction at all.
pub fn cidr(value: &str) -> Result<IpNet> {
    let v = shown(value);
    let net =
        match value.parse::<IpNet>() {
            Ok(n) => n,
            Err(_) => match value.parse::<IpAddr>() {
                Ok(ip) => IpNet::from(ip),
                Err(_) => return Err(bad(
                    "--source-ip",
                    &v,
                    "expected a CIDR like 203.0.113.0/24, a single address, or the word bitbucket",
                )),
            },
        };
    if effective_prefix_len(&net) == 0 {
        return Err(bad(
            "--source-ip",
            &v,
            "this matches every address, which is no restriction; leave --source-ip out instead",
        ));
    }
    Ok(net.trunc())
}

/// The prefix length that says how much of its address family a range covers: an
/// IPv4-mapped IPv6 range (`::ffff:0:0/96`) counts as the IPv4 range it maps.
pub fn effective_prefix_len(net: &IpNet) -> u8 {
    match net {
        IpNet::V4(n) => n.prefix_len(),
        IpNet::V6(n) => {
            let mapped = n.prefix_len() >= 96 && n.network().to_ipv4_mapped().is_some();
            if mapped {
                n.prefix_len() - 96
            } else {
                n.prefix_len()
            }
        }
    }
}

/// Whether a range is broad enough to deserve a warning (more than a /16 of IPv4 or a /32
/// of IPv6).
pub fn is_broad(net: &IpNet) -> bool {
    match net {
        IpNet::V4(_) => effective_prefix_len(net) < 16,
        IpNet::V6(n) if n.network().to_ipv4_mapped().is_some() && n.prefix_len() >= 96 => {
            effective_prefix_len(net) < 16
        }
        IpNet::V6(n) => n.prefix_len() < 32,
    }
}

/// IAM role name rules: 1..=64 of `[A-Za-z0-9+=,.@_-]`.
pub fn role_name(value: &str) -> Result<String> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
    if ok {
        Ok(value.to_string())
    } else {
        Err(bad(
            "--role-name",
            &shown(value),
            "a role name is 1 to 64 letters, digits and + = , . @ _ -",
        ))
    }
}

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

/// Whether a managed policy ARN is AWS's AdministratorAccess.
pub fn is_admin_policy(arn: &str) -> bool {
    arn.rsplit_once(":policy/").is_some_and(|(_, name)| {
        name == "AdministratorAccess" || name.ends_with("/AdministratorAccess")
    })
}

/// An S3 bucket name by S3's general-purpose bucket rules.
pub fn bucket_name(value: &str) -> Result<String> {
    let v = shown(value);
    let err = |what: &str| bad("--state-bucket", &v, what);
    if !(3..=63).contains(&value.len()) {
        return Err(err("a bucket name is 3 to 63 characters"));
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return Err(err(
            "a bucket name uses only lowercase letters, digits, '.' and '-'",
        ));
    }
    let first = value.as_bytes()[0];
    let last = value.as_bytes()[value.len() - 1];
    if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
        return Err(err("a bucket name starts and ends with a letter or digit"));
    }
    if value.contains("..") || value.contains(".-") || value.contains("-.") {
        return Err(err("a bucket name has no '..', '.-' or '-.'"));
    }
    if value.parse::<std::net::Ipv4Addr>().is_ok() {
        return Err(err("a bucket name cannot look like an IP address"));
    }
    for prefix in ["xn--", "sthree-", "amzn-s3-demo-"] {
        if value.starts_with(prefix) {
            return Err(err(&format!("a bucket name cannot start with {prefix}")));
        }
    }
    for suffix in ["-s3alias", "--ol-s3", "--x-s3", ".mrap", "--table-s3"] {
        if value.ends_with(suffix) {
            return Err(err(&format!("a bucket name cannot end with {suffix}")));
        }
    }
    if value.contains('.') {
        // Dots break virtual-hosted TLS for the bucket; S3 allows them but we don't need them.
        return Err(err(
            "dots in a state bucket name break TLS for virtual-hosted requests; use '-' instead",
        ));
    }
    Ok(value.to_string())
}

/// A DynamoDB table name: 3..=255 of `[A-Za-z0-9_.-]`.
pub fn table_name(value: &str) -> Result<String> {
    let ok = (3..=255).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if ok {
        Ok(value.to_string())
    } else {
        Err(bad(
            "--lock-table",
            &shown(value),
            "a table name is 3 to 255 letters, digits, '_', '.' or '-'",
        ))
    }
}

/// A KMS key ARN (or alias ARN) for bucket encryption.
pub fn kms_key(value: &str) -> Result<String> {
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    let id_ok = |id: &str| {
        if let Some(key) = id.strip_prefix("key/") {
            // A key id (UUID) or a multi-Region key id (mrk-<hex>).
            !key.is_empty()
                && key.len() <= 64
                && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        } else if let Some(alias) = id.strip_prefix("alias/") {
            !alias.is_empty()
                && alias.len() <= 250
                && !alias.starts_with("aws/")
                && alias
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/_-".contains(&b))
        } else {
            false
        }
    };
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && matches!(parts[1], "aws" | "aws-cn" | "aws-us-gov")
        && parts[2] == "kms"
        && region(parts[3]).is_ok()
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && id_ok(parts[5]);
    if ok {
        Ok(value.to_string())
    } else {
        Err(bad(
            "--kms-key",
            &shown(value),
            "expected a KMS key ARN like arn:aws:kms:eu-west-1:123456789012:key/<id>",
        ))
    }
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

/// A CloudFormation stack name.
pub fn stack_name(value: &str) -> Result<String> {
    let ok = !value.is_empty()
        && value.len() <= 128
        && value.as_bytes()[0].is_ascii_alphabetic()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok {
        Ok(value.to_string())
    } else {
        Err(bad(
            "--stack-name",
            &shown(value),
            "a stack name starts with a letter and has up to 128 letters, digits and '-'",
        ))
    }
}

/// A CloudFormation StackSet name (same rules as a stack name).
pub fn stackset_name(value: &str) -> Result<String> {
    stack_name(value).map_err(|_| {
        bad(
            "--stackset",
            &shown(value),
            "a StackSet name starts with a letter and has up to 128 letters, digits and '-'",
        )
    })
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

/// The key prefix for state objects inside the bucket.
pub fn key_prefix(value: &str) -> Result<String> {
    let ok = value.len() <= 512
        && !value.starts_with('/')
        && !value.contains("//")
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=".contains(c));
    if ok {
        Ok(value.trim_end_matches('/').to_string())
    } else {
        Err(bad(
            "--state-key-prefix",
            &shown(value),
            "a prefix uses letters, digits and - _ . / =, with no leading '/' or '//'",
        ))
    }
}

/// The region in a KMS key ARN (already validated by [`kms_key`]).
pub fn kms_key_region(arn: &str) -> Option<&str> {
    arn.split(':').nth(3)
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

/// A `--tag KEY=VALUE` pair.
pub fn tag_pair(value: &str) -> Result<(String, String)> {
    match value.split_once('=') {
        Some((k, v)) => tag(k, v).map(|()| (k.to_string(), v.to_string())),
        None => Err(bad("--tag", &shown(value), "expected KEY=VALUE")),
    }
}

/// Tag rules shared by IAM, S3 and DynamoDB.
pub fn tag(key: &str, value: &str) -> Result<()> {
    let allowed = |c: char| c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c);
    if key.is_empty() || key.chars().count() > 128 || !key.chars().all(allowed) {
        return Err(bad(
            "--tag",
            &shown(key),
            "a tag key is 1 to 128 letters, digits, spaces and _ . : / = + - @",
        ));
    }
    if key.to_ascii_lowercase().starts_with("aws:") {
        return Err(bad(
            "--tag",
            &shown(key),
            "tag keys starting with aws: are reserved by AWS",
        ));
    }
    if key == crate::model::MANAGED_BY_TAG.0 {
        return Err(bad(
            "--tag",
            &shown(key),
            "this key is set by bootstrap itself to recognise the resources it manages; choose another key",
        ));
    }
    if value.chars().count() > 256 || !value.chars().all(allowed) {
        return Err(bad(
            "--tag",
            &shown(value),
            "a tag value is up to 256 letters, digits, spaces and _ . : / = + - @",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_normalised_to_lowercase_with_braces() {
        let u = "A1B2C3D4-E5F6-7890-ABCD-EF1234567890";
        assert_eq!(
            uuid("--repository-uuid", u).unwrap(),
            "{a1b2c3d4-e5f6-7890-abcd-ef1234567890}"
        );
        assert_eq!(
            uuid("--repository-uuid", &format!("{{{u}}}")).unwrap(),
            "{a1b2c3d4-e5f6-7890-abcd-ef1234567890}"
        );
    }

    #[test]
    fn uuid_wildcards_and_junk_are_refused() {
        for bad in [
            "*",
            "{*}",
            "{a1b2c3d4-*}",
            "a1b2c3d4-e5f6-7890-abcd-ef123456789*",
            "",
            "{",
            "}",
            "{}x",
            "é",
        ] {
            assert!(uuid("--repository-uuid", bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn whole_internet_cidrs_are_refused() {
        assert!(cidr("0.0.0.0/0").is_err());
        assert!(cidr("::/0").is_err());
        assert_eq!(cidr("203.0.113.7").unwrap().to_string(), "203.0.113.7/32");
        assert_eq!(
            cidr("203.0.113.7/24").unwrap().to_string(),
            "203.0.113.0/24"
        );
    }

    #[test]
    fn bucket_rules() {
        assert!(bucket_name("tf-state-123").is_ok());
        for bad in [
            "ab",
            "Upper",
            "-x-y",
            "x-y-",
            "192.168.1.1",
            "xn--abc",
            "a..b",
            "with.dot",
            "abc-s3alias",
        ] {
            assert!(bucket_name(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn issuer_rules() {
        assert_eq!(
            issuer_url("https://example.com/oidc/").unwrap(),
            "https://example.com/oidc"
        );
        for bad in [
            "http://example.com",
            "https://example.com/?a=b",
            "https://example.com/#x",
            "https://u:p@example.com",
            "nope",
        ] {
            assert!(issuer_url(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn admin_policy_is_recognised() {
        assert!(is_admin_policy(
            "arn:aws:iam::aws:policy/AdministratorAccess"
        ));
        assert!(!is_admin_policy("arn:aws:iam::aws:policy/ReadOnlyAccess"));
    }
}
