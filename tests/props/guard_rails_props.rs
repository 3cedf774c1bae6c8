//! Property tests (proptest) for everything that reads untrusted input: the config-file
//! parser and Settings validation, every value parser, and the policy canonicalisation and
//! trust rules. Two kinds of property:
//!
//! * no panic, whatever the input (arbitrary strings, arbitrary JSON, arbitrary TOML);
//! * what an accepted value guarantees, checked independently of the parser.
//!
//! The JWT decoder and the trust-policy evaluator are in guard_rails_verify_props.rs.
//! Cases per property: `PROPTEST_CASES` (default 1000). docs/security.md records a run.

use crate::strategies::*;
use bootstrap::config::validate as v;
use bootstrap::config::{parse_file, Settings};
use bootstrap::iam;
use bootstrap::model::policy;
use bootstrap::model::{self, Account};
use proptest::prelude::*;
use serde_json::json;

fn account() -> Account {
    Account {
        id: "123456789012".into(),
        partition: "aws".into(),
        region: "eu-west-1".into(),
    }
}

// ---------------------------------------------------------------------------------------
// Value parsers

proptest! {
    #![proptest_config(config())]

    #[test]
    fn every_value_parser_is_total(s in messy()) {
        // None of these may panic, whatever the input.
        let _ = v::uuid("--repository-uuid", &s);
        let _ = v::uuid_bare("--workspace-uuid", &s);
        let _ = v::audience(&s);
        let _ = v::cidr(&s);
        let _ = v::role_name(&s);
        let _ = v::policy_arn("--policy-arn", &s);
        let _ = v::bucket_name(&s);
        let _ = v::table_name(&s);
        let _ = v::kms_key(&s);
        let _ = v::region(&s);
        let _ = v::stack_name(&s);
        let _ = v::key_prefix(&s);
        let _ = v::tag_pair(&s);
        let _ = v::tag(&s, &s);
        let _ = v::issuer_url(&s);
        let _ = v::https_url("--ip-ranges-url", &s, false);
        let _ = v::endpoint_url(&s);
        let _ = v::workspace_slug(&s);
        let _ = v::profile(&s);
        let _ = model::admin::is_admin_policy_arn(&s);
        let _ = v::shown(&s);
    }

    #[test]
    fn an_accepted_uuid_is_braced_lowercase_hex_and_stable(s in uuidish()) {
        if let Ok(u) = v::uuid("--repository-uuid", &s) {
            prop_assert!(!s.contains('*') && !s.contains('?'));
            let inner = u.strip_prefix('{').and_then(|r| r.strip_suffix('}'));
            prop_assert!(inner.is_some(), "{u}");
            let groups: Vec<&str> = inner.unwrap_or_default().split('-').collect();
            prop_assert_eq!(groups.iter().map(|g| g.len()).collect::<Vec<_>>(), vec![8, 4, 4, 4, 12]);
            prop_assert!(groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))));
            prop_assert_eq!(v::uuid("--repository-uuid", &u).ok(), Some(u.clone()));
        }
    }

    #[test]
    fn every_well_formed_uuid_is_accepted_with_or_without_braces(u in uuid(), braces in any::<bool>()) {
        let input = if braces { format!("{{{u}}}") } else { u.clone() };
        let expected = format!("{{{}}}", u.to_ascii_lowercase());
        prop_assert_eq!(v::uuid("--repository-uuid", &input).ok(), Some(expected));
    }

    #[test]
    fn a_wildcard_anywhere_in_a_uuid_is_refused(u in uuid(), at in 0usize..36, w in prop::sample::select(vec!['*', '?'])) {
        let mut chars: Vec<char> = u.chars().collect();
        chars[at] = w;
        let s: String = chars.into_iter().collect();
        let braced = format!("{{{s}}}");
        let plain_refused = v::uuid("--repository-uuid", &s).is_err();
        let braced_refused = v::uuid("--repository-uuid", &braced).is_err();
        prop_assert!(plain_refused, "{}", s);
        prop_assert!(braced_refused, "{}", braced);
    }

    #[test]
    fn an_accepted_cidr_never_covers_a_whole_family(s in messy()) {
        if let Ok(net) = v::cidr(&s) {
            prop_assert!(v::effective_prefix_len(&net) > 0, "{net}");
            prop_assert_eq!(net, net.trunc());
        }
    }

    #[test]
    fn whole_internet_ranges_are_refused(a in any::<[u8; 4]>(), b in any::<[u16; 8]>()) {
        let v4 = format!("{}.{}.{}.{}/0", a[0], a[1], a[2], a[3]);
        prop_assert!(v::cidr(&v4).is_err(), "{v4}");
        let v6 = format!("{}/0", std::net::Ipv6Addr::from(b));
        prop_assert!(v::cidr(&v6).is_err(), "{v6}");
        let mapped = format!("::ffff:{}.{}.{}.{}/96", a[0], a[1], a[2], a[3]);
        prop_assert!(v::cidr(&mapped).is_err(), "{mapped}");
    }

    #[test]
    fn accepted_names_follow_aws_rules(s in messy()) {
        if let Ok(b) = v::bucket_name(&s) {
            prop_assert!((3..=63).contains(&b.len()));
            prop_assert!(b.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-'));
            prop_assert!(b.as_bytes()[0].is_ascii_alphanumeric() && b.as_bytes()[b.len() - 1].is_ascii_alphanumeric());
        }
        if let Ok(r) = v::role_name(&s) {
            prop_assert!((1..=64).contains(&r.len()));
            prop_assert!(r.bytes().all(|c| c.is_ascii_alphanumeric() || b"+=,.@_-".contains(&c)));
        }
        if let Ok(t) = v::table_name(&s) {
            prop_assert!((3..=255).contains(&t.len()));
            prop_assert!(t.bytes().all(|c| c.is_ascii_alphanumeric() || b"_.-".contains(&c)));
        }
        if let Ok(a) = v::audience(&s) {
            prop_assert!((1..=150).contains(&a.len()) && a.trim() == a);
        }
        if let Ok(u) = v::issuer_url(&s) {
            prop_assert!(u.starts_with("https://") && u.len() <= 255);
            prop_assert!(!u.contains('?') && !u.contains('#'), "{u}");
        }
        if let Ok(p) = v::policy_arn("--policy-arn", &s) {
            prop_assert!(p.starts_with("arn:aws") && p.contains(":iam::") && p.contains(":policy/"));
        }
        if let Ok((k, val)) = v::tag_pair(&s) {
            prop_assert!(!k.is_empty() && k.chars().count() <= 128 && val.chars().count() <= 256);
            prop_assert!(!k.to_ascii_lowercase().starts_with("aws:"));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Config file and Settings

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_config_parser_is_total_and_settings_never_panic(text in config_file()) {
        if let Ok(inputs) = parse_file(&text) {
            if let Ok(s) = Settings::from_inputs(inputs) {
                let _ = s.require_trust_inputs();
                let _ = s.trust_warnings();
            }
        }
    }

    #[test]
    fn unknown_keys_are_always_refused(key in "[a-z][a-z-]{0,20}", value in toml_value()) {
        prop_assume!(!CONFIG_KEYS[..CONFIG_KEYS.len() - 2].contains(&key.as_str()));
        let text = format!("{key} = {value}\n");
        prop_assert!(parse_file(&text).is_err(), "{text}");
    }

    #[test]
    fn accepted_settings_always_yield_a_sound_trust_policy(i in inputs()) {
        let Ok(s) = Settings::from_inputs(i) else { return Ok(()); };
        if s.require_trust_inputs().is_err() {
            return Ok(());
        }
        // The model re-checks its trust policy against the rules and fails with an
        // internal error if it is not sound; only a size refusal (exit 64) is acceptable.
        match model::desired(&s, &account(), &[], &[]) {
            Ok(d) => {
                let role = d.primary_role();
                let problems = policy::trust_policy_problems(&role.trust_policy, &policy::TrustRules {
                    issuer_host_path: &d.issuer_host_path,
                    provider_arn: &d.provider.arn,
                    allow_any_repository: role.allow_any_repository,
                });
                prop_assert!(problems.is_empty(), "{problems:?}");
            }
            Err(e) => prop_assert_eq!(e.exit_code(), 64, "{}", e),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Policy documents: canonicalisation and rule checks on arbitrary JSON

proptest! {
    #![proptest_config(config())]

    #[test]
    fn policy_functions_are_total(doc in json_value(), other in json_value()) {
        let rules = policy::TrustRules {
            issuer_host_path: "host/path",
            provider_arn: "arn:aws:iam::123456789012:oidc-provider/host/path",
            allow_any_repository: false,
        };
        let _ = policy::trust_policy_problems(&doc, &rules);
        let _ = model::admin::admin_statement(&doc);
        let _ = iam::statements_of(&doc);
        let _ = iam::same(&doc, &other);
        let merged = policy::merge_bucket_policy(Some(&doc), std::slice::from_ref(&other));
        // Foreign statements survive a merge (those without the owned Sid).
        let owned_sid = other.get("Sid").cloned();
        for st in iam::statements_of(&doc) {
            if st.get("Sid").is_none() || st.get("Sid") != owned_sid.as_ref() {
                prop_assert!(iam::statements_of(&merged).contains(&st));
            }
        }
    }

    #[test]
    fn canonicalisation_is_stable_and_equality_an_equivalence(doc in json_value(), other in json_value()) {
        let c = iam::canonical(&doc);
        prop_assert_eq!(iam::canonical(&c), c.clone(), "canonical is idempotent");
        prop_assert!(iam::same(&doc, &doc));
        prop_assert!(iam::same(&doc, &c));
        prop_assert_eq!(iam::same(&doc, &other), iam::same(&other, &doc));
    }

    #[test]
    fn statement_order_does_not_change_meaning(stmts in proptest::collection::vec(json_value(), 0..6), seed in any::<u64>()) {
        let doc = json!({"Version": "2012-10-17", "Statement": stmts.clone()});
        let mut shuffled = stmts;
        // A deterministic shuffle from the seed.
        let n = shuffled.len();
        for i in (1..n).rev() {
            let j = usize::try_from(seed.rotate_left(u32::try_from(i).unwrap()) % (i as u64 + 1))
                .unwrap();
            shuffled.swap(i, j);
        }
        let other = json!({"Version": "2012-10-17", "Statement": shuffled});
        prop_assert!(iam::same(&doc, &other));
    }

    #[test]
    fn a_document_survives_iam_url_encoding(doc in json_value_with(false)) {
        let text = doc.to_string();
        let encoded: String = percent_encoding::utf8_percent_encode(&text, percent_encoding::NON_ALPHANUMERIC).collect();
        prop_assert_eq!(iam::parse_document(&encoded), Some(doc.clone()));
        prop_assert_eq!(iam::parse_document(&text), Some(doc));
    }

    #[test]
    fn parse_document_is_total(s in messy()) {
        let _ = iam::parse_document(&s);
    }
}

// A single fixed check that the strategies reach the interesting parts, so a silently
// degenerate generator cannot make the properties above vacuous.
#[test]
fn generators_reach_accepting_paths() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut accepted_settings = 0;
    let mut accepted_uuids = 0;
    let mut parsed_configs = 0;
    for _ in 0..2000 {
        let i = inputs().new_tree(&mut runner).unwrap().current();
        if Settings::from_inputs(i).is_ok() {
            accepted_settings += 1;
        }
        let s = uuidish().new_tree(&mut runner).unwrap().current();
        if v::uuid("--repository-uuid", &s).is_ok() {
            accepted_uuids += 1;
        }
        let c = config_file().new_tree(&mut runner).unwrap().current();
        if parse_file(&c).is_ok() {
            parsed_configs += 1;
        }
    }
    eprintln!(
        "of 2000 generated each: {accepted_settings} Inputs accepted, {accepted_uuids} UUID strings accepted, {parsed_configs} config files parsed"
    );
    assert!(accepted_settings > 100, "{accepted_settings}");
    assert!(accepted_uuids > 200, "{accepted_uuids}");
    assert!(parsed_configs > 20, "{parsed_configs}");
}
