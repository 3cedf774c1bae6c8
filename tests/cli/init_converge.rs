//! Re-running `init` on a setup that changed: the issuer's certificates rotated, a provider
//! already full of thumbprints, out-of-band drift (reported by `status`, repaired by `init`,
//! foreign bucket-policy statements kept), a new audience, and two runs at once.

use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use serde_json::json;

use crate::common::aws::{policy_json, strings, Clients};
use crate::common::fixture::{World, BUCKET, REPO_UUID, ROLE};
use crate::common::pki::write_pem_file;
use crate::common::Test;
use crate::common::{resource, sha1_hex, Issuer, Pki, PkiOptions};

fn registered_thumbprints(w: &World, aws: &Clients) -> Vec<String> {
    aws.block_on(
        aws.iam
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(w.provider_arn())
            .send(),
    )
    .expect("the provider exists")
    .thumbprint_list()
    .to_vec()
}

fn set_thumbprints(w: &World, aws: &Clients, list: &[String]) {
    aws.block_on(
        aws.iam
            .update_open_id_connect_provider_thumbprint()
            .open_id_connect_provider_arn(w.provider_arn())
            .set_thumbprint_list(Some(list.to_vec()))
            .send(),
    )
    .expect("update thumbprints out of band");
}

#[test]
fn rotation_registers_the_new_thumbprint_first_and_keeps_the_old() {
    let w = World::start();
    let aws = w.clients();
    w.test("init").args(["--yes", "-q"]).run();
    let old = w.pki.thumbprint();
    assert_eq!(registered_thumbprints(&w, &aws), vec![old.clone()]);

    let rotated = w.pki.reissue(PkiOptions::default());
    let new = rotated.thumbprint();
    assert_ne!(new, old);
    w.issuer.rotate_chain(&rotated);

    let out = w
        .test("plan")
        .args(["--output", "json", "--detailed-exitcode"])
        .expect_exit(2)
        .run();
    let doc = out.json();
    let provider = resource(&doc, "oidc-provider");
    assert_eq!(provider["action"], "update");
    assert_eq!(
        provider["ops"],
        json!([{ "op": "update_thumbprints", "thumbprints": [new, old] }])
    );
    for kind in ["role", "state-bucket", "lock-table"] {
        assert_eq!(resource(&doc, kind)["action"], "unchanged", "{doc:#}");
    }

    w.moto.start_recording();
    w.test("init").args(["--yes", "-q"]).run();
    assert_eq!(
        w.moto.mutating_calls(),
        [(
            "iam".to_string(),
            "UpdateOpenIDConnectProviderThumbprint".to_string()
        )]
    );
    assert_eq!(registered_thumbprints(&w, &aws), [new, old]);
}

#[test]
fn a_provider_with_five_thumbprints_keeps_at_most_five_new_first() {
    let w = World::start();
    let aws = w.clients();
    w.test("init").args(["--yes", "-q"]).run();
    let old = w.pki.thumbprint();
    let filler: Vec<String> = (1..=4)
        .map(|i| sha1_hex(format!("an older CA {i}").as_bytes()))
        .collect();
    let mut five = vec![old.clone()];
    five.extend(filler.iter().cloned());
    set_thumbprints(&w, &aws, &five);

    // Served thumbprint already among the five: nothing to do.
    w.assert_rerun_writes_nothing("init", &["--yes", "-q"]);
    assert_eq!(registered_thumbprints(&w, &aws), five);

    // A new one: IAM holds at most five, so the new one goes first and the last is dropped.
    let rotated = w.pki.reissue(PkiOptions::default());
    w.issuer.rotate_chain(&rotated);
    w.test("init").args(["--yes", "-q"]).run();
    let mut want = vec![rotated.thumbprint()];
    want.extend(five[..4].iter().cloned());
    assert_eq!(registered_thumbprints(&w, &aws), want);
}

