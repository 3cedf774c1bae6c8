use super::*;
use crate::config::Inputs;

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
    let issuer = s.issuer.as_ref().unwrap();
    assert_eq!(
        issuer.url,
        "https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc"
    );
    assert_eq!(
        issuer.host_path,
        "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc"
    );
    assert_eq!(
        s.audiences,
        vec!["ari:cloud:bitbucket::workspace/11111111-2222-3333-4444-555555555555"]
    );
    assert_eq!(
        s.repositories,
        vec!["{aaaaaaaa-2222-3333-4444-555555555555}"]
    );
    assert_eq!(s.max_session_duration, 3600);
    assert_eq!(s.lock_table.as_deref(), Some(DEFAULT_LOCK_TABLE));
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
