//! What a CloudFormation stack holds, continued from `cloudformation_stack.rs`: it is not
//! created over resources that already exist, an update after a certificate change keeps the
//! thumbprint still in use, and render grants the key ARN for every form of `--kms-key`.

use crate::cloudformation_stack::{cfn, deployed_template};
use crate::common::fixture::World;
use crate::common::kms::create_key;
use crate::common::PkiOptions;
use serde_json::{json, Value};

#[test]
fn a_stack_is_not_created_over_resources_that_already_exist() {
    let w = World::start();
    w.test("init").args(["--yes"]).run(); // direct mode made them
    w.moto.start_recording();
    let out = w
        .test("init")
        .args(cfn(&["--yes"]))
        .expect_exit(1)
        .expect_stderr_contains("the role bitbucket-pipelines-deploy")
        .expect_stderr_contains("the bucket tf-state-test")
        .run();
    assert!(
        out.stderr.contains("--mode direct"),
        "the hint names the way out: {}",
        out.stderr
    );
    assert_eq!(w.moto.mutating_calls(), Vec::<(String, String)>::new());
}

#[test]
fn a_stack_update_after_a_certificate_change_keeps_the_thumbprint_still_in_use() {
    let w = World::start();
    let old = w.pki.thumbprint();
    let out = w
        .test("init")
        .args(cfn(&["--yes", "--output", "json"]))
        .run();
    assert_eq!(out.json()["thumbprint_list"], json!([old]));
    // moto's CloudFormation skips AWS::IAM::OIDCProvider: make the provider the stack made in
    // AWS, with the thumbprint of its template.
    let aws = w.clients();
    aws.block_on(
        aws.iam
            .create_open_id_connect_provider()
            .url(w.issuer.url())
            .client_id_list(w.audience())
            .thumbprint_list(&old)
            .send(),
    )
    .unwrap();

    let rotated = w.pki.reissue(PkiOptions::default());
    let new = rotated.thumbprint();
    assert_ne!(new, old);
    w.issuer.rotate_chain(&rotated);
    w.moto.start_recording();
    let out = w
        .test("init")
        .args(cfn(&["--yes", "--output", "json"]))
        .run();
    // The live provider was read, and the new list is the served one first, then the one
    // still registered: the same rule as direct mode (docs/rotation.md).
    assert!(
        w.moto
            .calls()
            .contains(&("iam".into(), "GetOpenIDConnectProvider".into())),
        "{:?}",
        w.moto.calls()
    );
    let doc = out.json();
    assert_eq!(doc["thumbprints"], json!([new]));
    assert_eq!(doc["thumbprint_list"], json!([new, old]));
    let deployed = deployed_template(&w);
    let listed = |t: &str| {
        deployed
            .find(t)
            .unwrap_or_else(|| panic!("{t} not in {deployed}"))
    };
    assert!(listed(&new) < listed(&old), "{deployed}");

    // Nothing new served: the list on the provider stands, and the stack is left alone.
    aws.block_on(
        aws.iam
            .update_open_id_connect_provider_thumbprint()
            .open_id_connect_provider_arn(w.provider_arn())
            .set_thumbprint_list(Some(vec![new.clone(), old.clone()]))
            .send(),
    )
    .unwrap();
    w.assert_rerun_writes_nothing("init", &cfn(&["--yes"]));
}

/// The KMS statement's Resource and the bucket's KMSMasterKeyID in a rendered template.
fn template_key(doc: &Value) -> (Value, Value) {
    let r = &doc["template"]["Resources"];
    let statement = r["DeployRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == "StateEncryptionKey")
        .cloned()
        .unwrap_or_else(|| panic!("no KMS statement in {doc:#}"));
    let bucket = &r["StateBucket"]["Properties"]["BucketEncryption"]
        ["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]["KMSMasterKeyID"];
    (statement["Resource"].clone(), bucket.clone())
}

#[test]
fn render_grants_the_key_arn_for_every_form_of_kms_key() {
    let w = World::start();
    let key = create_key(&w.moto, &w.region, Some("alias/terraform-state"));
    let alias_arn = format!(
        "arn:aws:kms:{}:{}:alias/terraform-state",
        w.region,
        w.moto.account_id()
    );
    // A key id needs no AWS call: the key of that id in the deploying account and region.
    let by_id = json!({
        "Fn::Sub": format!("arn:${{AWS::Partition}}:kms:${{AWS::Region}}:${{AWS::AccountId}}:key/{}", key.id)
    });
    for (given, want, calls) in [
        (key.arn.clone(), json!(key.arn), false),
        (key.id.clone(), by_id, false),
        ("alias/terraform-state".to_string(), json!(key.arn), true),
        (alias_arn, json!(key.arn), true),
    ] {
        w.moto.start_recording();
        let out = w
            .test("render")
            .args(["--output", "json", "--kms-key", &given])
            .run();
        let (grant, bucket) = template_key(&out.json());
        assert_eq!(grant, want, "{given}");
        assert_eq!(bucket, want, "{given}");
        // An alias is resolved with one read (kms:DescribeKey), and nothing else is called.
        let expected: Vec<(String, String)> = if calls {
            vec![("kms".into(), "DescribeKey".into())]
        } else {
            vec![]
        };
        assert_eq!(w.moto.calls(), expected, "{given}");
    }

    // Deployed (init resolves every form with kms:DescribeKey), the grant is the key ARN.
    w.test("init")
        .args(["--mode", "cloudformation", "--yes", "--kms-key", &key.id])
        .run();
    let deployed: Value = serde_norway::from_str(&deployed_template(&w)).unwrap();
    let (grant, bucket) = template_key(&json!({ "template": deployed }));
    assert_eq!(grant, json!(key.arn));
    assert_eq!(bucket, json!(key.arn));
}
