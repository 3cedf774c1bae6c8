//! The state options of `init`, read back from (local) AWS: the key prefix, KMS (each form of
//! `--kms-key`, and one that does not exist) and tags.

use crate::common::aws::{strings, Clients};
use crate::common::fixture::{World, BUCKET, ROLE, TABLE};
use crate::common::kms::create_key;
use crate::init_options::{inline, provider, sorted};

#[test]
fn key_prefix_kms_key_and_tags() {
    let w = World::start();
    let aws = w.clients();
    let kms = create_key(&w.moto, &w.region, None).arn;
    let state = [
        "--state-key-prefix",
        "platform/prod",
        "--kms-key",
        &kms,
        "--tag",
        "team=platform",
        "--noncurrent-days",
        "30",
    ];
    let out = w
        .test("init")
        .args(["--yes", "--output", "json"])
        .args(state)
        .run();
    let backend = out.json()["next_steps"]["backend"]
        .as_str()
        .unwrap()
        .to_string();
    // Attribute lines, with the alignment padding folded away.
    let attrs: Vec<String> = backend
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert!(
        attrs.contains(&"key = \"platform/prod/terraform.tfstate\"".to_string()),
        "{backend}"
    );
    assert!(backend.contains(&kms), "{backend}");

    // The role may list and write only under the prefix, and use the key.
    let p = inline(&aws);
    let statements = p["Statement"].as_array().unwrap();
    let list = statements
        .iter()
        .find(|s| strings(&s["Action"]) == ["s3:ListBucket"])
        .unwrap();
    assert_eq!(
        sorted(&list["Condition"]["StringLike"]["s3:prefix"]),
        ["platform/prod", "platform/prod/*"]
    );
    let objects = statements
        .iter()
        .find(|s| strings(&s["Action"]).contains(&"s3:PutObject".to_string()))
        .unwrap();
    assert_eq!(
        strings(&objects["Resource"]),
        [format!("arn:aws:s3:::{BUCKET}/platform/prod/*")]
    );
    let key = statements
        .iter()
        .find(|s| strings(&s["Resource"]) == [kms.clone()])
        .expect("a statement for the KMS key");
    assert_eq!(
        sorted(&key["Action"]),
        ["kms:Decrypt", "kms:GenerateDataKey"]
    );

    // SSE-KMS with a bucket key, and the retention in days.
    let enc = aws
        .block_on(aws.s3.get_bucket_encryption().bucket(BUCKET).send())
        .unwrap();
    let rule = &enc.server_side_encryption_configuration().unwrap().rules()[0];
    let default = rule.apply_server_side_encryption_by_default().unwrap();
    assert_eq!(default.sse_algorithm().as_str(), "aws:kms");
    assert_eq!(default.kms_master_key_id(), Some(kms.as_str()));
    assert_eq!(rule.bucket_key_enabled(), Some(true));
    let lc = aws
        .block_on(
            aws.s3
                .get_bucket_lifecycle_configuration()
                .bucket(BUCKET)
                .send(),
        )
        .unwrap();
    assert_eq!(
        lc.rules()[0]
            .noncurrent_version_expiration()
            .unwrap()
            .noncurrent_days(),
        Some(30)
    );

    // The tag is on all four resources, next to managed-by and the version that created it.
    let has = |tags: Vec<(String, String)>| {
        tags.contains(&("team".into(), "platform".into()))
            && tags.contains(&("managed-by".into(), "bootstrap".into()))
            && tags.contains(&("bootstrap-version".into(), env!("CARGO_PKG_VERSION").into()))
    };
    let provider = provider(&w, &aws);
    assert!(has(provider
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()));
    let role = aws
        .block_on(aws.iam.get_role().role_name(ROLE).send())
        .unwrap()
        .role
        .unwrap();
    assert!(has(role
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()));
    let bucket_tags = aws
        .block_on(aws.s3.get_bucket_tagging().bucket(BUCKET).send())
        .unwrap();
    assert!(has(bucket_tags
        .tag_set()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()));
    let table_arn = format!(
        "arn:aws:dynamodb:us-east-1:{}:table/{TABLE}",
        w.moto.account_id()
    );
    let table_tags = aws
        .block_on(
            aws.dynamodb
                .list_tags_of_resource()
                .resource_arn(table_arn)
                .send(),
        )
        .unwrap();
    assert!(has(table_tags
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()));

    // And the whole thing is stable.
    w.assert_rerun_writes_nothing("init", &[&["--yes", "-q"][..], &state].concat());
}

