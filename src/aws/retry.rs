//! The one bounded backoff for calls AWS refuses for a while ([`super::errors::retryable`]
//! decides which): exponential from a short first wait, capped, with jitter, within a time
//! budget. No fixed sleeps: each wait follows a refusal or a state not reached yet.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::error::Result;

/// How long to keep trying, and how often.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
    /// Give up (return the last answer) once this much time has passed.
    pub budget: Duration,
}

impl Backoff {
    /// Brief conditions: a conflicting S3 configuration write, an IAM entity created moments
    /// ago, throttling. Seconds in practice.
    pub const BRIEF: Backoff = Backoff {
        first: Duration::from_millis(50),
        max: Duration::from_secs(2),
        budget: Duration::from_secs(60),
    };

    /// DynamoDB transitions: a table CREATING or UPDATING, backups being enabled. Usually
    /// seconds, sometimes minutes; a look every second at most, so the run carries on soon
    /// after the table does.
    pub const TABLE: Backoff = Backoff {
        first: Duration::from_millis(50),
        max: Duration::from_secs(1),
        budget: Duration::from_secs(300),
    };

    /// The wait after `attempt` (0-based) refusals: doubling from `first`, capped at `max`,
    /// then between half of it and all of it (jitter, so concurrent callers spread out).
    fn delay(&self, attempt: u32) -> Duration {
        let full = self
            .first
            .saturating_mul(2u32.saturating_pow(attempt.min(16)))
            .min(self.max);
        let half = full / 2;
        half + half.mul_f64(jitter())
    }
}

/// A number in [0, 1) that differs between calls (no randomness needed beyond spreading).
fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    // 53 bits, exactly representable in an f64's mantissa.
    #[allow(clippy::cast_precision_loss, reason = "both values are below 2^53")]
    let fraction = (h.finish() >> 11) as f64 / (1u64 << 53) as f64;
    fraction
}

/// Call `f` again after a backoff wait while `retryable` says its error is transient and the
/// budget lasts; the last answer otherwise.
pub async fn with_backoff<T, F, Fut>(
    backoff: Backoff,
    mut f: F,
    retryable: impl Fn(&crate::error::Error) -> bool,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let start = Instant::now();
    let mut attempt = 0;
    loop {
        match f().await {
            Err(e) if retryable(&e) && start.elapsed() < backoff.budget => {
                tokio::time::sleep(backoff.delay(attempt)).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Poll `f` until it answers `Some`, with the same waits; `None` once the budget is spent.
pub async fn until<T, F, Fut>(backoff: Backoff, mut f: F) -> Result<Option<T>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let start = Instant::now();
    let mut attempt = 0;
    loop {
        if let Some(v) = f().await? {
            return Ok(Some(v));
        }
        if start.elapsed() >= backoff.budget {
            return Ok(None);
        }
        tokio::time::sleep(backoff.delay(attempt)).await;
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::error::Error;

    const QUICK: Backoff = Backoff {
        first: Duration::from_millis(1),
        max: Duration::from_millis(4),
        budget: Duration::from_secs(5),
    };

    fn conflict() -> Error {
        Error::failure("busy").code("OperationAborted")
    }

    #[tokio::test]
    async fn retries_until_success() {
        let calls = AtomicUsize::new(0);
        let out = with_backoff(
            QUICK,
            || async {
                if calls.fetch_add(1, Ordering::SeqCst) < 3 {
                    Err(conflict())
                } else {
                    Ok(7)
                }
            },
            |e| e.code.as_deref() == Some("OperationAborted"),
        )
        .await;
        assert_eq!(out.unwrap(), 7);
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn gives_up_when_the_budget_is_spent() {
        let calls = AtomicUsize::new(0);
        let budget = Backoff {
            budget: Duration::from_millis(30),
            ..QUICK
        };
        let start = Instant::now();
        let out: Result<()> = with_backoff(
            budget,
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(conflict())
            },
            |_| true,
        )
        .await;
        assert_eq!(out.unwrap_err().code.as_deref(), Some("OperationAborted"));
        // At most 4 ms per wait: it stopped soon after the budget, having tried several times.
        assert!(start.elapsed() < Duration::from_millis(200));
        assert!(calls.load(Ordering::SeqCst) >= 8, "{calls:?}");
    }

    #[tokio::test]
    async fn other_errors_are_not_retried() {
        let calls = AtomicUsize::new(0);
        let out: Result<()> = with_backoff(
            QUICK,
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(Error::failure("denied").code("AccessDenied"))
            },
            |e| e.code.as_deref() == Some("OperationAborted"),
        )
        .await;
        assert!(out.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn until_polls_to_the_answer_or_the_budget() {
        let calls = AtomicUsize::new(0);
        let got = until(QUICK, || async {
            Ok((calls.fetch_add(1, Ordering::SeqCst) == 2).then_some("ACTIVE"))
        })
        .await
        .unwrap();
        assert_eq!(got, Some("ACTIVE"));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        let short = Backoff {
            budget: Duration::from_millis(10),
            ..QUICK
        };
        let never: Option<()> = until(short, || async { Ok(None) }).await.unwrap();
        assert_eq!(never, None);
    }

    #[test]
    fn waits_double_up_to_the_cap_with_jitter() {
        let b = Backoff {
            first: Duration::from_millis(100),
            max: Duration::from_millis(800),
            budget: Duration::from_secs(1),
        };
        for (attempt, full) in [(0, 100), (1, 200), (2, 400), (3, 800), (9, 800)] {
            let d = b.delay(attempt);
            let full = Duration::from_millis(full);
            assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?}");
        }
    }
}
