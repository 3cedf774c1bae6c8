//! Condition operators: strings, missing keys, IfExists, Null, set prefixes, IP and Bool.

use super::*;

// --- StringLike / StringEquals ---------------------------------------------------

#[test]
fn the_generated_policy_allows_its_repository() {
    let c = json!({
        "StringEquals": {key("aud"): AUD},
        "StringLike": {key("sub"): format!("{REPO}:*")}
    });
    let e = evaluate(&policy(c), &request("{aaaa-1111}:{step-1}"));
    assert!(e.allowed, "{}", e.reason);
    assert!(e.reason.starts_with("allowed by statement `Bitbucket`"));
    assert!(e.statements[0].applies);
    assert_eq!(e.statements[0].conditions.len(), 2);
}

#[test]
fn string_like_wildcard_no_match_names_values() {
    let c = json!({"StringLike": {key("sub"): format!("{REPO}:*")}});
    let e = evaluate(&policy(c), &request("{bbbb-2222}:{step-1}"));
    assert!(!e.allowed);
    assert_eq!(
        e.reason,
        format!(
            "condition StringLike on {} failed: `{{bbbb-2222}}:{{step-1}}` does not match `{{aaaa-1111}}:*`",
            key("sub")
        )
    );
    let c = only_condition(&e);
    assert_eq!(c.actual, vec!["{bbbb-2222}:{step-1}".to_string()]);
    assert_eq!(c.expected, vec!["{aaaa-1111}:*".to_string()]);
}

#[test]
fn string_like_star_matches_empty_and_across_colons() {
    let c = json!({"StringLike": {key("sub"): "{aaaa-1111}*"}});
    assert!(allowed(c.clone(), &request("{aaaa-1111}")));
    assert!(allowed(c, &request("{aaaa-1111}:{env}:{step}")));
}

#[test]
fn string_like_question_mark_is_exactly_one_char() {
    let c = json!({"StringLike": {key("sub"): "ab?d"}});
    assert!(allowed(c.clone(), &request("abcd")));
    assert!(!allowed(c.clone(), &request("abd")));
    assert!(!allowed(c, &request("abccd")));
}

#[test]
fn string_like_is_case_sensitive() {
    let c = json!({"StringLike": {key("sub"): "{AAAA-1111}:*"}});
    assert!(!allowed(c, &request("{aaaa-1111}:{s}")));
}

#[test]
fn string_like_backtracking() {
    let c = json!({"StringLike": {key("sub"): "*a*b*c"}});
    assert!(allowed(c.clone(), &request("xxaxxbxxbxxc")));
    assert!(!allowed(c, &request("xxaxxbxxcxxb")));
}

#[test]
fn string_equals_exact_and_case_sensitive() {
    let c = json!({"StringEquals": {key("aud"): AUD}});
    assert!(allowed(c.clone(), &request("x")));
    let upper = request("x").with(key("aud"), [AUD.to_uppercase()]);
    let e = evaluate(&policy(c), &upper);
    assert!(!e.allowed);
    assert!(e.reason.contains("case-sensitive"), "{}", e.reason);
}

#[test]
fn string_equals_treats_star_literally() {
    let c = json!({"StringEquals": {key("sub"): format!("{REPO}:*")}});
    assert!(!allowed(c.clone(), &request("{aaaa-1111}:{step}")));
    assert!(allowed(c, &request("{aaaa-1111}:*")));
}

#[test]
fn string_equals_ignore_case() {
    let c = json!({"StringEqualsIgnoreCase": {key("aud"): AUD.to_uppercase()}});
    assert!(allowed(c.clone(), &request("x")));
    let other = request("x").with(key("aud"), ["something-else"]);
    let e = evaluate(&policy(c), &other);
    assert!(!e.allowed);
    assert!(e.reason.contains("ignoring case"), "{}", e.reason);
}

