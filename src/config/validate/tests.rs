//! Unit tests of the value parsers: UUIDs, CIDRs, bucket names, issuer URLs, audiences.

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
fn only_the_hyphenated_form_is_a_uuid() {
    // The other forms the uuid crate knows (simple, URN) are not what Bitbucket shows.
    for other in [
        "a1b2c3d4e5f67890abcdef1234567890",
        "urn:uuid:a1b2c3d4-e5f6-7890-abcd-ef1234567890",
        "{a1b2c3d4e5f67890abcdef1234567890}",
    ] {
        let e = uuid("--repository-uuid", other).unwrap_err();
        assert!(e.message.contains("expected a UUID like"), "{e}");
    }
    let e = uuid("--repository-uuid", "{a1b2c3d4-e5f6-7890-abcd-ef1234567890").unwrap_err();
    assert!(e.message.contains("unbalanced braces"), "{e}");
    assert_eq!(
        uuid_bare(
            "--workspace-uuid",
            " {A1B2C3D4-E5F6-7890-ABCD-EF1234567890} "
        )
        .unwrap(),
        "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
    );
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
fn audiences_stop_at_bitbucket_s_150_characters() {
    // Bitbucket caps each audience a step asks for at 150 characters: a longer one could
    // never appear in a token, although IAM would store it.
    assert!(audience(&"a".repeat(150)).is_ok());
    let err = audience(&"a".repeat(151)).unwrap_err();
    assert!(err.to_string().contains("1 to 150"), "{err}");
    // Characters, not bytes.
    assert!(audience(&"é".repeat(150)).is_ok());
    assert!(audience(&"é".repeat(151)).is_err());
}

#[test]
fn the_tool_s_own_tag_keys_are_refused() {
    // bootstrap-stack marks a stack's role for direct mode, bootstrap-state-prefix confines a
    // role's state: a --tag must not forge either.
    for key in [
        "managed-by",
        "bootstrap-version",
        "bootstrap-set",
        "bootstrap-stack",
        "bootstrap-state-prefix",
    ] {
        let err = super::tag(key, "x").unwrap_err();
        assert!(err.to_string().contains("set by bootstrap itself"), "{err}");
    }
    assert!(super::tag("team", "x").is_ok());
}
