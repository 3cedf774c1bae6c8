//! Bitbucket API values: the API URL, repository slugs and deployment environment names.

use super::{bad, shown};
use crate::error::Result;

/// Bitbucket Cloud's REST API 2.0.
pub const DEFAULT_BITBUCKET_API_URL: &str = "https://api.bitbucket.org/2.0";

/// `--bitbucket-api-url`: https, or plain http only to this machine (a local test API); no
/// credentials, query or fragment in it. Returned without a trailing slash.
pub fn bitbucket_api_url(value: &str) -> Result<String> {
    let flag = "--bitbucket-api-url";
    let v = shown(value);
    let url = url::Url::parse(value).map_err(|e| bad(flag, &v, &format!("not a URL ({e})")))?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => return Err(bad(flag, &v, "the URL has no host")),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(bad(
                flag,
                &v,
                "plain http is accepted only for this machine (127.0.0.1, ::1, localhost): the Bitbucket credentials travel with every request",
            )
            .hint("use the https:// URL of the API (bitbucket-api-url in bootstrap.toml)"))
        }
        _ => return Err(bad(flag, &v, "expected https://host/path, e.g. https://api.bitbucket.org/2.0")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(flag, &v, "credentials in the URL are not accepted")
            .hint("put them in BITBUCKET_TOKEN, or BITBUCKET_EMAIL and BITBUCKET_API_TOKEN"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad(
            flag,
            &v,
            "the API URL has no query (?...) or fragment (#...)",
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// A repository slug (`repository = [...]`): letters, digits, `.`, `-` and `_`; Bitbucket
/// keeps slugs in lower case, so it is returned lower case.
pub fn repository_slug(value: &str) -> Result<String> {
    let ok = !value.is_empty()
        && value.len() <= 128
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok && value != "." && value != ".." {
        Ok(value.to_ascii_lowercase())
    } else {
        Err(bad(
            "repository",
            &shown(value),
            "a repository slug is 1 to 128 letters, digits, '.', '-' or '_' (the part after the workspace in the repository's URL)",
        )
        .hint("give the slug, e.g. repository = [\"infra\"], or its UUID in repository-uuid"))
    }
}

/// A deployment environment name (`environment = [...]`): as Bitbucket shows it, 1 to 100
/// characters, no control characters.
pub fn environment_name(value: &str) -> Result<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() || trimmed.chars().count() > 100 || trimmed.chars().any(char::is_control)
    {
        return Err(bad(
            "environment",
            &shown(value),
            "an environment name is 1 to 100 characters as Repository settings > Deployments shows it",
        ));
    }
    Ok(trimmed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_url_is_https_or_loopback_http_without_credentials() {
        assert_eq!(
            bitbucket_api_url("https://api.bitbucket.org/2.0/").unwrap(),
            "https://api.bitbucket.org/2.0"
        );
        assert!(bitbucket_api_url("http://127.0.0.1:8080/2.0").is_ok());
        assert!(bitbucket_api_url("http://localhost/2.0").is_ok());
        for bad in [
            "http://api.bitbucket.org/2.0",
            "ftp://api.bitbucket.org",
            "https://user:pw@api.bitbucket.org/2.0",
            "https://api.bitbucket.org/2.0?x=1",
            "not a url",
        ] {
            let e = bitbucket_api_url(bad).unwrap_err();
            assert!(e.message.starts_with("--bitbucket-api-url"), "{bad}: {e}");
        }
    }

    #[test]
    fn slugs_and_environment_names_are_what_bitbucket_shows() {
        assert_eq!(
            repository_slug("Platform-Network").unwrap(),
            "platform-network"
        );
        assert_eq!(repository_slug("infra.v2_x").unwrap(), "infra.v2_x");
        for bad in ["", "..", "a b", "a\"b", "a/b", &"x".repeat(129)] {
            assert!(repository_slug(bad).is_err(), "{bad:?}");
        }
        assert_eq!(environment_name(" Production ").unwrap(), "Production");
        assert!(environment_name("").is_err());
        assert!(environment_name("a\nb").is_err());
    }
}