#[test]
fn string_not_equals_and_ignore_case() {
    let c = json!({"StringNotEquals": {key("sub"): "blocked"}});
    assert!(allowed(c.clone(), &request("fine")));
    assert!(!allowed(c, &request("blocked")));
    let c = json!({"StringNotEqualsIgnoreCase": {key("sub"): "BLOCKED"}});
    assert!(!allowed(c.clone(), &request("blocked")));
    assert!(allowed(c, &request("other")));
}

#[test]
fn string_not_like() {
    let c = json!({"StringNotLike": {key("sub"): "{bad}:*"}});
    assert!(allowed(c.clone(), &request("{good}:{s}")));
    let e = evaluate(&policy(c), &request("{bad}:{s}"));
    assert!(!e.allowed);
    assert!(
        e.reason.contains("which this operator excludes"),
        "{}",
        e.reason
    );
}

#[test]
fn two_values_are_ored() {
    let c = json!({"StringLike": {key("sub"): ["{r1}:*", "{r2}:*"]}});
    assert!(allowed(c.clone(), &request("{r1}:{s}")));
    assert!(allowed(c.clone(), &request("{r2}:{s}")));
    let e = evaluate(&policy(c), &request("{r3}:{s}"));
    assert!(!e.allowed);
    assert!(
        e.reason.contains("any of `{r1}:*`, `{r2}:*`"),
        "{}",
        e.reason
    );
}

#[test]
fn negated_operator_with_two_values_is_nor() {
    let c = json!({"StringNotEquals": {key("sub"): ["a", "b"]}});
    assert!(!allowed(c.clone(), &request("a")));
    assert!(!allowed(c.clone(), &request("b")));
    assert!(allowed(c, &request("c")));
}

#[test]
fn two_keys_are_anded() {
    let c = json!({"StringEquals": {key("aud"): AUD, key("sub"): "{r}:{s}"}});
    assert!(allowed(c.clone(), &request("{r}:{s}")));
    let e = evaluate(&policy(c), &request("{r}:{other}"));
    assert!(!e.allowed);
    let conds = &e.statements[0].conditions;
    assert!(conds[0].passed && !conds[1].passed);
}

#[test]
fn two_operators_are_anded() {
    let c = json!({
        "StringEquals": {key("aud"): AUD},
        "StringLike": {key("sub"): "{r}:*"}
    });
    let wrong_aud = request("{r}:{s}").with(key("aud"), ["other"]);
    let e = evaluate(&policy(c), &wrong_aud);
    assert!(!e.allowed);
    assert!(
        e.reason.starts_with("condition StringEquals on"),
        "{}",
        e.reason
    );
}

#[test]
fn condition_keys_are_case_insensitive_values_are_not() {
    let c = json!({"StringEquals": {key("SUB").to_uppercase(): "{r}:{s}"}});
    assert!(allowed(c, &request("{r}:{s}")));
    let mixed = Request::web_identity(PROVIDER).with("AWS:SourceIP", ["10.0.0.1"]);
    let c = json!({"IpAddress": {"aws:sourceip": "10.0.0.0/8"}});
    assert!(allowed(c, &mixed));
}

// --- Missing keys, IfExists, Null, set operators ----------------------------------

#[test]
fn missing_key_fails_without_if_exists() {
    let c = json!({"StringEquals": {key("email"): "a@b.c"}});
    let e = evaluate(&policy(c), &request("x"));
    assert!(!e.allowed);
    assert!(e.reason.contains("the request has no"), "{}", e.reason);
}

#[test]
fn missing_key_passes_with_if_exists() {
    let c = json!({"StringEqualsIfExists": {key("email"): "a@b.c"}});
    assert!(allowed(c.clone(), &request("x")));
    // Present: evaluated normally.
    let with = request("x").with(key("email"), ["z@b.c"]);
    assert!(!allowed(c, &with));
}

