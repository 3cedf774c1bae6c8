//! Property tests for the token and policy code in src/jwt and src/iam: JWT decoding never
//! panics, the trust-policy evaluator never panics, and the trust policy the model builds
//! admits exactly the named repositories (checked with the evaluator: what the conditions
//! stop).

use bootstrap::iam as evaluate;
use bootstrap::jwt;

use crate::strategies::*;
use bootstrap::model::policy;
use ipnet::IpNet;
use proptest::prelude::*;
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------
// Trust policies: what the conditions let in, checked with the evaluator

fn claims(aud: &str, sub: &str) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("aud".into(), json!(aud));
    m.insert("sub".into(), json!(sub));
    m
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_trust_policy_admits_exactly_the_named_repositories(
        repos in proptest::collection::vec(uuid(), 1..4),
        envs in proptest::collection::vec(uuid(), 0..3),
        other in uuid(),
        step in uuid(),
        aud in "[a-z0-9:/-]{1,40}",
        octets in any::<[u8; 3]>(),
    ) {
        let repos: Vec<String> = repos.iter().map(|r| format!("{{{}}}", r.to_ascii_lowercase())).collect();
        let envs: Vec<String> = envs.iter().map(|e| format!("{{{}}}", e.to_ascii_lowercase())).collect();
        let other = format!("{{{}}}", other.to_ascii_lowercase());
        prop_assume!(!repos.contains(&other));
        let step = format!("{{{}}}", step.to_ascii_lowercase());
        let hp = "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc";
        let arn = format!("arn:aws:iam::123456789012:oidc-provider/{hp}");
        let cidr: IpNet = format!("{}.{}.{}.0/24", octets[0], octets[1], octets[2]).parse().unwrap();
        let inside = format!("{}.{}.{}.77", octets[0], octets[1], octets[2]);
        let outside = format!("{}.{}.{}.77", octets[0], octets[1], octets[2].wrapping_add(1));
        let doc = policy::trust_policy(&policy::TrustInputs {
            issuer_host_path: hp,
            provider_arn: json!(arn),
            audiences: std::slice::from_ref(&aud),
            repositories: &repos,
            environments: &envs,
            source_cidrs: &[cidr],
        });
        let sub_for = |repo: &str| match envs.first() {
            Some(env) => format!("{repo}:{env}:{step}"),
            None => format!("{repo}:{step}"),
        };
        let ask = |aud: &str, sub: &str, ip: &str| {
            let req = evaluate::Request::from_claims(&arn, &claims(aud, sub)).with("aws:SourceIp", [ip]);
            evaluate::evaluate(&doc, &req).allowed
        };
        for repo in &repos {
            prop_assert!(ask(&aud, &sub_for(repo), &inside), "named repository refused");
            prop_assert!(!ask(&aud, &sub_for(repo), &outside), "outside the source range admitted");
            prop_assert!(!ask(&format!("{aud}x"), &sub_for(repo), &inside), "other audience admitted");
            if !envs.is_empty() {
                // A plain (non-deployment) step of the same repository.
                prop_assert!(!ask(&aud, &format!("{repo}:{step}"), &inside), "step outside the environments admitted");
            }
        }
        prop_assert!(!ask(&aud, &sub_for(&other), &inside), "other repository admitted");
        // A token without an audience claim.
        let req = evaluate::Request::web_identity(&arn)
            .with(format!("{hp}:sub"), [sub_for(&repos[0])])
            .with("aws:SourceIp", [inside.as_str()]);
        prop_assert!(!evaluate::evaluate(&doc, &req).allowed, "token without aud admitted");
    }
}

// ---------------------------------------------------------------------------------------
// JWT decoding (src/jwt)

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn token_part() -> impl Strategy<Value = String> {
    prop_oneof![
        json_value().prop_map(|v| b64(v.to_string().as_bytes())),
        any::<Vec<u8>>().prop_map(|b| b64(&b)),
        "[A-Za-z0-9_=+/-]{0,40}",
        messy(),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn jwt_decoding_is_total(s in messy()) {
        let _ = jwt::decode(&s);
        let _ = jwt::parse_jwks(&s);
    }

    #[test]
    fn jwt_decoding_of_token_shaped_input_is_total(
        parts in proptest::collection::vec(token_part(), 1..5),
        jwks in json_value(),
    ) {
        let token = parts.join(".");
        if let Ok(decoded) = jwt::decode(&token) {
            let _ = jwt::check_claims(&decoded.claims, "https://issuer", 1_700_000_000, 60);
            let _ = jwt::audiences(&decoded.claims);
            let _ = jwt::sub(&decoded.claims);
            let keys = jwt::parse_jwks(&json!({"keys": [jwks]}).to_string()).unwrap_or_default();
            let _ = jwt::verify_signature(&decoded, &keys);
            let req = evaluate::Request::from_claims("arn:aws:iam::1:oidc-provider/issuer", &decoded.claims);
            let _ = evaluate::evaluate(&json!({"Statement": []}), &req);
        }
    }

    #[test]
    fn a_header_and_claims_object_always_decode(header in json_value(), claims in json_value(), sig in any::<Vec<u8>>()) {
        let mut header = header;
        if let Value::Object(m) = &mut header {
            m.insert("alg".into(), json!("RS256"));
            m.remove("kid");
            m.remove("typ");
        } else {
            header = json!({"alg": "RS256"});
        }
        let claims = if claims.is_object() { claims } else { json!({"sub": claims}) };
        let token = format!("{}.{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()), b64(&sig));
        let decoded = jwt::decode(&token);
        prop_assert!(decoded.is_ok(), "{:?}", decoded.err());
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_evaluator_is_total(doc in json_value(), key in "\\PC{0,20}", values in proptest::collection::vec("\\PC{0,20}", 0..3)) {
        let arn = "arn:aws:iam::123456789012:oidc-provider/host/path";
        let _ = evaluate::evaluate(&doc, &evaluate::Request::web_identity(arn));
        let _ = evaluate::evaluate(&doc, &evaluate::Request::web_identity(arn).with(key, values));
    }
}
