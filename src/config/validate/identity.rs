//! Identity values: the OIDC issuer, workspace, UUIDs, audiences and source CIDRs.

use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;
use uuid::fmt::{Braced, Hyphenated};
use uuid::Uuid;

use crate::error::Result;

use super::{bad, shown};

const BITBUCKET_API: &str = "https://api.bitbucket.org/2.0/workspaces";

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
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    if url.scheme() == "http" && !loopback {
        return Err(bad(
            "--endpoint-url",
            &v,
            "plain http is accepted only for this machine (127.0.0.1, ::1, localhost): every AWS call carries signed requests and the session token",
        )
        .hint("use an https:// endpoint; check --endpoint-url, endpoint-url in the configuration file and AWS_ENDPOINT_URL"));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// Why a wildcard is refused, in the terms of the flag that held it.
fn wildcard_message(flag: &str) -> &'static str {
    if flag.contains("environment") {
        "wildcards are not accepted in a UUID: name each deployment environment (Repository settings > Deployments), or leave --environment-uuid out to trust every step of the repositories"
    } else if flag.contains("workspace") {
        "wildcards are not accepted in a UUID: give your workspace's UUID (Repository settings > OpenID Connect shows it)"
    } else if flag.contains("repository") {
        "wildcards are not accepted in a UUID: name each repository, or pass --allow-any-repository to drop the restriction deliberately"
    } else {
        "wildcards are not accepted in a UUID: name each one"
    }
}

/// A Bitbucket UUID, with or without braces; returned lowercase with braces.
pub fn uuid(flag: &str, value: &str) -> Result<String> {
    parse_uuid(flag, value).map(|u| u.braced().to_string())
}

/// A UUID without braces (the workspace UUID inside the default audience).
pub fn uuid_bare(flag: &str, value: &str) -> Result<String> {
    parse_uuid(flag, value).map(|u| u.hyphenated().to_string())
}

/// The hyphenated form (`8-4-4-4-12` hex digits), braced or not, around any spaces.
fn parse_uuid(flag: &str, value: &str) -> Result<Uuid> {
    let v = shown(value);
    let trimmed = value.trim();
    let braced = match (trimmed.starts_with('{'), trimmed.ends_with('}')) {
        (true, true) => true,
        (false, false) => false,
        _ => return Err(bad(flag, &v, "unbalanced braces; write {UUID} or UUID")),
    };
    if trimmed.contains(['*', '?']) {
        return Err(bad(flag, &v, wildcard_message(flag)));
    }
    let parsed = if braced {
        Braced::from_str(trimmed).map(Braced::into_uuid)
    } else {
        Hyphenated::from_str(trimmed).map(Hyphenated::into_uuid)
    };
    parsed.map_err(|_| {
        bad(
            flag,
            &v,
            "expected a UUID like {a1b2c3d4-e5f6-7890-abcd-ef1234567890} (braces optional); find it under Repository settings > OpenID Connect",
        )
    })
}

/// The longest audience a Bitbucket step can ask for (`oidc: audiences:`); IAM itself takes
/// client IDs of up to 255 characters, but a longer one could never be in a token.
pub const MAX_AUDIENCE_CHARS: usize = 150;

/// An audience (IAM client ID): 1..=150 printable characters, no surrounding spaces.
pub fn audience(value: &str) -> Result<String> {
    if value.is_empty()
        || value.chars().count() > MAX_AUDIENCE_CHARS
        || value.chars().any(char::is_control)
        || value.trim() != value
    {
        return Err(bad(
            "--audience",
            &shown(value),
            "an audience is 1 to 150 printable characters without leading or trailing spaces (Bitbucket's limit for a step's audiences)",
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