#[test]
fn missing_key_with_negated_operator_passes() {
    // "If the policy condition requires that the key is not matched, such as StringNotLike
    // ..., and the right key is not present, the condition is true."
    let c = json!({"StringNotLike": {key("email"): "*@evil.example"}});
    assert!(allowed(c, &request("x")));
    let c = json!({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}});
    assert!(allowed(c, &request("x")));
}

#[test]
fn missing_key_with_wrong_prefix_gets_a_hint() {
    let c = json!({"StringLike": {"api.bitbucket.org/2.0/workspaces/other/pipelines-config/identity/oidc:sub": "{r}:*"}});
    let e = evaluate(&policy(c), &request("{r}:{s}"));
    assert!(!e.allowed);
    assert!(e.reason.contains("condition key prefix"), "{}", e.reason);
}

#[test]
fn for_all_values_with_missing_key_is_true() {
    let c = json!({"ForAllValues:StringEquals": {key("amr"): "authenticated"}});
    let e = evaluate(&policy(c), &request("x"));
    assert!(e.allowed);
    assert!(only_condition(&e)
        .note
        .as_deref()
        .unwrap_or("")
        .contains("ForAllValues"));
}

#[test]
fn for_all_values_requires_every_value() {
    let c = json!({"ForAllValues:StringEquals": {key("aud"): ["a", "b"]}});
    let subset = request("x").with(key("aud"), ["a", "b"]);
    assert!(allowed(c.clone(), &subset));
    let extra = request("x").with(key("aud"), ["a", "c"]);
    let e = evaluate(&policy(c), &extra);
    assert!(!e.allowed);
    assert!(e.reason.contains("`c`"), "{}", e.reason);
}

#[test]
fn for_any_value_with_missing_key_is_false() {
    let c = json!({"ForAnyValue:StringEquals": {key("amr"): "authenticated"}});
    let e = evaluate(&policy(c), &request("x"));
    assert!(!e.allowed);
    assert!(
        e.reason.contains("ForAnyValue needs at least one"),
        "{}",
        e.reason
    );
}

#[test]
fn for_any_value_needs_one_match() {
    let c = json!({"ForAnyValue:StringLike": {key("aud"): "ari:*"}});
    let r = request("x").with(key("aud"), ["zzz", "ari:cloud:x"]);
    assert!(allowed(c.clone(), &r));
    let r = request("x").with(key("aud"), ["zzz", "yyy"]);
    assert!(!allowed(c, &r));
}

#[test]
fn for_any_value_negated_operator() {
    // True when at least one request value matches none of the policy values.
    let c = json!({"ForAnyValue:StringNotEquals": {key("aud"): ["a", "b"]}});
    assert!(allowed(
        c.clone(),
        &request("x").with(key("aud"), ["a", "z"])
    ));
    assert!(!allowed(c, &request("x").with(key("aud"), ["a", "b"])));
}

#[test]
fn for_any_value_if_exists_with_missing_key_is_true() {
    let c = json!({"ForAnyValue:StringEqualsIfExists": {key("amr"): "x"}});
    assert!(allowed(c, &request("x")));
}

#[test]
fn null_true_and_false() {
    let absent = json!({"Null": {key("email"): "true"}});
    assert!(allowed(absent.clone(), &request("x")));
    let with_email = request("x").with(key("email"), ["a@b.c"]);
    let e = evaluate(&policy(absent), &with_email);
    assert!(!e.allowed);
    assert!(
        e.reason.contains("Null true requires it to be absent"),
        "{}",
        e.reason
    );

    let present = json!({"Null": {key("sub"): "false"}});
    assert!(allowed(present.clone(), &request("x")));
    let no_sub = Request::web_identity(PROVIDER);
    assert!(!allowed(present, &no_sub));
    // JSON boolean form.
    assert!(allowed(
        json!({"Null": {key("email"): true}}),
        &request("x")
    ));
    // Empty value list counts as absent.
    let empty = request("x").with(key("email"), Vec::<String>::new());
    assert!(allowed(json!({"Null": {key("email"): "true"}}), &empty));
}