#[test]
fn drift_is_reported_by_status_and_repaired_by_init() {
    let w = World::start();
    let aws = w.clients();
    w.test("init").args(["--yes", "-q"]).run();
    let hp = w.issuer.host_path();

    // Out of band: versioning suspended, the trust widened to every repository, and the
    // bucket policy replaced by someone else's statement.
    aws.block_on(
        aws.s3
            .put_bucket_versioning()
            .bucket(BUCKET)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Suspended)
                    .build(),
            )
            .send(),
    )
    .unwrap();
    let widened = w.widened_trust();
    aws.block_on(
        aws.iam
            .update_assume_role_policy()
            .role_name(ROLE)
            .policy_document(widened.to_string())
            .send(),
    )
    .unwrap();
    let foreign = json!({
        "Sid": "AllowAuditorRead",
        "Effect": "Allow",
        "Principal": { "AWS": format!("arn:aws:iam::{}:root", w.moto.account_id()) },
        "Action": "s3:GetObject",
        "Resource": format!("arn:aws:s3:::{BUCKET}/*")
    });
    aws.block_on(
        aws.s3
            .put_bucket_policy()
            .bucket(BUCKET)
            .policy(json!({ "Version": "2012-10-17", "Statement": [foreign] }).to_string())
            .send(),
    )
    .unwrap();

    // status: read-only, says what drifted.
    let out = w
        .test("status")
        .args(["--output", "json"])
        .expect_no_writes()
        .run();
    let doc = out.json();
    assert_eq!(doc["in_sync"], false);
    let status = |kind: &str| resource(&doc, kind)["status"].clone();
    assert_eq!(status("oidc-provider"), "in_sync");
    assert_eq!(status("lock-table"), "in_sync");
    assert_eq!(status("role"), "drifted");
    assert_eq!(status("state-bucket"), "drifted");
    let fields = |kind: &str| -> Vec<String> {
        resource(&doc, kind)["drift"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["field"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(fields("role"), ["trust policy"]);
    assert_eq!(fields("state-bucket"), ["versioning", "bucket policy"]);
    let versioning = &resource(&doc, "state-bucket")["drift"][0];
    assert_eq!(versioning["from"], "Suspended");
    assert_eq!(versioning["to"], "Enabled");
    // For monitoring: drift is exit 2 with --detailed-exitcode, and still reported.
    w.test("status")
        .arg("--detailed-exitcode")
        .expect_exit(2)
        .expect_stdout_contains("drifted")
        .run();
    w.test("status")
        .expect_stdout_contains("drifted")
        .expect_stdout_contains("versioning: is Suspended, should be Enabled")
        .run();

    // init repairs exactly what drifted.
    w.moto.start_recording();
    w.test("init").args(["--yes", "-q"]).run();
    assert_eq!(
        w.moto.mutating_ops(),
        [
            "PutBucketPolicy",
            "PutBucketVersioning",
            "UpdateAssumeRolePolicy"
        ]
    );
    let v = aws
        .block_on(aws.s3.get_bucket_versioning().bucket(BUCKET).send())
        .unwrap();
    assert_eq!(v.status(), Some(&BucketVersioningStatus::Enabled));
    let role = aws
        .block_on(aws.iam.get_role().role_name(ROLE).send())
        .unwrap()
        .role
        .unwrap();
    let trust = policy_json(role.assume_role_policy_document().unwrap());
    assert_eq!(
        strings(&trust["Statement"][0]["Condition"]["StringLike"][format!("{hp}:sub")]),
        [format!("{REPO_UUID}:*")]
    );
    let policy = aws
        .block_on(aws.s3.get_bucket_policy().bucket(BUCKET).send())
        .unwrap();
    let policy = policy_json(policy.policy().unwrap());
    let statements = policy["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 4, "{policy:#}");
    assert!(
        statements.contains(&foreign),
        "the foreign statement was lost: {policy:#}"
    );
    assert!(
        statements
            .iter()
            .any(|s| s["Effect"] == "Deny"
                && s["Condition"]["Bool"]["aws:SecureTransport"] == "false")
    );

    let out = w
        .test("status")
        .args(["--output", "json", "--detailed-exitcode"])
        .run();
    assert_eq!(out.json()["in_sync"], true);
    // And it stays repaired: nothing more to write.
    w.assert_rerun_writes_nothing("init", &["--yes", "-q"]);
}

#[test]
fn status_reports_missing_resources() {
    let w = World::start();
    let out = w.test("status").args(["--output", "json"]).run();
    let doc = out.json();
    assert_eq!(doc["in_sync"], false);
    for r in doc["resources"].as_array().unwrap() {
        assert_eq!(r["status"], "missing", "{doc:#}");
    }
    let out = w
        .test("status")
        .args(["--output", "json", "--detailed-exitcode"])
        .expect_exit(2)
        .run();
    assert_eq!(out.json()["in_sync"], false);
}

#[test]
fn a_new_audience_is_planned_as_an_addition() {
    // moto does not implement AddClientIDToOpenIDConnectProvider, so the call itself is
    // covered by the aws-smithy-mocks test in src/apply/direct/iam.rs; here: the plan.
    let w = World::start();
    w.test("init").args(["--yes", "-q"]).run();
    let out = w
        .test("plan")
        .args(["--audience", "deploy.example.com", "--output", "json"])
        .run();
    let doc = out.json();
    let provider = resource(&doc, "oidc-provider");
    assert_eq!(provider["action"], "update");
    assert_eq!(
        provider["ops"],
        json!([{ "op": "add_client_id", "client_id": "deploy.example.com" }])
    );
    // The role's trust accepts both audiences.
    let role = resource(&doc, "role");
    assert_eq!(role["action"], "update");
    assert_eq!(role["ops"], json!([{ "op": "update_trust_policy" }]));
}

#[test]
fn jwks_on_another_host_registers_both_thumbprints() {
    let w = World::start();
    let aws = w.clients();
    let jwks_pki = Pki::new();
    let jwks_host = Issuer::start(&jwks_pki);
    let mut doc = w.issuer.discovery_document();
    doc["jwks_uri"] = json!(format!(
        "https://127.0.0.1:{}/oidc/keys.json",
        jwks_host.port()
    ));
    w.issuer.set_discovery(&doc);
    let bundle = write_pem_file(&[&w.pki.root.pem, &jwks_pki.root.pem]);
    let mut args = vec!["init".to_string(), "--yes".into(), "-q".into()];
    args.extend(w.setup_flags());
    let at = args.iter().position(|a| a == "--ca-bundle").unwrap();
    args[at + 1] = bundle.path().display().to_string();
    Test::new().args(&args).run();
    let mut got = registered_thumbprints(&w, &aws);
    got.sort();
    let mut want = vec![w.pki.thumbprint(), jwks_pki.thumbprint()];
    want.sort();
    assert_eq!(got, want);
}

/// Two `init` of the same configuration started together (a plan and an apply role, the
/// provider, bucket and table all new) both end without error: whichever comes second to a
/// resource adopts what the first created. A third run makes no write.
#[test]
fn two_inits_started_together_both_succeed_and_a_third_writes_nothing() {
    let w = World::start_with_managed_policies();
    let mut args = vec!["init".to_string()];
    args.extend(w.setup_flags());
    args.extend(
        [
            "--yes",
            "--plan-apply",
            "--environment-uuid",
            crate::common::fixture::ENV_UUID,
        ]
        .map(String::from),
    );
    std::thread::scope(|s| {
        let runs: Vec<_> = (0..2)
            .map(|_| {
                let args = args.clone();
                s.spawn(move || Test::new().args(args).run())
            })
            .collect();
        for run in runs {
            run.join().expect("run");
        }
    });
    let aws = w.clients();
    let mut roles: Vec<String> = aws
        .block_on(aws.iam.list_roles().send())
        .unwrap()
        .roles()
        .iter()
        .map(|r| r.role_name().to_string())
        .collect();
    roles.sort();
    assert_eq!(roles, [format!("{ROLE}-apply"), format!("{ROLE}-plan")]);
    w.assert_rerun_writes_nothing(
        "init",
        &[
            "--yes",
            "--plan-apply",
            "--environment-uuid",
            crate::common::fixture::ENV_UUID,
        ],
    );
}
