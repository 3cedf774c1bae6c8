//! What exists for `destroy --mode cloudformation`: the stack (status, termination
//! protection, deployed template), its resources as CloudFormation lists them, and after the
//! deletion whether a retained resource is still in the account. Only reads.

use aws_sdk_cloudformation::Client;
use serde::Serialize;

use super::stack::{describe, ObservedStack};
use crate::aws::{classify, Aws};
use crate::error::Result;

/// One resource of the stack as DescribeStackResources lists it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ListedResource {
    pub logical_id: String,
    pub resource_type: String,
    /// Empty for a resource that was never created.
    pub physical_id: String,
    pub status: Option<String>,
}

/// The stack named `name` (and its deployed template), or None when there is none.
pub async fn stack(cfn: &Client, name: &str) -> Result<Option<ObservedStack>> {
    describe(cfn, name).await
}

/// Every resource of the stack `name`, whose id is `stack.stack_id`.
pub async fn resources(
    cfn: &Client,
    name: &str,
    stack: &ObservedStack,
) -> Result<Vec<ListedResource>> {
    let out = cfn
        .describe_stack_resources()
        .stack_name(&stack.stack_id)
        .send()
        .await
        .map_err(|e| classify(&e, "reading the stack's resources", name))?;
    Ok(out
        .stack_resources()
        .iter()
        .map(|r| ListedResource {
            logical_id: r.logical_resource_id().unwrap_or_default().to_string(),
            resource_type: r.resource_type().unwrap_or_default().to_string(),
            physical_id: r.physical_resource_id().unwrap_or_default().to_string(),
            status: r.resource_status().map(|s| s.as_str().to_string()),
        })
        .collect())
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
