pub mod destroy;
mod destroy_observe;
mod dynamodb;
mod iam;
mod s3;

use crate::aws::Aws;
use crate::error::Result;
use crate::model::DesiredState;
use crate::plan::{Kind, Plan, ResourcePlan};
use crate::report::Reporter;

/// Apply every operation of the plan. The provider comes before the role (the role's trust
/// names it); the bucket and the table are independent of both.
pub async fn apply(
    aws: &Aws,
    desired: &DesiredState,
    plan: &Plan,
    reporter: &Reporter,
) -> Result<()> {
    let empty = |kind| ResourcePlan {
        kind,
        name: String::new(),
        action: crate::plan::Action::Unchanged,
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
    let identity = async {
        let created_provider =
            iam::apply_provider(aws, &desired.provider, &provider.ops, reporter).await?;
        iam::apply_role(aws, &desired.role, &role.ops, created_provider, reporter).await
    };
    let state = s3::apply_bucket(aws, &desired.bucket, &bucket.ops, reporter);
    let lock = async {
        match (&desired.table, table) {
            (Some(d), Some(t)) => dynamodb::apply_table(aws, d, &t.ops, reporter).await,
            _ => Ok(()),
        }
    };
    tokio::try_join!(identity, state, lock)?;
    Ok(())
}

/// Retry `f` with exponential backoff while `retryable` says the error is a transient
/// consistency error; bounded to about 30 seconds. No fixed sleeps: each wait doubles.
pub(crate) async fn with_consistency_retry<T, F, Fut>(
    mut f: F,
    retryable: impl Fn(&crate::error::Error) -> bool,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut delay = std::time::Duration::from_millis(250);
    let mut waited = std::time::Duration::ZERO;
    loop {
        match f().await {
            Err(e) if retryable(&e) && waited < std::time::Duration::from_secs(30) => {
                tokio::time::sleep(delay).await;
                waited += delay;
                delay = (delay * 2).min(std::time::Duration::from_secs(8));
            }
            other => return other,
        }
    }
}
