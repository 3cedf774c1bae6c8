//! `init` on an account with pieces made by hand, continued from `init_adopt.rs`: an inline
//! policy the tool did not write, a hand-made role adopted loudly, and what adoption never
//! does on its own: rewrite a version tag, switch an SSE-KMS bucket to SSE-S3, adopt a role an
//! instance profile holds.

use crate::common;
use crate::common::fixture::{World, BUCKET, ROLE};
use crate::common::inspect::Inspect;
use crate::common::resource;
use crate::common::Test;
use aws_sdk_s3::types::{
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule,
};
use serde_json::json;

#[test]
fn an_inline_policy_the_tool_did_not_write_is_drift_and_init_removes_it() {
    let w = World::start();
    let aws = w.clients();
    w.test("init").args(["--yes", "-q"]).run();
    aws.put_role_policy(
        ROLE,
        "extra",
        serde_json::json!({"Effect": "Allow", "Action": "*", "Resource": "*"}),
    );
    aws.put_role_policy(
        ROLE,
        "reads",
        serde_json::json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}),
    );

    // plan: changes found (exit 2), each foreign policy named, the admin one marked, loudly.
    let out = w
        .test("plan")
        .args(["--detailed-exitcode"])
        .expect_exit(2)
        .run();
    let extra = out
        .stdout
        .lines()
        .find(|l| l.contains("inline policy extra"))
        .unwrap_or_else(|| panic!("{out:?}"));
    assert!(extra.contains("not written by bootstrap"), "{extra}");
    assert!(extra.contains("ADMIN-EQUIVALENT"), "{extra}");
    assert!(extra.contains("(deleted)"), "{extra}");
    let reads = out
        .stdout
        .lines()
        .find(|l| l.contains("inline policy reads"))
        .unwrap_or_else(|| panic!("{out:?}"));
    assert!(!reads.contains("ADMIN"), "{reads}");
    assert!(
        out.stderr.lines().any(|l| l.starts_with("warning:")
            && l.contains("ADMINISTRATOR-EQUIVALENT inline policy extra")),
        "{out:?}"
    );

    // status: drifted, with both policies in the drift.
    let out = w
        .test("status")
        .args(["--output", "json", "--detailed-exitcode"])
        .expect_exit(2)
        .run();
    let doc = out.json();
    assert_eq!(doc["in_sync"], false);
    let role = resource(&doc, "role");
    assert_eq!(role["status"], "drifted", "{doc:#}");
    let fields: Vec<&str> = role["drift"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["inline policy extra", "inline policy reads"]);

    // init deletes them (after showing them), and nothing else.
    w.moto.start_recording();
    w.test("init")
        .args(["--yes"])
        .expect_stderr_contains("inline policy extra")
        .run();
    assert_eq!(
        w.moto.mutating_ops(),
        ["DeleteRolePolicy", "DeleteRolePolicy"]
    );
    assert_eq!(aws.inline_policy_names(ROLE), ["terraform-state-access"]);
    w.test("plan")
        .args(["--detailed-exitcode", "-q"])
        .expect_exit(0)
        .run();
}

#[test]
fn a_hand_made_role_is_adopted_loudly_and_tagged() {
    let w = World::start();
    let aws = w.clients();
    let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    aws.block_on(
        aws.iam
            .create_role()
            .role_name(ROLE)
            .assume_role_policy_document(trust.to_string())
            .send(),
    )
    .unwrap();
    aws.put_role_policy(
        ROLE,
        "escalate",
        serde_json::json!({"Effect": "Allow", "Action": "iam:Attach*Policy", "Resource": "*"}),
    );
    let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "AllButOne", "Effect": "Allow", "NotAction": "s3:GetObject", "Resource": "*"}]});
    let managed = aws.attach_new_policy(ROLE, "hand-made-admin", &doc);

    let out = w.test("plan").run();
    let head = out
        .stdout
        .lines()
        .find(|l| l.contains("role") && l.contains(ROLE))
        .unwrap_or_else(|| panic!("{out:?}"));
    assert!(head.contains("adopt (not created by bootstrap)"), "{out:?}");
    for part in [
        "ownership: not created by bootstrap",
        "trust policy:",
        "inline policy escalate: present, not written by bootstrap; ADMIN-EQUIVALENT",
        &format!("managed policy {managed}: attached; ADMIN-EQUIVALENT: statement \"AllButOne\""),
    ] {
        assert!(out.stdout.contains(part), "{part}\n{out:?}");
    }
    let warnings: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("(not created by bootstrap) carries an ADMINISTRATOR-EQUIVALENT"))
        .collect();
    assert_eq!(warnings.len(), 2, "{out:?}");

    w.test("init").args(["--yes", "-q"]).run();
    assert_eq!(aws.inline_policy_names(ROLE), ["terraform-state-access"]);
    let attached = aws
        .block_on(aws.iam.list_attached_role_policies().role_name(ROLE).send())
        .unwrap();
    assert!(attached.attached_policies().is_empty(), "{attached:?}");
    assert_eq!(
        aws.role_tags(ROLE),
        [
            ("bootstrap-set".to_string(), w.issuer.host_path()),
            (
                "bootstrap-version".to_string(),
                env!("CARGO_PKG_VERSION").to_string()
            ),
            ("managed-by".to_string(), "bootstrap".to_string()),
        ]
    );
    // Adopted once: the next run has nothing to do.
    w.assert_rerun_writes_nothing("init", &["--yes", "-q"]);
}

