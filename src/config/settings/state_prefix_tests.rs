//! Each role's state key prefix: defaults, explicit values, and prefixes shared across
//! repositories refused.

use crate::config::file::parse_file;
use crate::config::{Inputs, Settings};

const A: &str = "{aaaaaaaa-2222-3333-4444-555555555555}";
const B: &str = "{bbbbbbbb-2222-3333-4444-555555555555}";
const ENV: &str = "{eeeeeeee-2222-3333-4444-555555555555}";

fn base() -> Inputs {
    Inputs {
        workspace: Some("acme".into()),
        workspace_uuid: Some("11111111-2222-3333-4444-555555555555".into()),
        ..Default::default()
    }
}

/// The settings of a bootstrap.toml holding `file`.
fn from_file(file: &str) -> crate::error::Result<Settings> {
    let i = parse_file(file).expect("the file parses");
    Settings::from_inputs(i.overlay(base()))
}

fn prefixes(s: &Settings) -> Vec<(String, Option<String>)> {
    s.roles
        .iter()
        .map(|r| (r.name.clone(), r.state_key_prefix.clone()))
        .collect()
}

fn role(name: &str, access: &str, repo: &str, extra: &str) -> String {
    format!("[[role]]\nname = \"{name}\"\naccess = \"{access}\"\nrepository-uuid = [\"{repo}\"]\n{extra}\n")
}

#[test]
fn one_role_and_plan_apply_keep_the_top_level_prefix() {
    let mut i = base();
    i.repository_uuid = vec![A.into()];
    let s = Settings::from_inputs(i.clone()).unwrap();
    assert_eq!(
        prefixes(&s),
        [("bitbucket-pipelines-deploy".into(), Some(String::new()))]
    );
    i.plan_apply = Some(true);
    i.environment_uuid = vec![ENV.into()];
    i.state_key_prefix = Some("team".into());
    let s = Settings::from_inputs(i).unwrap();
    assert_eq!(
        prefixes(&s),
        [
            (
                "bitbucket-pipelines-deploy-plan".into(),
                Some("team".into())
            ),
            (
                "bitbucket-pipelines-deploy-apply".into(),
                Some("team".into())
            )
        ]
    );
}

#[test]
fn role_tables_default_to_the_pair_s_base_name_or_the_role_s_name() {
    let file = [
        role("infra-plan", "plan", A, ""),
        role(
            "infra-apply",
            "apply",
            A,
            &format!("environment-uuid = [\"{ENV}\"]"),
        ),
        role("web-plan", "plan", B, ""),
        role("app-cdk", "cdk", B, ""),
    ]
    .concat();
    let s = from_file(&file).unwrap();
    assert_eq!(
        prefixes(&s),
        [
            ("infra-plan".into(), Some("infra".into())),
            ("infra-apply".into(), Some("infra".into())),
            ("web-plan".into(), Some("web-plan".into())),
            ("app-cdk".into(), None),
        ]
    );
    // Under the top-level prefix when one is given.
    let s = from_file(&format!("state-key-prefix = \"org\"\n{file}")).unwrap();
    assert_eq!(s.roles[0].state_key_prefix.as_deref(), Some("org/infra"));
    assert_eq!(s.roles[2].state_key_prefix.as_deref(), Some("org/web-plan"));
}

#[test]
fn a_pair_of_different_repositories_is_not_given_one_prefix() {
    let file = [
        role("x-plan", "plan", A, ""),
        role("x-apply", "apply", B, ""),
    ]
    .concat();
    let s = from_file(&file).unwrap();
    assert_eq!(
        prefixes(&s),
        [
            ("x-plan".into(), Some("x-plan".into())),
            ("x-apply".into(), Some("x-apply".into()))
        ]
    );
}

