pub mod destroy;
mod dynamodb;
mod iam;
mod s3;

use crate::aws::retry::{self, Backoff};
use crate::aws::Aws;
use crate::error::Result;
use crate::model::DesiredState;
use crate::observe::{self, Observed};
use crate::plan::{Kind, Plan, ResourcePlan};
use crate::report::Reporter;

/// Apply every operation of the plan and return the live state afterwards. S3 and DynamoDB
/// confirm each setting in their answer; IAM is eventually consistent, so a changed provider
/// or role is read back as soon as its own writes are done (the caller verifies it). The
/// bucket, the table and the provider/role pair converge concurrently.
pub async fn apply(
    aws: &Aws,
    desired: &DesiredState,
    plan: &Plan,
    before: &Observed,
    reporter: &Reporter,
) -> Result<Observed> {
    let empty = |kind| ResourcePlan {
        kind,
        name: String::new(),
        action: crate::plan::Action::Unchanged,
        adopt: false,
        changes: Vec::new(),
        ops: Vec::new(),
    };
    let provider = plan
        .get(Kind::OidcProvider)
        .cloned()
        .unwrap_or_else(|| empty(Kind::OidcProvider));
    let role = plan
        .get(Kind::Role)
        .cloned()
        .unwrap_or_else(|| empty(Kind::Role));
    let bucket = plan
        .get(Kind::StateBucket)
        .cloned()
        .unwrap_or_else(|| empty(Kind::StateBucket));
    let table = plan.get(Kind::LockTable).cloned();
    // The role's trust names the provider, but IAM does not need the provider to exist to
    // store it: create both at once, and retry the role (bounded backoff) if IAM refuses a
    // principal it does not know yet.
    let provider_pending = provider
        .ops
        .iter()
        .any(|o| matches!(o, crate::plan::Op::CreateProvider));
    let role_pending = role
        .ops
        .iter()
        .any(|o| matches!(o, crate::plan::Op::CreateRole));
    let provider_then_read = async {
        iam::apply_provider(aws, &desired.provider, &provider.ops, reporter).await?;
        if provider.ops.is_empty() {
            Ok(before.provider.clone())
        } else {
            read_back(provider_pending, || {
                observe::provider(aws, &desired.provider.arn)
            })
            .await
        }
    };
    let role_then_read = async {
        iam::apply_role(aws, &desired.role, &role.ops, provider_pending, reporter).await?;
        if role.ops.is_empty() {
            Ok(before.role.clone())
        } else {
            read_back(role_pending, || {
                observe::role(aws, &desired.role.name, &desired.role.inline_policy_name)
            })
            .await
        }
    };
    let state = s3::apply_bucket(aws, &desired.bucket, &bucket.ops, reporter);
    let lock = async {
        match (&desired.table, table) {
            (Some(d), Some(t)) => dynamodb::apply_table(aws, d, &t.ops, reporter).await,
            _ => Ok(()),
        }
    };
    let (provider, role, (), ()) =
        tokio::try_join!(provider_then_read, role_then_read, state, lock)?;
    Ok(Observed {
        provider,
        role,
        bucket: before.bucket.clone(),
        table: before.table.clone(),
    })
}

/// Retry `f` with the one bounded backoff ([`crate::aws::retry`]) while `retryable` says the
/// error is transient.
pub(crate) async fn with_consistency_retry<T, F, Fut>(
    f: F,
    retryable: impl Fn(&crate::error::Error) -> bool,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    retry::with_backoff(Backoff::BRIEF, f, retryable).await
}

/// Read back an IAM entity. One created by this run may be unknown to IAM's reads for a
/// moment (eventual consistency): then poll, with the one backoff, until it shows.
async fn read_back<T, F, Fut>(created: bool, read: F) -> Result<Option<T>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>>>,
{
    if created {
        retry::until(Backoff::BRIEF, read).await
    } else {
        let mut read = read;
        read().await
    }
}
