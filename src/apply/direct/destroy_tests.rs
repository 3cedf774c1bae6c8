//! The destroy plan (refusals included), and the deletion calls against aws-smithy-mocks.

use super::*;

fn targets(delete_state: bool, force: bool) -> Targets {
    Targets {
        account: Account {
            id: "123456789012".into(),
            partition: "aws".into(),
            region: "eu-west-1".into(),
        },
        provider_arn: "arn:aws:iam::123456789012:oidc-provider/example.com/oidc".into(),
        role_name: "deploy".into(),
        bucket: "tf-state".into(),
        table: Some("locks".into()),
        delete_state,
        force,
    }
}

fn everything() -> Found {
    Found {
        provider: true,
        provider_managed: true,
        role: Some(FoundRole {
            arn: "arn:aws:iam::123456789012:role/deploy".into(),
            inline_policies: vec!["terraform-state-access".into()],
            managed_policies: vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into()],
            instance_profiles: vec![],
            trusts_provider: true,
            managed: true,
        }),
        trusting_roles: vec![],
        bucket: true,
        bucket_contents: None,
        bucket_managed: true,
        table: Some(FoundTable {
            deletion_protection: true,
            status: "ACTIVE".into(),
            held_locks: vec![],
            managed: true,
        }),
    }
}

#[test]
fn by_default_role_and_provider_go_and_state_stays() {
    let p = plan(&targets(false, false), &everything());
    let role = p.get(Kind::Role).unwrap();
    assert_eq!(role.action, Action::Delete);
    // Inline policies and attachments before the role itself.
    assert_eq!(role.ops.last(), Some(&Op::DeleteRole));
    assert!(role.ops.contains(&Op::DeleteInlinePolicy {
        name: "terraform-state-access".into()
    }));
    assert!(role.ops.contains(&Op::DetachPolicy {
        arn: "arn:aws:iam::aws:policy/ReadOnlyAccess".into()
    }));
    assert_eq!(p.get(Kind::OidcProvider).unwrap().action, Action::Delete);
    assert_eq!(p.get(Kind::StateBucket).unwrap().action, Action::Keep);
    assert_eq!(p.get(Kind::LockTable).unwrap().action, Action::Keep);
    assert!(p.refusal_error().is_none());
}

#[test]
fn a_provider_other_roles_trust_needs_force() {
    let mut f = everything();
    f.trusting_roles = vec!["other-deploy".into()];
    let p = plan(&targets(false, false), &f);
    let e = p.refusal_error().unwrap();
    assert_eq!(e.exit_code(), 64);
    assert!(e.message.contains("other-deploy"), "{e}");
    assert!(e.to_string().contains("--force"), "{e}");
    let p = plan(&targets(false, true), &f);
    assert!(p.refusal_error().is_none());
    assert_eq!(
        p.get(Kind::OidcProvider).unwrap().ops,
        vec![Op::DeleteProvider]
    );
}

#[test]
fn a_bucket_with_any_version_or_marker_is_never_deleted() {
    for (versions, markers) in [(1, 0), (0, 1), (3, 2)] {
        let mut f = everything();
        f.bucket_contents = Some(BucketContents {
            versions,
            current: versions.min(1),
            delete_markers: markers,
            sample: [("env/prod.tfstate".to_string(), versions + markers)].into(),
            keys: 1,
        });
        for force in [false, true] {
            let p = plan(&targets(true, force), &f);
            let b = p.get(Kind::StateBucket).unwrap();
            assert_eq!(b.action, Action::Refused);
            assert!(b.ops.is_empty());
            let e = p.refusal_error().unwrap();
            assert!(e.message.contains("env/prod.tfstate"), "{e}");
        }
    }
    let mut f = everything();
    f.bucket_contents = Some(BucketContents::default());
    let p = plan(&targets(true, false), &f);
    assert_eq!(
        p.get(Kind::StateBucket).unwrap().ops,
        vec![Op::DeleteBucket]
    );
    assert_eq!(
        p.get(Kind::LockTable).unwrap().ops,
        vec![Op::DisableDeletionProtection, Op::DeleteTable]
    );
}

#[test]
fn a_held_lock_keeps_the_table() {
    let mut f = everything();
    f.bucket_contents = Some(BucketContents::default());
    f.table.as_mut().unwrap().held_locks = vec!["tf-state/prod.tfstate".into()];
    let p = plan(&targets(true, true), &f);
    assert_eq!(p.get(Kind::LockTable).unwrap().action, Action::Refused);
}

mod with_mocked_iam {
    use aws_sdk_iam::config::{BehaviorVersion, Credentials, Region};
    use aws_sdk_iam::operation::delete_role::DeleteRoleError;
    use aws_sdk_iam::operation::delete_role_policy::DeleteRolePolicyError;
    use aws_sdk_iam::types::error::{DeleteConflictException, NoSuchEntityException};
    use aws_sdk_iam::Client;
    use aws_smithy_mocks::{mock, MockResponseInterceptor, Rule, RuleMode};

