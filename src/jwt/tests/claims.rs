//! Issuer and time claim checks and the claim readers.

use super::*;

#[test]
fn expired() {
    let mut c = claims();
    c["exp"] = json!(NOW - 300);
    c["iat"] = json!(NOW - 3900);
    let c = c.as_object().unwrap().clone();
    let p = check_claims(&c, ISS, NOW, 60);
    assert_eq!(
        p,
        vec![ClaimProblem::Expired {
            exp: NOW - 300,
            now: NOW,
            seconds_ago: 300
        }]
    );
    let msg = p[0].to_string();
    assert!(msg.contains("expired 300 seconds ago"), "{msg}");
    assert!(msg.contains("2023-11-14T22:08:20Z"), "{msg}");
    // Within leeway: fine.
    assert!(check_claims(&c, ISS, NOW - 300 + 59, 60).is_empty());
    // Exactly at exp with no leeway: expired.
    assert_eq!(check_claims(&c, ISS, NOW - 300, 0).len(), 1);
}

#[test]
fn missing_or_bad_exp() {
    let mut c = claims().as_object().unwrap().clone();
    c.remove("exp");
    assert_eq!(
        check_claims(&c, ISS, NOW, 60),
        vec![ClaimProblem::MissingExp]
    );
    c.insert("exp".into(), json!("tomorrow"));
    assert_eq!(
        check_claims(&c, ISS, NOW, 60),
        vec![ClaimProblem::InvalidTime { claim: "exp" }]
    );
    #[allow(clippy::cast_precision_loss, reason = "NOW is far below 2^52")]
    let fractional = (NOW + 100) as f64 + 0.5;
    c.insert("exp".into(), json!(fractional));
    assert!(check_claims(&c, ISS, NOW, 0).is_empty());
    c.insert("exp".into(), json!(1e300));
    assert!(check_claims(&c, ISS, NOW, 0).is_empty());
    c.insert("exp".into(), json!(i64::MIN));
    assert_eq!(check_claims(&c, ISS, i64::MAX, i64::MAX).len(), 1);
}

#[test]
fn not_yet_valid_and_future_iat() {
    let mut c = claims();
    c["nbf"] = json!(NOW + 600);
    c["iat"] = json!(NOW + 600);
    let c = c.as_object().unwrap().clone();
    let p = check_claims(&c, ISS, NOW, 60);
    assert_eq!(p.len(), 2);
    assert!(matches!(
        p[0],
        ClaimProblem::NotYetValid {
            seconds_ahead: 600,
            ..
        }
    ));
    assert!(matches!(
        p[1],
        ClaimProblem::IssuedInFuture {
            seconds_ahead: 600,
            ..
        }
    ));
    assert!(p[0].to_string().contains("clock"));
    // Within leeway: fine.
    assert!(check_claims(&c, ISS, NOW + 560, 60).is_empty());
}

#[test]
fn wrong_issuer() {
    let mut c = claims();
    c["iss"] =
        json!("https://api.bitbucket.org/2.0/workspaces/other/pipelines-config/identity/oidc");
    let c = c.as_object().unwrap().clone();
    let p = check_claims(&c, ISS, NOW, 60);
    assert_eq!(p.len(), 1);
    assert!(
        matches!(&p[0], ClaimProblem::WrongIssuer { actual: Some(a), .. } if a.contains("other"))
    );
    // Trailing slash is a different issuer.
    let mut c2 = claims();
    c2["iss"] = json!(format!("{ISS}/"));
    assert_eq!(check_claims(c2.as_object().unwrap(), ISS, NOW, 60).len(), 1);
    let mut c3 = claims().as_object().unwrap().clone();
    c3.remove("iss");
    assert!(matches!(
        check_claims(&c3, ISS, NOW, 60).first(),
        Some(ClaimProblem::WrongIssuer { actual: None, .. })
    ));
}

#[test]
fn claim_helpers() {
    let c = json!({
        "aud": ["a", 5, "b"],
        "sub": "{r}:{e}:{s}",
        "deploymentEnvironmentUuid": "{e}",
        "workspaceUuid": "{w}",
        "pipelineUuid": "{p}",
        "branchName": "main",
    });
    let c = c.as_object().unwrap();
    assert_eq!(audiences(c), vec!["a".to_string(), "b".to_string()]);
    assert_eq!(deployment_environment_uuid(c), Some("{e}"));
    assert_eq!(workspace_uuid(c), Some("{w}"));
    assert_eq!(pipeline_uuid(c), Some("{p}"));
    assert_eq!(branch_name(c), Some("main"));
    assert_eq!(repository_uuid(c), None);
    assert!(audiences(&Map::new()).is_empty());
}
