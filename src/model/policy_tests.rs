//! Unit tests of the policy documents: trust policy rules, state access, comparison.

use super::*;
use crate::iam::{parse_document, same, statements_of};

fn trust() -> Value {
    trust_policy(&TrustInputs {
        issuer_host_path: "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc",
        provider_arn: json!("arn:aws:iam::123456789012:oidc-provider/api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc"),
        audiences: &["ari:cloud:bitbucket::workspace/1111".to_string()],
        repositories: &["{aaaa}".to_string(), "{bbbb}".to_string()],
        environments: &[],
        source_cidrs: &["203.0.113.0/24".parse().unwrap()],
    })
}

#[test]
fn trust_policy_restricts_audience_repository_and_ip() {
    let p = trust();
    let s = &p["Statement"][0];
    assert_eq!(s["Action"], "sts:AssumeRoleWithWebIdentity");
    let hp = "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc";
    assert_eq!(
        s["Condition"]["StringEquals"][format!("{hp}:aud")],
        "ari:cloud:bitbucket::workspace/1111"
    );
    assert_eq!(
        s["Condition"]["StringLike"][format!("{hp}:sub")],
        json!(["{aaaa}:*", "{bbbb}:*"])
    );
    assert_eq!(
        s["Condition"]["IpAddress"]["aws:SourceIp"],
        "203.0.113.0/24"
    );
    assert!(s["Condition"].get("ForAllValues:StringEquals").is_none());
}

fn rules(allow_any: bool) -> TrustRules<'static> {
    TrustRules {
        issuer_host_path: "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc",
        provider_arn: "arn:aws:iam::123456789012:oidc-provider/api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc",
        allow_any_repository: allow_any,
    }
}

fn sound() -> Value {
    let hp = "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc";
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": format!("arn:aws:iam::123456789012:oidc-provider/{hp}")},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {format!("{hp}:aud"): "ari:cloud:bitbucket::workspace/x"},
                "StringLike": {format!("{hp}:sub"): ["{0f6b3c1d-2222-4e5f-8a9b-abcdefabcdef}:*"]}
            }
        }]
    })
}

#[test]
fn a_sound_trust_policy_has_no_problems() {
    assert_eq!(
        trust_policy_problems(&sound(), &rules(false)),
        Vec::<String>::new()
    );
}

#[test]
fn trust_rule_breaches_are_each_reported() {
    let hp = "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc";
    let aud = format!("{hp}:aud");
    let sub = format!("{hp}:sub");
    let mut no_aud = sound();
    no_aud["Statement"][0]["Condition"]
        .as_object_mut()
        .unwrap()
        .remove("StringEquals");
    // ForAllValues alone passes a token without aud.
    let mut for_all = no_aud.clone();
    for_all["Statement"][0]["Condition"]["ForAllValues:StringEquals"] = json!({ aud.clone(): "x" });
    let mut no_sub = sound();
    no_sub["Statement"][0]["Condition"]
        .as_object_mut()
        .unwrap()
        .remove("StringLike");
    let mut star_sub = sound();
    star_sub["Statement"][0]["Condition"]["StringLike"] = json!({ sub.clone(): "*" });
    let mut wild_uuid = sound();
    wild_uuid["Statement"][0]["Condition"]["StringLike"] = json!({ sub.clone(): "{0f6b*}:*" });
    let mut any_principal = sound();
    any_principal["Statement"][0]["Principal"] = json!("*");
    let mut wide_action = sound();
    wide_action["Statement"][0]["Action"] = json!("sts:*");
    for (name, doc, expect) in [
        ("no aud", no_aud, "no StringEquals condition on"),
        ("ForAllValues aud", for_all, "true when the claim is absent"),
        ("no sub", no_sub, "no condition on"),
        ("sub *", star_sub, "does not name one repository"),
        ("wildcard uuid", wild_uuid, "does not name one repository"),
        (
            "principal *",
            any_principal,
            "principal other than the provider",
        ),
        (
            "sts:*",
            wide_action,
            "instead of only sts:AssumeRoleWithWebIdentity",
        ),
    ] {
        let problems = trust_policy_problems(&doc, &rules(false));
        assert!(
            problems.iter().any(|p| p.contains(expect)),
            "{name}: {problems:?}"
        );
    }
    let mut no_sub = sound();
    no_sub["Statement"][0]["Condition"]
        .as_object_mut()
        .unwrap()
        .remove("StringLike");
    assert!(trust_policy_problems(&no_sub, &rules(true)).is_empty());
}

#[test]
fn environments_narrow_sub() {
    assert_eq!(
        sub_patterns(&["{r}".into()], &["{e1}".into(), "{e2}".into()]),
        vec!["{r}:{e1}:*", "{r}:{e2}:*"]
    );
}

#[test]
fn url_encoded_reordered_document_is_the_same() {
    let p = trust();
    let mut reordered = p.clone();
    let subs = reordered["Statement"][0]["Condition"]["StringLike"]
        .as_object_mut()
        .unwrap();
    for v in subs.values_mut() {
        v.as_array_mut().unwrap().reverse();
    }
    reordered["Statement"][0]["Condition"]["IpAddress"]["aws:SourceIp"] = json!(["203.0.113.0/24"]);
    let encoded: String = percent_encoding::utf8_percent_encode(
        &reordered.to_string(),
        percent_encoding::NON_ALPHANUMERIC,
    )
    .collect();
    let parsed = parse_document(&encoded).unwrap();
    assert!(same(&p, &parsed));
    let mut changed = parsed;
    changed["Statement"][0]["Condition"]["StringLike"] = json!({});
    assert!(!same(&p, &changed));
}

#[test]
fn merge_keeps_foreign_statements_and_replaces_owned_ones() {
    let foreign = json!({"Sid": "AllowAuditRead", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"});
    let stale_owned = json!({"Sid": DENY_INSECURE_SID, "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "x"});
    let existing = json!({"Version": "2012-10-17", "Statement": [foreign.clone(), stale_owned]});
    let owned = deny_insecure_transport(json!("arn:aws:s3:::b"), json!("arn:aws:s3:::b/*"));
    let merged = merge_bucket_policy(Some(&existing), std::slice::from_ref(&owned));
    let stmts = statements_of(&merged);
    assert_eq!(stmts.len(), 2);
    assert_eq!(stmts[0], foreign);
    assert_eq!(stmts[1], owned);
}

#[test]
fn a_sub_value_names_a_repository_by_its_braced_uuid() {
    let uuid = "{6a3f1c2e-1111-4c9d-9a8b-0123456789ab}";
    assert!(sub_value_ok(&format!("{uuid}:*")));
    assert!(sub_value_ok(&format!("{}:{{env}}:*", uuid.to_uppercase())));
    for bad in [
        "*".to_string(),
        format!("{uuid}*"),
        uuid.trim_matches(|c| c == '{' || c == '}').to_string() + ":*",
        "{6a3f1c2e11114c9d9a8b0123456789ab}:*".to_string(),
        "{6a3f1c2e-1111-4c9d-9a8b-0123456789a*}:*".to_string(),
        "{urn:uuid:6a3f1c2e-1111-4c9d-9a8b-0123456789ab}:*".to_string(),
    ] {
        assert!(!sub_value_ok(&bad), "{bad}");
    }
}
