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
use futures::stream::{self, StreamExt, TryStreamExt};

use crate::model::{DesiredRole, DesiredState};
use crate::observe::{self, Observed, ObservedRole};
use crate::plan::{self, Action, Kind, Op, Plan};
use crate::progress::{Progress, Waiting};

/// IAM usually shows a change at once: a read-back is told about only once it takes longer.
const IAM_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// Apply every operation of the plan and return the live state afterwards. S3 and DynamoDB
/// confirm each setting in their answer; IAM is eventually consistent, so a changed provider
/// or role is read back as soon as its own writes are done, and again (the one backoff) until
/// it reads as planned. The bucket, the table, the provider and the roles (a few at a time)
/// converge concurrently. A provider or role that does not read back as planned within the backoff's
/// budget is an error naming it.
pub async fn apply(
    aws: &Aws,
    desired: &DesiredState,
    plan: &Plan,
    before: &Observed,
    reporter: &dyn Progress,
) -> Result<Observed> {
    let ops = |kind| plan.get(kind).map(|r| r.ops.as_slice()).unwrap_or_default();
    let provider_ops = ops(Kind::OidcProvider);
    // A role's trust names the provider, but IAM does not need the provider to exist to
    // store it: create them all at once, and retry a role (bounded backoff) if IAM refuses a
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
            &Waiting::new(
                reporter,
                format!("IAM to show oidc provider {}", desired.provider.arn),
            )
            .after(IAM_GRACE),
        )
        .await
    };
    // A few roles are written at a time (IAM throttles writes); many wait for IAM to show
    // what was written meanwhile, so the writes go on at the rate IAM allows.
    // Every role is under way at once: writes hold one of a few permits, reads back one of
    // more, and a role waiting for IAM to show it holds neither.
    let writers = tokio::sync::Semaphore::new(observe::ROLE_WRITE_CONCURRENCY);
    let readers = tokio::sync::Semaphore::new(observe::ROLE_CONCURRENCY);
    let roles = stream::iter(desired.roles.iter().enumerate())
        .map(|(i, role)| {
            let role_ops = plan
                .role(&role.name)
                .map(|r| r.ops.as_slice())
                .unwrap_or_default();
            let found = before.roles.get(i).cloned().flatten();
            let write = Write {
                ops: role_ops,
                provider_pending,
                writers: &writers,
                readers: &readers,
            };
            role_then_read(aws, role, write, found, reporter)
        })
        .buffered(desired.roles.len().max(1))
        .try_collect::<Vec<_>>();
    let state = s3::apply_bucket(aws, &desired.bucket, ops(Kind::StateBucket), reporter);
    let lock = async {
        match (&desired.table, plan.get(Kind::LockTable)) {
            (Some(d), Some(t)) => dynamodb::apply_table(aws, d, &t.ops, reporter).await,
            _ => Ok(()),
        }
    };
    let (provider, roles, (), ()) = tokio::try_join!(provider_then_read, roles, state, lock)?;
    let unsettled_roles: Vec<&str> = desired
        .roles
        .iter()
        .zip(&roles)
        .filter(|(_, r)| r.is_none())
        .map(|(d, _)| d.name.as_str())
        .collect();
    match provider {
        Some(provider) if unsettled_roles.is_empty() => Ok(Observed {
            provider,
            roles: roles.into_iter().flatten().collect(),
            bucket: before.bucket.clone(),
            table: before.table.clone(),
        }),
        provider => Err(unsettled(desired, provider.is_none(), &unsettled_roles)),
    }
}

/// A role's writes: its operations, whether the provider is being created, and the permits
/// that bound how many roles are written and read back at once.
struct Write<'a> {
    ops: &'a [Op],
    provider_pending: bool,
    writers: &'a tokio::sync::Semaphore,
    readers: &'a tokio::sync::Semaphore,
}

/// Apply one role's operations (holding a write permit) and read it back until it reads as
/// planned (`None` when it does not within the backoff's budget).
async fn role_then_read(
    aws: &Aws,
    role: &DesiredRole,
    write: Write<'_>,
    before: Option<ObservedRole>,
    reporter: &dyn Progress,
) -> Result<Option<Option<ObservedRole>>> {
    let role_ops = write.ops;
    if !role_ops.is_empty() {
        iam::apply_role(
            aws,
            role,
            role_ops,
            write.provider_pending,
            write.writers,
            reporter,
        )
        .await?;
    }
    if role_ops.is_empty() {
        return Ok(Some(before));
    }
    read_back(
        || async {
            // The semaphore is never closed.
            let _permit = write.readers.acquire().await.ok();
            observe::role(aws, &role.name, &role.inline_policy_name).await
        },
        |o| plan::iam::role(role, Some(o)).is_ok_and(|p| p.action == Action::Unchanged),
        &Waiting::new(
            reporter,
            format!("IAM to show role {} as written", role.name),
        )
        .after(IAM_GRACE),
    )
    .await
}

/// Read an IAM entity back until it reads as planned (`settled`): one created by this run may
/// be unknown to IAM's reads for a moment, and one changed may still show its old state.
/// `Some(entity)` once settled; `None` when the backoff's budget is spent first.
async fn read_back<T, F, Fut>(
    mut read: F,
    settled: impl Fn(&T) -> bool,
    waiting: &Waiting<'_>,
) -> Result<Option<Option<T>>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let found = retry::until(Backoff::BRIEF, || {
        let read = read();
        let settled = &settled;
        async move {
            let got = read.await?;
            let state = if got.is_some() {
                "its old state still shows"
            } else {
                "not visible yet"
            };
            let done = got.filter(|v| settled(v));
            if done.is_none() {
                waiting.still(state);
            }
            Ok(done)
        }
    })
    .await?;
    Ok(found.map(Some))
}

/// The error for a provider or role that did not read back as planned.
fn unsettled(desired: &DesiredState, provider: bool, roles: &[&str]) -> Error {
    let mut left = Vec::new();
    if provider {
        left.push(format!(
            "{} {}",
            Kind::OidcProvider.label(),
            desired.provider.arn
        ));
    }
    for name in roles {
        left.push(format!("{} {name}", Kind::Role.label()));
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

    fn quiet() -> Waiting<'static> {
        Waiting::new(&crate::progress::Silent, "a test entity")
    }

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
            &quiet(),
        )
        .await
        .unwrap();
        assert_eq!(got, Some(Some("new")));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_read_back_error_stops_it() {
        let got: Result<Option<Option<()>>> = read_back(
            || async { Err(Error::failure("denied")) },
            |_| true,
            &quiet(),
        )
        .await;
        assert!(got.is_err());
    }
}
