//! The deletion calls against aws-smithy-mocks.

mod with_mocked_iam {
    use aws_sdk_iam::config::{BehaviorVersion, Credentials, Region};
    use aws_sdk_iam::operation::delete_role::DeleteRoleError;
    use aws_sdk_iam::operation::delete_role_policy::DeleteRolePolicyError;
    use aws_sdk_iam::types::error::{DeleteConflictException, NoSuchEntityException};
    use aws_sdk_iam::Client;
    use aws_smithy_mocks::{mock, MockResponseInterceptor, Rule, RuleMode};

    use super::super::delete_role;
    use crate::plan::destroy::Op;

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

    fn quiet() -> crate::progress::Silent {
        crate::progress::Silent
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