#[test]
fn a_version_tag_is_never_rewritten_on_its_own() {
    let w = World::start();
    let aws = w.clients();
    w.test("init").args(["--yes", "-q"]).run();
    // As if an older release had created the role and the bucket.
    aws.block_on(
        aws.iam
            .tag_role()
            .role_name(ROLE)
            .tags(
                aws_sdk_iam::types::Tag::builder()
                    .key("bootstrap-version")
                    .value("0.0.1")
                    .build()
                    .unwrap(),
            )
            .send(),
    )
    .unwrap();
    w.test("plan")
        .args(["--detailed-exitcode", "-q"])
        .expect_no_writes()
        .run();
    w.assert_rerun_writes_nothing("init", &["--yes", "-q"]);
    assert!(aws
        .role_tags(ROLE)
        .contains(&("bootstrap-version".to_string(), "0.0.1".to_string())));
}

#[test]
fn an_sse_kms_bucket_is_never_switched_to_sse_s3_silently() {
    let w = World::start();
    let aws = w.clients();
    let key = common::kms::create_key(&w.moto, &w.region, None).arn;
    aws.block_on(aws.s3.create_bucket().bucket(BUCKET).send())
        .unwrap();
    let sse = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::AwsKms)
        .kms_master_key_id(&key)
        .build()
        .unwrap();
    aws.block_on(
        aws.s3
            .put_bucket_encryption()
            .bucket(BUCKET)
            .server_side_encryption_configuration(
                ServerSideEncryptionConfiguration::builder()
                    .rules(
                        ServerSideEncryptionRule::builder()
                            .apply_server_side_encryption_by_default(sse)
                            .bucket_key_enabled(true)
                            .build(),
                    )
                    .build()
                    .unwrap(),
            )
            .send(),
    )
    .unwrap();

    w.moto.start_recording();
    // (A narrow --source-ip keeps stderr to the one error line.)
    let f = Test::new()
        .args(
            [
                vec!["init".to_string(), "--yes".into()],
                w.setup_flags(),
                vec!["--source-ip".into(), "203.0.113.0/24".into()],
            ]
            .concat(),
        )
        .expect_exit(64)
        .run_error();
    for part in [
        BUCKET,
        key.as_str(),
        "SSE-S3",
        &format!("--kms-key {key}"),
        "--allow-encryption-downgrade",
    ] {
        assert!(f.line.contains(part), "{part}: {f:?}");
    }
    assert_eq!(f.json["resource"], BUCKET);
    assert_eq!(w.moto.mutating_ops(), Vec::<String>::new());
    // `plan` refuses the same way.
    w.test("plan").args(["-q"]).expect_exit(64).run();

    // Keeping the key: no encryption change planned.
    let out = w
        .test("plan")
        .args(["--output", "json", "--kms-key", &key])
        .run();
    let doc = out.json();
    let bucket = resource(&doc, "state-bucket");
    assert!(
        bucket["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["field"] != "encryption"),
        "{bucket:#}"
    );

    // The explicit opt-in switches it, shown in the plan.
    w.test("init")
        .args(["--yes", "--allow-encryption-downgrade"])
        .expect_stderr_contains(format!("encryption: aws:kms {key}"))
        .run();
    let enc = aws
        .block_on(aws.s3.get_bucket_encryption().bucket(BUCKET).send())
        .unwrap();
    let rule = &enc.server_side_encryption_configuration().unwrap().rules()[0];
    assert_eq!(
        rule.apply_server_side_encryption_by_default()
            .unwrap()
            .sse_algorithm(),
        &ServerSideEncryption::Aes256
    );
}

#[test]
fn a_role_an_instance_profile_holds_is_never_adopted() {
    let w = World::start();
    let aws = Inspect::new(&w.moto.plain_endpoint());
    let ec2 = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Service": "ec2.amazonaws.com"},
        "Action": "sts:AssumeRole"
    }]});
    aws.create_role(ROLE, &ec2);
    aws.block(
        aws.iam
            .create_instance_profile()
            .instance_profile_name("web")
            .send(),
    )
    .expect("CreateInstanceProfile");
    aws.block(
        aws.iam
            .add_role_to_instance_profile()
            .instance_profile_name("web")
            .role_name(ROLE)
            .send(),
    )
    .expect("AddRoleToInstanceProfile");
    for (cmd, flag) in [("plan", "--detailed-exitcode"), ("init", "--yes")] {
        w.test(cmd)
            .arg(flag)
            .expect_exit(64)
            .expect_stderr_contains("not adopted: it is in instance profile(s) web")
            .expect_stderr_contains("--role-name")
            .expect_no_writes()
            .run();
    }
    assert_eq!(aws.trust_policy(ROLE), ec2);
}
