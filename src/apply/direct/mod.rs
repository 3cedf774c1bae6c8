//! Direct mode's apply: walk the plan's operations with SDK calls (IAM, S3, DynamoDB), then
//! read the provider and the role back until IAM, eventually consistent, shows what was
//! written. Only executes: the plan was computed (and confirmed) before.

pub mod destroy;
mod dynamodb;
mod iam;
mod s3;

use std::future::Future;

use crate::aws::retry::{self, Backoff};
use crate::aws::Aws;
use crate::error::{Error, Result};
use crate::model::DesiredState;
use crate::observe::{self, Observed};
use crate::plan::{self, Action, Kind, Op, Plan};
use crate::progress::Progress;

/// Apply every operation of the plan and return the live state afterwards. S3 and DynamoDB
/// confirm each setting in their answer; IAM is eventually consistent, so a changed provider
/// or role is read back as soon as its own writes are done, and again (the one backoff) until
/// it reads as planned. The bucket, the table and the provider/role pair converge
/// concurrently. A provider or role that does not read back as planned within the backoff's
/// budget is an error naming it.
pub async fn apply(
    aws: &Aws,
    desired: &DesiredState,
    plan: &Plan,
    before: &Observed,
    reporter: &dyn Progress,
) -> Result<Observed> {
    let ops = |kind| plan.get(kind).map(|r| r.ops.as_slice()).unwrap_or_default();
    let (provider_ops, role_ops) = (ops(Kind::OidcProvider), ops(Kind::Role));
    // The role's trust names the provider, but IAM does not need the provider to exist to
    // store it: create both at once, and retry the role (bounded backoff) if IAM refuses a
    // principal it does not know yet.
    let provider_pending = provider_ops.iter().any(|o| matches!(o, Op::CreateProvider));
    let provider_then_read = async {
        iam::apply_provider(aws, &desired.provider, provider_ops, reporter).await?;
        if provider_ops.is_empty() {
            return Ok(Some(before.provider.clone()));
        }
        read_back(
            || observe::provider(aws, &desired.provider.arn),
            |o| plan::iam::provider(&desired.provider, Some(o)).action == Action::Unchanged,
        )
        .await
    };
    let role_then_read = async {
        iam::apply_role(aws, &desired.role, role_ops, provider_pending, reporter).await?;
        if role_ops.is_empty() {
            return Ok(Some(before.role.clone()));
        }
        read_back(
            || observe::role(aws, &desired.role.name, &desired.role.inline_policy_name),
            |o| plan::iam::role(&desired.role, Some(o)).action == Action::Unchanged,
        )
        .await
    };
    let state = s3::apply_bucket(aws, &desired.bucket, ops(Kind::StateBucket), reporter);
    let lock = async {
        match (&desired.table, plan.get(Kind::LockTable)) {
            (Some(d), Some(t)) => dynamodb::apply_table(aws, d, &t.ops, reporter).await,
            _ => Ok(()),
        }
    };
    let (provider, role, (), ()) =
        tokio::try_join!(provider_then_read, role_then_read, state, lock)?;
    match (provider, role) {
        (Some(provider), Some(role)) => Ok(Observed {
            provider,
            role,
            bucket: before.bucket.clone(),
            table: before.table.clone(),
        }),
        (provider, role) => Err(unsettled(desired, provider.is_none(), role.is_none())),
    }
}

/// Read an IAM entity back until it reads as planned (`settled`): one created by this run may
/// be unknown to IAM's reads for a moment, and one changed may still show its old state.
/// `Some(entity)` once settled; `None` when the backoff's budget is spent first.
async fn read_back<T, F, Fut>(
    mut read: F,
    settled: impl Fn(&T) -> bool,
) -> Result<Option<Option<T>>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let found = retry::until(Backoff::BRIEF, || {
        let read = read();
        let settled = &settled;
        async move { Ok(read.await?.filter(|v| settled(v))) }
    })
    .await?;
    Ok(found.map(Some))
}

/// The error for a provider or role that did not read back as planned.
fn unsettled(desired: &DesiredState, provider: bool, role: bool) -> Error {
    let mut left = Vec::new();
    if provider {
        left.push(format!(
            "{} {}",
            Kind::OidcProvider.label(),
            desired.provider.arn
        ));
    }
    if role {
        left.push(format!("{} {}", Kind::Role.label(), desired.role.name));
    }
    Error::failure(format!(
        "applied, but reading back shows differences in: {}",
        left.join(", ")
    ))
    .hint("run `bootstrap status` to see them, then `bootstrap init` again")
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn a_read_back_polls_past_absent_and_stale_answers() {
        let calls = AtomicUsize::new(0);
        // NoSuchEntity (None) first, then the old state, then what was written.
        let got = read_back(
            || async {
                Ok(match calls.fetch_add(1, Ordering::SeqCst) {
                    0 => None,
                    1 => Some("old"),
                    _ => Some("new"),
                })
            },
            |v| *v == "new",
        )
        .await
        .unwrap();
        assert_eq!(got, Some(Some("new")));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_read_back_error_stops_it() {
        let got: Result<Option<Option<()>>> =
            read_back(|| async { Err(Error::failure("denied")) }, |_| true).await;
        assert!(got.is_err());
    }
}
