//! What the stages say while they work: progress lines and warnings on stderr. The stages
//! that run before the report (observe, apply) see only this trait, so what they say does
//! not depend on how results are shown; `report::Reporter` is the implementation.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A sink for what a stage says while it works.
pub trait Progress: Sync {
    /// A progress line for people (silenced by `-q`).
    fn progress(&self, msg: &str);

    /// A warning: shown even with `-q`, and carried into the JSON document.
    fn warn(&self, msg: String);
}

/// How often at most a wait is told about.
pub const WAIT_EVERY: Duration = Duration::from_secs(5);

/// A wait AWS imposes (a table CREATING, backups being enabled, an entity not yet visible),
/// told as a progress line when it starts and then at most once every [`WAIT_EVERY`], so a
/// run that waits for minutes is not silent and one that polls every second is not noisy.
pub struct Waiting<'a> {
    progress: &'a dyn Progress,
    what: String,
    started: Instant,
    /// Nothing is told before the wait has lasted this long.
    grace: Duration,
    last: Mutex<Option<Instant>>,
}

impl<'a> Waiting<'a> {
    /// A wait for `what` ("lock table X to become ACTIVE"), told at its first look.
    pub fn new(progress: &'a dyn Progress, what: impl Into<String>) -> Waiting<'a> {
        Waiting {
            progress,
            what: what.into(),
            started: Instant::now(),
            grace: Duration::ZERO,
            last: Mutex::new(None),
        }
    }

    /// A wait that is usually over at once (IAM's eventual consistency): told only once it
    /// has lasted `grace`.
    pub fn after(mut self, grace: Duration) -> Waiting<'a> {
        self.grace = grace;
        self
    }

    /// One more look found the wait not over (`state`, e.g. CREATING): a line if one is due.
    pub fn still(&self, state: &str) {
        let now = Instant::now();
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        if now.duration_since(self.started) < self.grace || !due(*last, now) {
            return;
        }
        *last = Some(now);
        let waited = now.duration_since(self.started).as_secs();
        let so_far = if waited == 0 {
            String::new()
        } else {
            format!(", {waited} s so far")
        };
        self.progress
            .progress(&format!("waiting for {} ({state}{so_far})", self.what));
    }
}

/// Whether a wait's line is due at `now`, the previous one told at `last`.
fn due(last: Option<Instant>, now: Instant) -> bool {
    last.is_none_or(|l| now.duration_since(l) >= WAIT_EVERY)
}

/// Says nothing (unit tests).
#[cfg(test)]
pub struct Silent;

#[cfg(test)]
impl Progress for Silent {
    fn progress(&self, _msg: &str) {}

    fn warn(&self, _msg: String) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Lines(Mutex<Vec<String>>);

    impl Progress for Lines {
        fn progress(&self, msg: &str) {
            self.0.lock().unwrap().push(msg.to_string());
        }

        fn warn(&self, _msg: String) {}
    }

    #[test]
    fn a_wait_is_told_at_once_then_at_most_every_few_seconds() {
        let t0 = Instant::now();
        assert!(due(None, t0));
        assert!(!due(Some(t0), t0 + Duration::from_secs(1)));
        assert!(!due(Some(t0), t0 + WAIT_EVERY - Duration::from_millis(1)));
        assert!(due(Some(t0), t0 + WAIT_EVERY));

        let lines = Lines(Mutex::new(Vec::new()));
        let waiting = Waiting::new(&lines, "lock table t to become ACTIVE");
        for _ in 0..50 {
            waiting.still("CREATING");
        }
        let told = lines.0.lock().unwrap().clone();
        assert_eq!(
            told,
            vec!["waiting for lock table t to become ACTIVE (CREATING)".to_string()]
        );

        let quiet = Lines(Mutex::new(Vec::new()));
        let brief = Waiting::new(&quiet, "role r").after(Duration::from_secs(60));
        brief.still("not visible yet");
        assert!(quiet.0.lock().unwrap().is_empty(), "told within its grace");
    }
}
