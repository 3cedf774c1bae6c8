//! What exists for `destroy --mode cloudformation`: the stack (status, termination
//! protection, deployed template), its resources as CloudFormation lists them, and after the
//! deletion whether a retained resource is still in the account. Only reads.

use aws_sdk_cloudformation::Client;

use super::stack::{describe, ObservedResource, ObservedStack};
use crate::aws::Aws;
use crate::error::Result;

/// The stack named `name` (and its deployed template), or None when there is none.
pub async fn stack(cfn: &Client, name: &str) -> Result<Option<ObservedStack>> {
    describe(cfn, name).await
}

/// Every resource of the stack `name`, whose id is `stack.stack_id`.
pub async fn resources(
    cfn: &Client,
    name: &str,
    stack: &ObservedStack,
) -> Result<Vec<ObservedResource>> {
    super::stack::resources(cfn, &stack.stack_id, name).await
}

/// Every role other than `stack_roles` (the stack's own) whose trust policy names
/// `provider_arn`: the provider the stack would delete.
pub async fn roles_trusting(
    aws: &Aws,
    provider_arn: &str,
    stack_roles: &[String],
) -> Result<Vec<String>> {
    super::destroy::roles_trusting(aws, provider_arn, stack_roles).await
}

/// Whether a resource the stack left behind is still there (`None`: not a kind we can read).
pub async fn still_there(aws: &Aws, resource_type: &str, physical_id: &str) -> Option<bool> {
    match resource_type {
        "AWS::S3::Bucket" => Some(
            aws.s3
                .head_bucket()
                .bucket(physical_id)
                .send()
                .await
                .is_ok(),
        ),
        "AWS::DynamoDB::Table" => Some(
            aws.dynamodb
                .describe_table()
                .table_name(physical_id)
                .send()
                .await
                .is_ok(),
        ),
        _ => None,
    }
}
