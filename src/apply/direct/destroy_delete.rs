//! The deletions `destroy` makes, one function per resource, each given the operations the
//! plan chose for it. A resource already gone is not an error, so an interrupted run
//! converges on re-run.

use futures::future::try_join_all;
use serde::Serialize;

use super::{dynamodb, with_consistency_retry};
use crate::aws::{classify, errors, Aws};
use crate::error::{Error, Result};
use crate::report::Reporter;

/// A mutating call `destroy` makes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    DeleteInlinePolicy { name: String },
    DetachPolicy { arn: String },
    DeleteRole,
    DeleteProvider,
    DeleteBucket,
    DisableDeletionProtection,
    DeleteTable,
}

pub(super) async fn delete_role(
    iam: &aws_sdk_iam::Client,
    name: &str,
    ops: &[Op],
    reporter: &Reporter,
) -> Result<()> {
    if ops.is_empty() {
        return Ok(());
    }
    let detach = ops.iter().map(|op| async move {
        match op {
            Op::DeleteInlinePolicy { name: policy } => {
                match iam
                    .delete_role_policy()
                    .role_name(name)
                    .policy_name(policy)
                    .send()
                    .await
                {
                    Ok(_) => {
                        reporter.progress(format!("deleted inline policy {policy} of role {name}"))
                    }
                    Err(e) if errors::is(&e, &["NoSuchEntity"]) => {}
                    Err(e) => {
                        return Err(classify(
                            &e,
                            &format!("deleting inline policy {policy}"),
                            name,
                        ))
                    }
                }
            }
            Op::DetachPolicy { arn } => {
                match iam
                    .detach_role_policy()
                    .role_name(name)
                    .policy_arn(arn)
                    .send()
                    .await
                {
                    Ok(_) => reporter.progress(format!("detached {arn} from role {name}")),
                    Err(e) if errors::is(&e, &["NoSuchEntity"]) => {}
                    Err(e) => return Err(classify(&e, &format!("detaching {arn}"), name)),
                }
            }
            _ => {}
        }
        Ok::<_, Error>(())
    });
    try_join_all(detach).await?;
    if ops.contains(&Op::DeleteRole) {
        // IAM may still see a policy that was removed a moment ago: DeleteConflict is
        // retried with bounded backoff.
        with_consistency_retry(
            || async {
                match iam.delete_role().role_name(name).send().await {
                    Ok(_) => Ok(true),
                    Err(e) if errors::is(&e, &["NoSuchEntity"]) => Ok(false),
                    Err(e) => Err(classify(&e, "deleting the role", name)),
                }
            },
            |e| {
                let detached = errors::Known {
                    policies_just_removed: true,
                    ..Default::default()
                };
                errors::retryable(e, detached)
            },
        )
        .await?;
        reporter.progress(format!("deleted role {name}"));
    }
    Ok(())
}

pub(super) async fn delete_provider(
    aws: &Aws,
    arn: &str,
    ops: &[Op],
    reporter: &Reporter,
) -> Result<()> {
    if !ops.contains(&Op::DeleteProvider) {
        return Ok(());
    }
    match aws
        .iam
        .delete_open_id_connect_provider()
        .open_id_connect_provider_arn(arn)
        .send()
        .await
    {
        Ok(_) => reporter.progress(format!("deleted oidc provider {arn}")),
        Err(e) if errors::is(&e, &["NoSuchEntity"]) => {}
        Err(e) => return Err(classify(&e, "deleting the OIDC provider", arn)),
    }
    Ok(())
}

pub(super) async fn delete_bucket(
    aws: &Aws,
    name: &str,
    ops: &[Op],
    reporter: &Reporter,
) -> Result<()> {
    if !ops.contains(&Op::DeleteBucket) {
        return Ok(());
    }
    match aws.s3.delete_bucket().bucket(name).send().await {
        Ok(_) => reporter.progress(format!("deleted empty bucket {name}")),
        Err(e) if errors::is(&e, &["NoSuchBucket"]) => {}
        Err(e) if errors::is(&e, &["BucketNotEmpty"]) => {
            return Err(Error::failure(
                "the bucket received objects after it was checked; it was kept, and nothing in it was deleted",
            )
            .resource(name.to_string())
            .code("BucketNotEmpty")
            .hint("someone is using this state bucket: run destroy without --delete-state"))
        }
        Err(e) => return Err(classify(&e, "deleting the empty bucket", name)),
    }
    Ok(())
}

pub(super) async fn delete_table(
    aws: &Aws,
    name: &str,
    ops: &[Op],
    reporter: &Reporter,
) -> Result<()> {
    if ops.contains(&Op::DisableDeletionProtection) {
        match aws
            .dynamodb
            .update_table()
            .table_name(name)
            .deletion_protection_enabled(false)
            .send()
            .await
        {
            Ok(_) => reporter.progress(format!("turned deletion protection off on {name}")),
            Err(e) if errors::is(&e, &["ResourceNotFoundException"]) => return Ok(()),
            Err(e) => return Err(classify(&e, "turning deletion protection off", name)),
        }
        dynamodb::wait_active(aws, name).await?;
    }
    if ops.contains(&Op::DeleteTable) {
        match aws.dynamodb.delete_table().table_name(name).send().await {
            Ok(_) => reporter.progress(format!("deleted lock table {name}")),
            Err(e) if errors::is(&e, &["ResourceNotFoundException"]) => {}
            Err(e) => {
                return Err(classify(&e, "deleting the lock table", name).hint(
                    "run destroy again; if deletion protection was turned back on, it is turned off again first",
                ))
            }
        }
    }
    Ok(())
}