#[test]
fn multivalued_key_without_set_operator_is_noted() {
    let c = json!({"StringEquals": {key("aud"): "b"}});
    let r = request("x").with(key("aud"), ["a", "b"]);
    let e = evaluate(&policy(c), &r);
    assert!(e.allowed);
    assert!(only_condition(&e)
        .note
        .as_deref()
        .unwrap_or("")
        .contains("several values"));
}

// --- IP addresses and Bool ---------------------------------------------------------

fn ip_request(ip: &str) -> Request {
    request("x").with("aws:SourceIp", [ip])
}

#[test]
fn ip_address_in_and_out() {
    let c = json!({"IpAddress": {"aws:SourceIp": ["34.199.54.113/32", "104.192.136.0/21"]}});
    assert!(allowed(c.clone(), &ip_request("34.199.54.113")));
    assert!(allowed(c.clone(), &ip_request("104.192.143.255")));
    let e = evaluate(&policy(c), &ip_request("104.192.144.0"));
    assert!(!e.allowed);
    assert!(
        e.reason.contains("source IP `104.192.144.0` is not in"),
        "{}",
        e.reason
    );
}

#[test]
fn ip_address_single_ip_and_host_bits() {
    assert!(allowed(
        json!({"IpAddress": {"aws:SourceIp": "203.0.113.7"}}),
        &ip_request("203.0.113.7")
    ));
    assert!(!allowed(
        json!({"IpAddress": {"aws:SourceIp": "203.0.113.7"}}),
        &ip_request("203.0.113.8")
    ));
    assert!(allowed(
        json!({"IpAddress": {"aws:SourceIp": "203.0.113.7/24"}}),
        &ip_request("203.0.113.200")
    ));
}

#[test]
fn ip_address_v6() {
    let c = json!({"IpAddress": {"aws:SourceIp": "2401:1d80:3000::/36"}});
    assert!(allowed(c.clone(), &ip_request("2401:1d80:3fff::1")));
    assert!(!allowed(c.clone(), &ip_request("2401:1d80:4000::1")));
    // v4 address against v6 block.
    assert!(!allowed(c, &ip_request("10.0.0.1")));
}

#[test]
fn not_ip_address() {
    let c = json!({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}});
    assert!(allowed(c.clone(), &ip_request("192.0.2.1")));
    let e = evaluate(&policy(c), &ip_request("10.1.2.3"));
    assert!(!e.allowed);
    assert!(e.reason.contains("NotIpAddress excludes"), "{}", e.reason);
}

#[test]
fn ip_address_garbage_does_not_match() {
    let c = json!({"IpAddress": {"aws:SourceIp": "not-a-cidr"}});
    let e = evaluate(&policy(c), &ip_request("10.0.0.1"));
    assert!(!e.allowed);
    assert!(only_condition(&e)
        .note
        .as_deref()
        .unwrap_or("")
        .contains("not a CIDR"));
    let c = json!({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}});
    let e = evaluate(&policy(c), &ip_request("localhost"));
    assert!(!e.allowed);
    assert!(e.reason.contains("not an IP address"), "{}", e.reason);
}

#[test]
fn bool_operator() {
    let c = json!({"Bool": {"aws:SecureTransport": "true"}});
    let r = |v: &str| request("x").with("aws:SecureTransport", [v]);
    assert!(allowed(c.clone(), &r("true")));
    assert!(!allowed(c.clone(), &r("false")));
    assert!(allowed(
        json!({"Bool": {"aws:SecureTransport": true}}),
        &r("true")
    ));
    assert!(!allowed(c.clone(), &request("x")));
    assert!(allowed(
        json!({"BoolIfExists": {"aws:SecureTransport": "true"}}),
        &request("x")
    ));
    assert!(!allowed(c, &r("yes")));
}
