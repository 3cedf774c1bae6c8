//! Test-only: an [`Aws`] whose clients answer from aws-smithy-mocks rules and never touch
//! the network. A call no rule matches panics (the interceptor's `must_match`), so a test
//! also proves that nothing else was called.

use std::sync::Arc;

use aws_smithy_mocks::{create_mock_http_client, MockResponseInterceptor, Rule, RuleMode};

use super::{Aws, CallLog};

fn interceptor(rules: &[&Rule]) -> MockResponseInterceptor {
    rules.iter().fold(
        MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny),
        |i, r| i.with_rule(r),
    )
}

macro_rules! client {
    ($krate:ident, $rules:expr) => {{
        let config = $krate::Config::builder()
            .behavior_version($krate::config::BehaviorVersion::latest())
            .region($krate::config::Region::new("us-east-1"))
            .credentials_provider($krate::config::Credentials::new(
                "AKIDEXAMPLE",
                "secret",
                None,
                None,
                "mock",
            ))
            .http_client(create_mock_http_client())
            .interceptor(interceptor($rules))
            .build();
        $krate::Client::from_conf(config)
    }};
}

/// Clients for us-east-1 whose IAM, S3 and DynamoDB calls are answered by these rules.
pub(crate) fn aws(iam: &[&Rule], s3: &[&Rule], dynamodb: &[&Rule]) -> Aws {
    Aws {
        iam: client!(aws_sdk_iam, iam),
        s3: client!(aws_sdk_s3, s3),
        dynamodb: client!(aws_sdk_dynamodb, dynamodb),
        kms: client!(aws_sdk_kms, &[]),
        sts: client!(aws_sdk_sts, &[]),
        cloudformation: client!(aws_sdk_cloudformation, &[]),
        region: "us-east-1".into(),
        calls: Arc::new(CallLog::default()),
    }
}

/// A progress sink that says nothing.
pub(crate) fn quiet() -> crate::progress::Silent {
    crate::progress::Silent
}
