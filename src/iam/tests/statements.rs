//! Principal, Action, Effect, policy structure, variables and the request context.

use super::*;
use crate::iam::pattern::{glob, wildcard_pieces};

// --- Principal, Action, Effect, structure -------------------------------------------

#[test]
fn explicit_deny_overrides_allow() {
    let p = json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Federated": PROVIDER},
             "Action": "sts:AssumeRoleWithWebIdentity",
             "Condition": {"StringLike": {key("sub"): "{r}:*"}}},
            {"Sid": "NoEnvX", "Effect": "Deny", "Principal": "*", "Action": "sts:*",
             "Condition": {"StringLike": {key("sub"): "{r}:{env-x}:*"}}}
        ]
    });
    let ok = evaluate(&p, &request("{r}:{env-y}:{s}"));
    assert!(ok.allowed, "{}", ok.reason);
    let e = evaluate(&p, &request("{r}:{env-x}:{s}"));
    assert!(!e.allowed);
    assert!(e.statements[0].applies && e.statements[1].applies);
    assert!(
        e.reason.contains("explicit Deny in statement `NoEnvX`"),
        "{}",
        e.reason
    );
}

#[test]
fn no_allow_statement_is_implicit_deny() {
    let p =
        json!({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole"}]});
    let e = evaluate(&p, &request("x"));
    assert!(!e.allowed);
    assert!(e.reason.contains("no Allow statement"), "{}", e.reason);
    let e = evaluate(&json!({"Statement": []}), &request("x"));
    assert!(!e.allowed);
    assert!(e.reason.contains("no Allow statement"));
}

#[test]
fn wrong_federated_principal() {
    let p = json!({"Statement": {"Effect": "Allow",
        "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},
        "Action": "sts:AssumeRoleWithWebIdentity"}});
    let e = evaluate(&p, &request("x"));
    assert!(!e.allowed);
    assert!(!e.statements[0].principal_matched);
    assert!(
        e.reason.contains("does not trust this token's provider"),
        "{}",
        e.reason
    );
    assert!(e.reason.contains(PROVIDER));
}

#[test]
fn principal_forms() {
    let mk = |principal: Value| {
        json!({"Statement": {"Effect": "Allow", "Principal": principal,
            "Action": "sts:AssumeRoleWithWebIdentity"}})
    };
    let r = request("x");
    assert!(evaluate(&mk(json!("*")), &r).allowed);
    assert!(evaluate(&mk(json!({"AWS": "*"})), &r).allowed);
    assert!(evaluate(&mk(json!({"Federated": ["arn:other", PROVIDER]})), &r).allowed);
    assert!(!evaluate(&mk(json!({"Service": "ec2.amazonaws.com"})), &r).allowed);
    assert!(!evaluate(&mk(json!({"AWS": "arn:aws:iam::123456789012:root"})), &r).allowed);
    let upper = evaluate(&mk(json!({"Federated": PROVIDER.to_uppercase()})), &r);
    assert!(!upper.allowed);
    assert!(upper.reason.contains("letter case"), "{}", upper.reason);
    let np = json!({"Statement": {"Effect": "Allow", "NotPrincipal": {"AWS": "x"},
        "Action": "sts:AssumeRoleWithWebIdentity"}});
    let e = evaluate(&np, &r);
    assert!(!e.allowed);
    assert!(e.statements[0].notes[0].contains("NotPrincipal with Allow is not supported"));
}

#[test]
fn wrong_action() {
    let p = json!({"Statement": [{"Effect": "Allow", "Principal": {"Federated": PROVIDER},
        "Action": "sts:AssumeRole"}]});
    let e = evaluate(&p, &request("x"));
    assert!(!e.allowed);
    assert!(!e.statements[0].action_matched);
    assert!(
        e.reason
            .contains("does not cover `sts:AssumeRoleWithWebIdentity`"),
        "{}",
        e.reason
    );
}

#[test]
fn action_wildcards_and_case() {
    let mk = |action: Value| json!({"Statement": {"Effect": "Allow", "Principal": {"Federated": PROVIDER}, "Action": action}});
    let r = request("x");
    for a in [
        json!("sts:*"),
        json!("*"),
        json!("STS:assumerolewithwebidentity"),
        json!("sts:AssumeRoleWith*"),
        json!(["s3:GetObject", "sts:AssumeRoleWith?ebIdentity"]),
    ] {
        assert!(evaluate(&mk(a.clone()), &r).allowed, "{a}");
    }
    assert!(!evaluate(&mk(json!("sts:AssumeRole")), &r).allowed);
    assert!(!evaluate(&mk(json!("sts:TagSession")), &r).allowed);
    let not_action = json!({"Statement": {"Effect": "Allow", "Principal": {"Federated": PROVIDER},
        "NotAction": "s3:*"}});
    assert!(evaluate(&not_action, &r).allowed);
}

#[test]
fn statement_object_vs_array_are_equivalent() {
    let stmt = json!({"Effect": "Allow", "Principal": {"Federated": PROVIDER},
        "Action": ["sts:AssumeRoleWithWebIdentity"],
        "Condition": {"StringEquals": {key("aud"): AUD}}});
    let as_object = json!({"Version": "2012-10-17", "Statement": stmt.clone()});
    let as_array = json!({"Version": "2012-10-17", "Statement": [stmt]});
    let r = request("x");
    let a = evaluate(&as_object, &r);
    let b = evaluate(&as_array, &r);
    assert!(a.allowed && b.allowed);
    assert_eq!(a, b);
}

#[test]
fn policy_as_json_string() {
    let p = policy(json!({"StringEquals": {key("aud"): AUD}}));
    assert!(evaluate(&Value::String(p.to_string()), &request("x")).allowed);
}

#[test]
fn invalid_effect_and_structure() {
    let p = json!({"Statement": {"Effect": "allow", "Principal": "*", "Action": "*"}});
    let e = evaluate(&p, &request("x"));
    assert!(!e.allowed);
    assert!(e.statements[0].notes[0].contains("neither Allow nor Deny"));
    for bad in [
        json!(null),
        json!([]),
        json!({}),
        json!({"Statement": 5}),
        json!({"Statement": ["x"]}),
    ] {
        assert!(!evaluate(&bad, &request("x")).allowed, "{bad}");
    }
    let bad_condition = policy(json!("StringEquals"));
    assert!(!evaluate(&bad_condition, &request("x")).allowed);
    let bad_block = policy(json!({"StringEquals": "x"}));
    assert!(!evaluate(&bad_block, &request("x")).allowed);
}

#[test]
fn unsupported_operator_fails_with_note() {
    let c = json!({"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}});
    let e = evaluate(
        &policy(c),
        &request("x").with("aws:MultiFactorAuthAge", ["10"]),
    );
    assert!(!e.allowed);
    assert!(
        e.reason.contains("unsupported operator NumericLessThan"),
        "{}",
        e.reason
    );
    // Operator names are case-sensitive.
    let c = json!({"stringequals": {key("aud"): AUD}});
    assert!(!allowed(c, &request("x")));
    // Null takes no IfExists or set prefix.
    assert!(!allowed(
        json!({"NullIfExists": {key("x"): "true"}}),
        &request("x")
    ));
}

#[test]
fn unsupported_operator_in_deny_is_flagged_when_allowed() {
    let p = json!({"Statement": [
        {"Effect": "Allow", "Principal": {"Federated": PROVIDER}, "Action": "sts:AssumeRoleWithWebIdentity"},
        {"Sid": "D", "Effect": "Deny", "Principal": "*", "Action": "*",
         "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}}
    ]});
    let e = evaluate(&p, &request("x"));
    assert!(e.allowed);
    assert!(
        e.reason.contains("unsupported operator DateGreaterThan"),
        "{}",
        e.reason
    );
}

#[test]
fn closest_allow_is_reported() {
    let p = json!({"Statement": [
        {"Sid": "Other", "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"},
        {"Sid": "Bitbucket", "Effect": "Allow", "Principal": {"Federated": PROVIDER},
         "Action": "sts:AssumeRoleWithWebIdentity",
         "Condition": {"StringLike": {key("sub"): "{r}:*"}}}
    ]});
    let e = evaluate(&p, &request("{q}:{s}"));
    assert!(!e.allowed);
    assert!(
        e.reason.starts_with("condition StringLike on"),
        "{}",
        e.reason
    );
}

#[test]
fn policy_variables_and_escapes() {
    // ${*} is a literal star in 2012-10-17 policies.
    let c = json!({"StringLike": {key("sub"): "{r}:${*}"}});
    assert!(allowed(c.clone(), &request("{r}:*")));
    assert!(!allowed(c, &request("{r}:{s}")));
    // A variable takes the request's value.
    let c = json!({"StringEquals": {key("sub"): "${aws:username}"}});
    assert!(allowed(
        c.clone(),
        &request("bob").with("aws:username", ["bob"])
    ));
    let e = evaluate(&policy(c), &request("bob"));
    assert!(!e.allowed);
    assert!(only_condition(&e)
        .note
        .as_deref()
        .unwrap_or("")
        .contains("policy variable"));
    // Default value.
    let c = json!({"StringEquals": {key("sub"): "${aws:username, 'nobody'}"}});
    assert!(allowed(c, &request("nobody")));
    // Version 2008-10-17: no variables, `$` is literal.
    let old = json!({"Version": "2008-10-17", "Statement": {"Effect": "Allow",
        "Principal": {"Federated": PROVIDER}, "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {key("sub"): "${x}"}}}});
    assert!(evaluate(&old, &request("${x}")).allowed);
    // Unterminated `${` is literal.
    let c = json!({"StringEquals": {key("sub"): "a${b"}});
    assert!(allowed(c, &request("a${b")));
}

#[test]
fn from_claims_builds_iam_context() {
    let claims = json!({
        "aud": AUD, "sub": "{r}:{s}", "repositoryUuid": "{r}", "iss": "https://x"
    });
    let r = Request::from_claims(PROVIDER, claims.as_object().unwrap());
    assert_eq!(r.action, ASSUME_ROLE_WITH_WEB_IDENTITY);
    assert_eq!(r.context.get(&key("aud")), Some(&vec![AUD.to_string()]));
    assert_eq!(
        r.context.get(&key("sub")),
        Some(&vec!["{r}:{s}".to_string()])
    );
    // Custom claims cannot be used in IAM conditions.
    assert_eq!(r.context.len(), 2);
    assert_eq!(provider_key_prefix(PROVIDER), Some(P));
    assert_eq!(provider_key_prefix("arn:aws:iam::1:role/x"), None);
}

#[test]
fn results_serialize_to_json() {
    let e = evaluate(
        &policy(json!({"StringEquals": {key("aud"): AUD}})),
        &request("x"),
    );
    let v = serde_json::to_value(&e).unwrap();
    assert_eq!(v["allowed"], json!(true));
    assert_eq!(
        v["statements"][0]["conditions"][0]["operator"],
        json!("StringEquals")
    );
}

#[test]
fn glob_edge_cases() {
    let g = |p: &str, t: &str| glob(&wildcard_pieces(p), &t.chars().collect::<Vec<_>>());
    assert!(g("", ""));
    assert!(!g("", "a"));
    assert!(g("*", ""));
    assert!(g("**", "abc"));
    assert!(!g("?", ""));
    assert!(g("a*", "a"));
    assert!(!g("a*b", "a"));
    assert!(g("*b", "bbb"));
    assert!(g("é?", "éü"));
    // Pathological pattern stays fast.
    let long = "a".repeat(2000);
    assert!(!g(&format!("{}b", "*a".repeat(50)), &long));
}

#[test]
fn garbage_policies_never_panic() {
    let r = request("{r}:{s}").with("aws:SourceIp", ["::1", "x"]);
    let docs = [
        json!({"Statement": [{"Effect": "Allow", "Principal": {"Federated": [1, null, {}]},
            "Action": [null, 3], "Condition": {"StringLike": {"": [[], {}, null]}}}]}),
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "NotPrincipal": 5,
            "NotAction": {}, "Condition": {"ForAllValues:": {"k": "v"}, "IfExists": {"k": "v"},
            "ForAnyValue:IpAddressIfExists": {"aws:sourceip": ["::/0", "0.0.0.0/0", "/", "1.2.3.4/99"]}}}]}),
        json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": "*", "Action": "*",
            "Condition": {"StringLike": {"k": ["${", "${}", "${,}", "${a,'", "$${*}}", "}${?}{"]}}}}),
        json!({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "*",
            "Condition": {"Null": {"k": ["maybe", 1]}, "Bool": {"k": {}}}}}),
    ];
    for d in docs {
        let e = evaluate(&d, &r);
        let _ = serde_json::to_string(&e).unwrap();
    }
}