    use super::super::{delete_role, Op};
    use crate::config::{ColorChoice, OutputFormat};
    use crate::report::Reporter;

    fn client(rules: &[&Rule]) -> Client {
        let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::Sequential);
        for r in rules {
            interceptor = interceptor.with_rule(r);
        }
        let conf = aws_sdk_iam::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("k", "s", None, None, "test"))
            .http_client(aws_smithy_mocks::create_mock_http_client())
            .interceptor(interceptor)
            .build();
        Client::from_conf(conf)
    }

    /// The error metadata the SDK's deserializer attaches to a real error response.
    fn meta(code: &str) -> aws_sdk_iam::error::ErrorMetadata {
        aws_sdk_iam::error::ErrorMetadata::builder()
            .code(code)
            .build()
    }

    fn quiet() -> Reporter {
        Reporter::new(OutputFormat::Text, ColorChoice::Never, true, 0)
    }

    fn ops() -> Vec<Op> {
        vec![
            Op::DeleteInlinePolicy {
                name: "terraform-state-access".into(),
            },
            Op::DeleteRole,
        ]
    }

    #[tokio::test]
    async fn delete_conflict_right_after_removing_policies_is_retried() {
        let policy = mock!(Client::delete_role_policy).then_output(|| {
            aws_sdk_iam::operation::delete_role_policy::DeleteRolePolicyOutput::builder().build()
        });
        let conflict = mock!(Client::delete_role).then_error(|| {
            DeleteRoleError::DeleteConflictException(
                DeleteConflictException::builder()
                    .message("Cannot delete entity, must delete policies first.")
                    .meta(meta("DeleteConflict"))
                    .build(),
            )
        });
        let deleted = mock!(Client::delete_role).then_output(|| {
            aws_sdk_iam::operation::delete_role::DeleteRoleOutput::builder().build()
        });
        let iam = client(&[&policy, &conflict, &deleted]);
        delete_role(&iam, "deploy", &ops(), &quiet()).await.unwrap();
        assert_eq!(conflict.num_calls(), 1);
        assert_eq!(deleted.num_calls(), 1);
    }

    #[tokio::test]
    async fn already_gone_is_fine() {
        let policy = mock!(Client::delete_role_policy).then_error(|| {
            DeleteRolePolicyError::NoSuchEntityException(
                NoSuchEntityException::builder()
                    .meta(meta("NoSuchEntity"))
                    .build(),
            )
        });
        let role = mock!(Client::delete_role).then_error(|| {
            DeleteRoleError::NoSuchEntityException(
                NoSuchEntityException::builder()
                    .meta(meta("NoSuchEntity"))
                    .build(),
            )
        });
        let iam = client(&[&policy, &role]);
        delete_role(&iam, "deploy", &ops(), &quiet()).await.unwrap();
        assert_eq!(role.num_calls(), 1);
    }
}

#[test]
fn an_untagged_resource_is_deleted_only_with_force() {
    let mut f = everything();
    f.provider_managed = false;
    f.role.as_mut().unwrap().managed = false;
    f.bucket_contents = Some(BucketContents::default());
    f.bucket_managed = false;
    f.table.as_mut().unwrap().managed = false;
    let kinds = [
        Kind::Role,
        Kind::OidcProvider,
        Kind::StateBucket,
        Kind::LockTable,
    ];
    let p = plan(&targets(true, false), &f);
    for kind in kinds {
        let item = p.get(kind).unwrap();
        assert_eq!(item.action, Action::Refused, "{kind:?}");
        assert!(item.ops.is_empty(), "{kind:?}");
    }
    let e = p.refusal_error().unwrap();
    assert_eq!(e.exit_code(), 64);
    for name in [
        "role deploy",
        "oidc-provider/example.com",
        "tf-state",
        "locks",
    ] {
        assert!(e.message.contains(name), "{name}: {e}");
    }
    assert!(e.message.contains("managed-by=bootstrap"), "{e}");
    assert!(e.to_string().contains("--force"), "{e}");

    let p = plan(&targets(true, true), &f);
    assert!(p.refusal_error().is_none());
    for kind in kinds {
        let item = p.get(kind).unwrap();
        assert_eq!(item.action, Action::Delete, "{kind:?}");
        assert!(item.notes.iter().any(|n| n.contains("--force")), "{kind:?}");
    }
    // Tagged resources need no --force.
    let p = plan(&targets(true, false), &{
        let mut f = everything();
        f.bucket_contents = Some(BucketContents::default());
        f
    });
    assert!(p.refusal_error().is_none());
}

#[test]
fn nothing_left_means_nothing_to_do() {
    let f = Found {
        provider: false,
        provider_managed: true,
        role: None,
        trusting_roles: vec![],
        bucket: false,
        bucket_contents: None,
        bucket_managed: true,
        table: None,
    };
    let p = plan(&targets(true, false), &f);
    assert!(!p.has_deletions());
    assert!(p.refusal_error().is_none());
}
