//! The AWS behaviour layer of the shared harness, continued from `harness_moto.rs`: new
//! tables, eventually consistent IAM, throttled IAM writes and slow CloudFormation.

use crate::common::aws::Clients;
use crate::harness_moto::{code_of, eventually, layer, refusal};
use std::time::Duration;

#[test]
#[allow(clippy::too_many_lines, reason = "one scenario, in order")]
fn layer_models_a_new_table_creating_updating_and_the_backup_gap() {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType,
        PointInTimeRecoverySpecification, ScalarAttributeType, TableStatus,
    };
    // Scale 0.2: CREATING 1.2 s, the backup gap 2 s after that, UPDATING 0.8 s.
    let (_moto, aws) = layer("0.2");
    let db = &aws.dynamodb;
    let created = aws
        .block_on(
            db.create_table()
                .table_name("layer-table")
                .attribute_definitions(
                    AttributeDefinition::builder()
                        .attribute_name("LockID")
                        .attribute_type(ScalarAttributeType::S)
                        .build()
                        .unwrap(),
                )
                .key_schema(
                    KeySchemaElement::builder()
                        .attribute_name("LockID")
                        .key_type(KeyType::Hash)
                        .build()
                        .unwrap(),
                )
                .billing_mode(BillingMode::PayPerRequest)
                .send(),
        )
        .unwrap();
    let status = |s: Option<&TableStatus>| s.map(|s| s.as_str().to_string()).unwrap_or_default();
    assert_eq!(
        status(created.table_description().and_then(|t| t.table_status())),
        "CREATING"
    );
    let describe = || {
        let out = aws
            .block_on(db.describe_table().table_name("layer-table").send())
            .unwrap();
        status(out.table().and_then(|t| t.table_status()))
    };
    assert_eq!(describe(), "CREATING");
    let update = || {
        aws.block_on(
            db.update_table()
                .table_name("layer-table")
                .deletion_protection_enabled(true)
                .send(),
        )
        .map_err(|e| refusal(&e))
    };
    assert_eq!(update().unwrap_err().0, "ResourceInUseException");
    let pitr = || {
        aws.block_on(
            db.update_continuous_backups()
                .table_name("layer-table")
                .point_in_time_recovery_specification(
                    PointInTimeRecoverySpecification::builder()
                        .point_in_time_recovery_enabled(true)
                        .build()
                        .unwrap(),
                )
                .send(),
        )
        .map_err(|e| refusal(&e))
    };
    eventually(Duration::from_secs(10), "table ACTIVE", || {
        describe() == "ACTIVE"
    });
    // ACTIVE, but backups are still being enabled.
    let (code, message) = pitr().unwrap_err();
    assert_eq!(code, "ContinuousBackupsUnavailableException");
    assert_eq!(
        message,
        "Backups are being enabled for the table: layer-table. Please retry later"
    );
    eventually(Duration::from_secs(10), "backups available", || {
        pitr().is_ok()
    });
    // An update puts the table in UPDATING; a second update meanwhile is refused.
    let out = update().unwrap();
    assert_eq!(
        status(out.table_description().and_then(|t| t.table_status())),
        "UPDATING"
    );
    assert_eq!(describe(), "UPDATING");
    assert_eq!(update().unwrap_err().0, "ResourceInUseException");
    eventually(Duration::from_secs(10), "ACTIVE after the update", || {
        describe() == "ACTIVE"
    });
}

