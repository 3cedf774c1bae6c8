//! Names of the resources the tool creates: role, bucket, table, stack, key prefix, tags.

use crate::config::tags::{MANAGED_BY_TAG, SET_TAG, STACK_TAG, STATE_PREFIX_TAG, VERSION_TAG};
use crate::error::Result;

use super::{bad, shown};

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
    let own = [
        MANAGED_BY_TAG.0,
        VERSION_TAG.0,
        SET_TAG,
        STACK_TAG,
        STATE_PREFIX_TAG,
    ];
    if own.contains(&key) {
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
