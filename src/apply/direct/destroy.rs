//! `destroy` in direct mode: carry out the destroy plan ([`crate::plan::destroy`]). The role
//! goes (its inline policies and attachments first) before the provider it trusts; an empty
//! state bucket and an idle lock table go only when the plan says so (`--delete-state`).
//! A resource already gone is not an error, so an interrupted run converges on re-run.
//!
//! Nothing here deletes an object or an object version: there is no code path that calls
//! DeleteObject(s). S3 itself refuses DeleteBucket on a bucket that gained an object after
//! the check (`BucketNotEmpty`).

use futures::future::try_join_all;

use super::{dynamodb, with_consistency_retry};
use crate::aws::{classify, errors, Aws};
use crate::error::{Error, Result};
use crate::observe::destroy::Targets;
use crate::plan::destroy::{Op, Plan};
use crate::plan::Kind;
use crate::progress::Progress;

/// Carry out the plan. The role goes before the provider it trusts; the bucket and the table
/// are independent of both.
pub async fn apply(aws: &Aws, t: &Targets, plan: &Plan, reporter: &dyn Progress) -> Result<()> {
    if let Some(err) = plan.refusal_error() {
        return Err(err);
    }
    let identity = async {
        delete_roles(&aws.iam, &plan.role_ops(), reporter).await?;
        delete_provider(
            aws,
            &t.provider_arn,
            &plan.ops_of(Kind::OidcProvider),
            reporter,
        )
        .await
    };
    let bucket_ops = plan.ops_of(Kind::StateBucket);
    let bucket = delete_bucket(aws, &t.bucket, &bucket_ops, reporter);
    let table = async {
        match &t.table {
            Some(name) => delete_table(aws, name, &plan.ops_of(Kind::LockTable), reporter).await,
            None => Ok(()),
        }
    };
    tokio::try_join!(identity, bucket, table)?;
    Ok(())
}

/// Remove one inline policy or one attachment from the role `name` (already gone is fine).
async fn detach(
    iam: &aws_sdk_iam::Client,
    name: &str,
    op: &Op,
    reporter: &dyn Progress,
) -> Result<()> {
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
                    reporter.progress(&format!("deleted inline policy {policy} of role {name}"));
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
                Ok(_) => reporter.progress(&format!("detached {arn} from role {name}")),
                Err(e) if errors::is(&e, &["NoSuchEntity"]) => {}
                Err(e) => return Err(classify(&e, &format!("detaching {arn}"), name)),
            }
        }
        _ => {}
    }
    Ok(())
}

/// Delete every role of the plan (with what is attached to it), at most
/// [`crate::observe::ROLE_WRITE_CONCURRENCY`] at a time.
pub(crate) async fn delete_roles(
    iam: &aws_sdk_iam::Client,
    roles: &[(&str, &[Op])],
    reporter: &dyn Progress,
) -> Result<()> {
    use futures::stream::{self, StreamExt, TryStreamExt};
    stream::iter(roles)
        .map(|(name, ops)| delete_role(iam, name, ops, reporter))
        .buffer_unordered(crate::observe::ROLE_WRITE_CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

/// Delete the role `name`: its inline policies and attachments first (concurrently), then
/// the role itself.
async fn delete_role(
    iam: &aws_sdk_iam::Client,
    name: &str,
    ops: &[Op],
    reporter: &dyn Progress,
) -> Result<()> {
    if ops.is_empty() {
        return Ok(());
    }
    try_join_all(ops.iter().map(|op| detach(iam, name, op, reporter))).await?;
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
        reporter.progress(&format!("deleted role {name}"));
    }
    Ok(())
}

async fn delete_provider(aws: &Aws, arn: &str, ops: &[Op], reporter: &dyn Progress) -> Result<()> {
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
        Ok(_) => reporter.progress(&format!("deleted oidc provider {arn}")),
        Err(e) if errors::is(&e, &["NoSuchEntity"]) => {}
        Err(e) => return Err(classify(&e, "deleting the OIDC provider", arn)),
    }
    Ok(())
}

async fn delete_bucket(aws: &Aws, name: &str, ops: &[Op], reporter: &dyn Progress) -> Result<()> {
    if !ops.contains(&Op::DeleteBucket) {
        return Ok(());
    }
    match aws.s3.delete_bucket().bucket(name).send().await {
        Ok(_) => reporter.progress(&format!("deleted empty bucket {name}")),
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

async fn delete_table(aws: &Aws, name: &str, ops: &[Op], reporter: &dyn Progress) -> Result<()> {
    if ops.contains(&Op::DisableDeletionProtection) {
        match aws
            .dynamodb
            .update_table()
            .table_name(name)
            .deletion_protection_enabled(false)
            .send()
            .await
        {
            Ok(_) => reporter.progress(&format!("turned deletion protection off on {name}")),
            Err(e) if errors::is(&e, &["ResourceNotFoundException"]) => return Ok(()),
            Err(e) => return Err(classify(&e, "turning deletion protection off", name)),
        }
        dynamodb::wait_active(aws, name, reporter).await?;
    }
    if ops.contains(&Op::DeleteTable) {
        match aws.dynamodb.delete_table().table_name(name).send().await {
            Ok(_) => reporter.progress(&format!("deleted lock table {name}")),
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

#[cfg(test)]
#[path = "destroy_tests.rs"]
mod tests;