#[test]
fn an_explicit_prefix_is_taken_as_given() {
    let file = [
        role("a", "apply", A, "state-key-prefix = \"teams/a/\""),
        role("b", "plan", A, "state-key-prefix = \"teams/a\""),
    ]
    .concat();
    let s = from_file(&file).unwrap();
    assert_eq!(s.roles[0].state_key_prefix.as_deref(), Some("teams/a"));
    assert_eq!(s.roles[1].state_key_prefix.as_deref(), Some("teams/a"));
}

#[test]
fn prefixes_shared_across_repositories_are_refused_unless_both_are_explicit() {
    for (pa, pb) in [("shared", "shared"), ("team", "team/app"), ("", "x")] {
        // Asked for in both tables: accepted, and warned.
        let file = [
            role("a", "apply", A, &format!("state-key-prefix = \"{pa}\"")),
            role("b", "plan", B, &format!("state-key-prefix = \"{pb}\"")),
        ]
        .concat();
        let s = from_file(&file).unwrap();
        let w = s.warnings.join("\n");
        assert!(
            w.contains("roles a (") && w.contains("each can read the other's"),
            "{w}"
        );
        // The plan role's prefix left to its default (its name): refused.
        if pb.contains('/') {
            continue;
        }
        let file = [
            role(pb, "plan", B, ""),
            role("a", "apply", A, &format!("state-key-prefix = \"{pa}\"")),
        ]
        .concat();
        let e = from_file(&file).unwrap_err();
        assert_eq!(e.exit_code(), 64, "{e}");
        assert!(
            e.message.contains("trust different repositories"),
            "{pa} {pb}: {e}"
        );
    }
    // The default of a role named like another's prefix, too.
    let file = [
        role("infra", "apply", B, ""),
        role("infra-plan", "plan", A, ""),
        role("infra-apply", "apply", A, ""),
    ]
    .concat();
    assert!(from_file(&file).is_err());
    // Sibling prefixes are fine.
    let file = [
        role("a", "apply", A, "state-key-prefix = \"team/a\""),
        role("b", "apply", B, "state-key-prefix = \"team/ab\""),
    ]
    .concat();
    from_file(&file).unwrap();
}

#[test]
fn bad_prefixes_are_refused_naming_the_role() {
    let e = from_file(&role("c", "cdk", A, "state-key-prefix = \"x\"")).unwrap_err();
    assert!(e.message.contains("cdk role"), "{e}");
    let e = from_file(&role("a", "apply", A, "state-key-prefix = \"/x\"")).unwrap_err();
    assert!(e.to_string().contains("role a"), "{e}");
    let long = "p".repeat(300);
    let e = from_file(&role(
        "a",
        "apply",
        A,
        &format!("state-key-prefix = \"{long}\""),
    ))
    .unwrap_err();
    assert!(e.message.contains("at most 256"), "{e}");
    let e = from_file(&role("a@b", "apply", A, "")).unwrap_err();
    assert!(e.to_string().contains("set state-key-prefix"), "{e}");
}

#[test]
fn a_pair_by_repository_names_shares_a_prefix_only_when_it_names_the_same_repositories() {
    let named = |plan: &str, apply: &str| {
        from_file(&format!(
            "[[role]]\nname = \"infra-plan\"\naccess = \"plan\"\nrepository = [{plan}]\n\n[[role]]\nname = \"infra-apply\"\nrepository = [{apply}]\n"
        ))
        .unwrap()
    };
    // The names are resolved to UUIDs only later: the prefixes must already be the ones the
    // UUID form of the same roles gets.
    let same = named("\"infra\"", "\"infra\"");
    assert_eq!(
        prefixes(&same),
        [
            ("infra-plan".into(), Some("infra".into())),
            ("infra-apply".into(), Some("infra".into()))
        ]
    );
    let different = named("\"infra\", \"network\"", "\"infra\"");
    assert_eq!(
        prefixes(&different),
        [
            ("infra-plan".into(), Some("infra-plan".into())),
            ("infra-apply".into(), Some("infra-apply".into()))
        ]
    );
}
