//! Unit tests of [`Settings::from_inputs`]: defaults, guard rails, and the sample config file.

use super::*;
use crate::config::file::parse_file;
use crate::config::Mode;

fn base() -> Inputs {
    Inputs {
        workspace: Some("acme".into()),
        workspace_uuid: Some("11111111-2222-3333-4444-555555555555".into()),
        repository_uuid: vec!["{AAAAAAAA-2222-3333-4444-555555555555}".into()],
        ..Default::default()
    }
}

#[test]
fn defaults() {
    let s = Settings::from_inputs(base()).unwrap();
    let issuer = s.trust.issuer.as_ref().unwrap();
    assert_eq!(
        issuer.url,
        "https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc"
    );
    assert_eq!(
        issuer.host_path,
        "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc"
    );
    assert_eq!(
        s.trust.audiences,
        vec!["ari:cloud:bitbucket::workspace/11111111-2222-3333-4444-555555555555"]
    );
    assert_eq!(
        s.roles[0].repositories,
        vec!["{aaaaaaaa-2222-3333-4444-555555555555}"]
    );
    assert_eq!(s.roles[0].max_session_duration, 3600);
    assert_eq!(s.state.lock_table.as_deref(), Some("terraform-state-lock"));
    s.require_trust_inputs().unwrap();
}

#[test]
fn admin_needs_allow_admin() {
    let mut i = base();
    i.policy_arn = vec!["arn:aws:iam::aws:policy/AdministratorAccess".into()];
    let e = Settings::from_inputs(i.clone()).unwrap_err();
    assert!(e.to_string().contains("--allow-admin"), "{e}");
    i.allow_admin = Some(true);
    Settings::from_inputs(i).unwrap();
}

#[test]
fn missing_repository_is_refused_unless_explicit() {
    let mut i = base();
    i.repository_uuid.clear();
    let s = Settings::from_inputs(i.clone()).unwrap();
    let e = s.require_trust_inputs().unwrap_err();
    assert!(e.to_string().contains("--allow-any-repository"), "{e}");
    i.allow_any_repository = Some(true);
    Settings::from_inputs(i)
        .unwrap()
        .require_trust_inputs()
        .unwrap();
}

const SAMPLE: &str = include_str!("../../../examples/bootstrap.toml");

/// The sample with every `# key = value` line uncommented (prose lines stay comments).
fn sample_with_every_key() -> String {
    SAMPLE
        .lines()
        .map(|line| match line.strip_prefix("# ") {
            Some(rest)
                if rest.split_once(" = ").is_some_and(|(key, _)| {
                    !key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
                }) =>
            {
                rest
            }
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_sample_config_loads() {
    let inputs = parse_file(SAMPLE).unwrap();
    let s = Settings::from_inputs(inputs).unwrap();
    s.require_trust_inputs().unwrap();
    assert_eq!(s.aws.region.as_deref(), Some("eu-west-1"));
    assert_eq!(
        s.trust.issuer.unwrap().host_path.split('/').nth(3),
        Some("acme")
    );
    assert_eq!(s.roles[0].repositories.len(), 1);
    assert_eq!(
        s.state.tags.get("team").map(String::as_str),
        Some("platform")
    );
    assert!(
        s.roles[0].environments.is_empty(),
        "optional keys stay commented out"
    );
}

#[test]
fn every_key_the_sample_shows_commented_out_is_valid() {
    let text = sample_with_every_key();
    let i = parse_file(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    // The commented keys were all picked up ...
    assert!(!i.environment_uuid.is_empty() && !i.source_ip.is_empty());
    assert!(!i.audience.is_empty() && !i.policy_arn.is_empty());
    assert!(i.profile.is_some() && i.permissions_boundary.is_some());
    assert!(i.state_bucket.is_some() && i.state_key_prefix.is_some());
    assert!(i.kms_key.is_some() && i.mode.is_some() && i.stack_name.is_some());
    // ... and validate together.
    let s = Settings::from_inputs(i).unwrap();
    s.require_trust_inputs().unwrap();
    assert_eq!(s.deployment.mode, Mode::Cloudformation);
}

#[test]
fn flags_win_and_lists_replace() {
    let file = parse_file(
            "role-name = \"from-file\"\nrepository-uuid = [\"a\", \"b\"]\nregion = \"eu-west-1\"\n[tags]\nteam = \"x\"\n",
        )
        .unwrap();
    let flags = Inputs {
        role_name: Some("from-flag".into()),
        repository_uuid: vec!["c".into()],
        tags: Some([("env".to_string(), "prod".to_string())].into()),
        ..Default::default()
    };
    let merged = file.overlay(flags);
    assert_eq!(merged.role_name.as_deref(), Some("from-flag"));
    assert_eq!(merged.repository_uuid, vec!["c".to_string()]);
    assert_eq!(merged.region.as_deref(), Some("eu-west-1"));
    let tags = merged.tags.unwrap();
    assert_eq!(tags.get("team").map(String::as_str), Some("x"));
    assert_eq!(tags.get("env").map(String::as_str), Some("prod"));
}

#[test]
fn the_defaults_lie_under_the_file_and_the_flags() {
    let s = Settings::from_inputs(base()).unwrap();
    assert_eq!(
        (
            s.state.noncurrent_days,
            s.timeout.as_secs(),
            s.deployment.stack_name.as_str()
        ),
        (90, 10, "bitbucket-oidc-bootstrap")
    );
    let file =
        parse_file("noncurrent-days = 30\n[[role]]\nname = \"a\"\nallow-any-repository = true\n")
            .unwrap();
    let s = Settings::from_inputs(file.overlay(base_without_role())).unwrap();
    assert_eq!(s.state.noncurrent_days, 30);
    assert_eq!(
        s.roles[0].max_session_duration, 3600,
        "a [[role]] table's default"
    );
    // A default is no setting given: it neither collides with --no-lock-table nor counts as
    // a top-level role setting beside [[role]] tables.
    let s = Settings::from_inputs(Inputs {
        no_lock_table: Some(true),
        ..base()
    })
    .unwrap();
    assert_eq!(s.state.lock_table, None);
}

fn base_without_role() -> Inputs {
    Inputs {
        repository_uuid: Vec::new(),
        ..base()
    }
}