/// The Resource of the role's KMS statement.
fn kms_grant(aws: &Clients) -> Vec<String> {
    let p = inline(aws);
    let st = p["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| strings(&s["Action"]).contains(&"kms:GenerateDataKey".to_string()))
        .cloned()
        .unwrap_or_else(|| panic!("no KMS statement in {p}"));
    strings(&st["Resource"])
}

fn bucket_key(aws: &Clients) -> String {
    let enc = aws
        .block_on(aws.s3.get_bucket_encryption().bucket(BUCKET).send())
        .unwrap();
    let rule = &enc.server_side_encryption_configuration().unwrap().rules()[0];
    let default = rule.apply_server_side_encryption_by_default().unwrap();
    default.kms_master_key_id().unwrap().to_string()
}

#[test]
fn every_form_of_kms_key_grants_the_key_arn_and_they_all_converge() {
    let w = World::start();
    let aws = w.clients();
    let key = create_key(&w.moto, &w.region, Some("alias/terraform-state"));
    assert!(key.arn.contains(":key/"), "{}", key.arn);
    let alias_arn = format!(
        "arn:aws:kms:{}:{}:alias/terraform-state",
        w.region,
        w.moto.account_id()
    );
    let forms = [
        ("alias name", "alias/terraform-state".to_string()),
        ("key ARN", key.arn.clone()),
        ("key id", key.id.clone()),
        ("alias ARN", alias_arn),
    ];
    // The first form creates everything; the others name the same key, so they find
    // nothing to change: the grant and the bucket name the key ARN whatever the form.
    for (i, (form, given)) in forms.iter().enumerate() {
        w.moto.start_recording();
        let out = w
            .test("init")
            .args(["--yes", "--output", "json", "--kms-key", given])
            .run();
        assert_eq!(kms_grant(&aws), std::slice::from_ref(&key.arn), "{form}");
        assert_eq!(bucket_key(&aws), key.arn, "{form}");
        let backend = out.json()["next_steps"]["backend"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(backend.contains(&key.arn), "{form}: {backend}");
        if i > 0 {
            assert_eq!(w.moto.mutating_calls(), vec![], "{form}");
        }
        assert!(
            w.moto.calls().iter().any(|(_, op)| op == "DescribeKey"),
            "{form}: the key is looked up"
        );
    }
}

#[test]
fn a_kms_key_that_does_not_exist_is_refused_before_any_write() {
    let w = World::start();
    create_key(&w.moto, &w.region, Some("alias/other"));
    for missing in [
        "alias/terraform-state".to_string(),
        "1234abcd-12ab-34cd-56ef-1234567890ab".to_string(),
        format!(
            "arn:aws:kms:{}:{}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            w.region,
            w.moto.account_id()
        ),
    ] {
        for mode in ["direct", "cloudformation"] {
            w.moto.start_recording();
            let out = w
                .test("init")
                .args(["--yes", "--mode", mode, "--kms-key", &missing])
                .expect_exit(64)
                .run();
            assert!(
                out.stderr.contains(&format!("--kms-key {missing}"))
                    && out.stderr.contains("NotFoundException"),
                "{mode} {missing}: {}",
                out.stderr
            );
            assert_eq!(w.moto.mutating_calls(), vec![], "{mode} {missing}");
        }
    }
}
