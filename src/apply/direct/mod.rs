pub mod destroy;
mod destroy_observe;
mod dynamodb;
mod iam;
mod s3;

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
    let provider_then_read = async {
        iam::apply_provider(aws, &desired.provider, &provider.ops, reporter).await?;
        if provider.ops.is_empty() {
            Ok(before.provider.clone())
        } else {
            observe::provider(aws, &desired.provider.arn).await
        }
    };
    let role_then_read = async {
        iam::apply_role(aws, &desired.role, &role.ops, provider_pending, reporter).await?;
        if role.ops.is_empty() {
            Ok(before.role.clone())
        } else {
            observe::role(aws, &desired.role.name, &desired.role.inline_policy_name).await
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

/// Retry `f` with exponential backoff while `retryable` says the error is a transient
/// consistency error; bounded to about 30 seconds. No fixed sleeps: each wait doubles.
pub(crate) async fn with_consistency_retry<T, F, Fut>(
    f: F,
    retryable: impl Fn(&crate::error::Error) -> bool,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    with_backoff(
        f,
        retryable,
        std::time::Duration::from_millis(250),
        std::time::Duration::from_secs(30),
    )
    .await
}

/// The retry loop: first wait `first`, doubling up to 8 s, while the waits so far are
/// under `budget`; the last error is returned once the budget is spent.
async fn with_backoff<T, F, Fut>(
    mut f: F,
    retryable: impl Fn(&crate::error::Error) -> bool,
    first: std::time::Duration,
    budget: std::time::Duration,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut delay = first;
    let mut waited = std::time::Duration::ZERO;
    loop {
        match f().await {
            Err(e) if retryable(&e) && waited < budget => {
                tokio::time::sleep(delay).await;
                waited += delay;
                delay = (delay * 2).min(std::time::Duration::from_secs(8));
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::with_backoff;
    use crate::error::Error;

    fn conflict() -> Error {
        Error::failure("busy").code("DeleteConflict")
    }

    #[tokio::test]
    async fn retries_until_success() {
        let calls = AtomicUsize::new(0);
        let out = with_backoff(
            || async {
                if calls.fetch_add(1, Ordering::SeqCst) < 3 {
                    Err(conflict())
                } else {
                    Ok(7)
                }
            },
            |e| e.code.as_deref() == Some("DeleteConflict"),
            Duration::from_millis(1),
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(out.unwrap(), 7);
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn gives_up_when_the_budget_is_spent() {
        let calls = AtomicUsize::new(0);
        let out: crate::error::Result<()> = with_backoff(
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(conflict())
            },
            |_| true,
            Duration::from_millis(1),
            Duration::from_millis(20),
        )
        .await;
        assert_eq!(out.unwrap_err().code.as_deref(), Some("DeleteConflict"));
        // Waits of 1, 2, 4, 8 and 16 ms: the budget is spent after the fifth.
        assert_eq!(calls.load(Ordering::SeqCst), 6);
    }

    #[tokio::test]
    async fn other_errors_are_not_retried() {
        let calls = AtomicUsize::new(0);
        let out: crate::error::Result<()> = with_backoff(
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(Error::failure("denied").code("AccessDenied"))
            },
            |e| e.code.as_deref() == Some("DeleteConflict"),
            Duration::from_millis(1),
            Duration::from_secs(5),
        )
        .await;
        assert!(out.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