#[test]
fn layer_hides_a_new_role_and_provider_from_reads_and_refuses_to_assume_a_new_role() {
    // Scale 0.2: reads see them after 0.4 s, the role is assumable after 1.6 s.
    let (moto, aws) = layer("0.2");
    let plain = Clients::new(&moto, "us-east-1");
    aws.block_on(
        aws.iam
            .create_role()
            .role_name("fresh")
            .assume_role_policy_document("{}")
            .send(),
    )
    .unwrap();
    let provider = aws
        .block_on(
            aws.iam
                .create_open_id_connect_provider()
                .url("https://issuer.example.com/oidc")
                .client_id_list("aud")
                .thumbprint_list("a".repeat(40))
                .send(),
        )
        .unwrap();
    let provider_arn = provider.open_id_connect_provider_arn().unwrap().to_string();
    let get_role = || {
        aws.block_on(aws.iam.get_role().role_name("fresh").send())
            .map_err(|e| refusal(&e))
    };
    let get_provider = || {
        aws.block_on(
            aws.iam
                .get_open_id_connect_provider()
                .open_id_connect_provider_arn(&provider_arn)
                .send(),
        )
        .map_err(|e| refusal(&e))
    };
    assert_eq!(get_role().unwrap_err().0, "NoSuchEntity");
    assert_eq!(get_provider().unwrap_err().0, "NoSuchEntity");
    // The entity exists all along: plain moto shows it.
    plain
        .block_on(plain.iam.get_role().role_name("fresh").send())
        .unwrap();
    let assume = || {
        aws.block_on(
            aws.sts
                .assume_role_with_web_identity()
                .role_arn("arn:aws:iam::123456789012:role/fresh")
                .role_session_name("layer")
                .web_identity_token("x".repeat(32))
                .send(),
        )
        .map_err(|e| refusal(&e))
    };
    assert_eq!(assume().unwrap_err().0, "AccessDenied");
    eventually(Duration::from_secs(10), "role readable", || {
        get_role().is_ok()
    });
    // Created after the role: its own moment of invisibility may last a little longer.
    eventually(Duration::from_secs(10), "provider readable", || {
        get_provider().is_ok()
    });
    eventually(Duration::from_secs(10), "role assumable", || {
        assume().is_ok()
    });
    let kinds: Vec<String> = moto.refusals().into_iter().map(|(k, _)| k).collect();
    assert!(kinds.contains(&"iam:NoSuchEntity".to_string()), "{kinds:?}");
    assert!(kinds.contains(&"sts:AccessDenied".to_string()), "{kinds:?}");
}

#[test]
fn layer_throttles_bursts_of_iam_writes() {
    // Scale 1: a burst of 15, then 10 calls a second.
    let (_moto, aws) = layer("1");
    aws.block_on(
        aws.iam
            .create_role()
            .role_name("busy")
            .assume_role_policy_document("{}")
            .send(),
    )
    .unwrap();
    let calls = (0..40).map(|i| {
        aws.iam
            .tag_role()
            .role_name("busy")
            .tags(
                aws_sdk_iam::types::Tag::builder()
                    .key(format!("k{i}"))
                    .value("v")
                    .build()
                    .unwrap(),
            )
            .send()
    });
    let results = aws.block_on(futures::future::join_all(calls));
    let throttled: Vec<String> = results
        .iter()
        .filter_map(|r| r.as_ref().err().map(code_of))
        .collect();
    assert!(throttled.len() >= 10, "{throttled:?}");
    assert!(throttled.iter().all(|c| c == "Throttling"), "{throttled:?}");
    // Reads are not throttled.
    aws.block_on(aws.iam.list_roles().send()).unwrap();
}

#[test]
fn layer_makes_cloudformation_take_time() {
    use aws_sdk_cloudformation::types::ChangeSetType;
    // Scale 0.1: change set pending 0.1 s + in progress 0.2 s, stack operation 2 s.
    let (_moto, aws) = layer("0.1");
    let cfn = &aws.cloudformation;
    let template = r#"{"Resources": {"A": {"Type": "AWS::CloudFormation::WaitConditionHandle"},
        "B": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}"#;
    let created = aws
        .block_on(
            cfn.create_change_set()
                .stack_name("slow")
                .change_set_name("first")
                .change_set_type(ChangeSetType::Create)
                .template_body(template)
                .send(),
        )
        .unwrap();
    let id = created.id().unwrap().to_string();
    let change_set = || {
        let out = aws
            .block_on(cfn.describe_change_set().change_set_name(&id).send())
            .unwrap();
        out.status().map(|s| s.as_str().to_string()).unwrap()
    };
    assert_eq!(change_set(), "CREATE_PENDING");
    let execute = || {
        aws.block_on(cfn.execute_change_set().change_set_name(&id).send())
            .map_err(|e| refusal(&e))
    };
    assert_eq!(execute().unwrap_err().0, "InvalidChangeSetStatus");
    eventually(Duration::from_secs(10), "change set computed", || {
        change_set() == "CREATE_COMPLETE"
    });
    execute().unwrap();
    let stack = || {
        let out = aws
            .block_on(cfn.describe_stacks().stack_name("slow").send())
            .unwrap();
        out.stacks()[0].stack_status().unwrap().as_str().to_string()
    };
    let events = || {
        aws.block_on(cfn.describe_stack_events().stack_name("slow").send())
            .unwrap()
            .stack_events()
            .len()
    };
    assert_eq!(stack(), "CREATE_IN_PROGRESS");
    let early = events();
    eventually(Duration::from_secs(10), "stack complete", || {
        stack() == "CREATE_COMPLETE"
    });
    let all = events();
    assert!(
        early < all,
        "events arrive as they happen: {early} then {all}"
    );
}
