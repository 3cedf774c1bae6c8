//! Waiting for a stack operation: poll the stack's status under a time bound, stream its new
//! events to stderr as they happen, and keep them to explain a failure.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use aws_sdk_cloudformation::Client;

use crate::aws::classify;
use crate::error::{Error, Result};
pub use crate::observe::stack::Event;
use crate::observe::stack::{event, first_failure};
use crate::progress::Progress;

/// How long to wait and how often to look.
#[derive(Debug, Clone, Copy)]
pub struct WaitConfig {
    /// Give up waiting (the operation carries on in CloudFormation) after this long.
    pub timeout: Duration,
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl Default for WaitConfig {
    fn default() -> Self {
        WaitConfig {
            timeout: Duration::from_secs(40 * 60),
            // Look again soon (a small stack or change set is often done in a second or
            // two), then back off to one look every 5 s.
            first_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl WaitConfig {
    /// For tests against local or mocked endpoints: tiny delays, a short bound.
    pub fn fast() -> Self {
        WaitConfig {
            timeout: Duration::from_secs(30),
            first_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
        }
    }
}

/// The events of one operation on one stack, in the order they happened.
#[derive(Debug, Default)]
pub struct EventLog {
    stack: String,
    /// The newest event before the operation began; events up to it are not ours.
    watermark: Option<String>,
    seen: HashSet<String>,
    pub events: Vec<Event>,
}

impl EventLog {
    /// For a stack created just now: every event is part of this operation.
    pub fn from_start(stack_id: &str) -> EventLog {
        EventLog {
            stack: stack_id.to_string(),
            ..Default::default()
        }
    }

    /// For an existing stack: remember its newest event, so only later ones are shown.
    pub async fn starting_now(cfn: &Client, stack_id: &str) -> Result<EventLog> {
        let out = cfn
            .describe_stack_events()
            .stack_name(stack_id)
            .send()
            .await
            .map_err(|e| classify(&e, "reading the stack events", stack_id))?;
        Ok(EventLog {
            stack: stack_id.to_string(),
            watermark: out
                .stack_events()
                .first()
                .and_then(|e| e.event_id())
                .map(str::to_string),
            ..Default::default()
        })
    }

    /// Fetch the events that happened since the last poll and print them.
    pub async fn poll(&mut self, cfn: &Client, reporter: &dyn Progress) -> Result<()> {
        let mut fresh = Vec::new();
        let mut token: Option<String> = None;
        // Newest first, page by page, until an event already known (bounded).
        'pages: for _ in 0..20 {
            let out = cfn
                .describe_stack_events()
                .stack_name(&self.stack)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| classify(&e, "reading the stack events", &self.stack))?;
            for e in out.stack_events() {
                let id = e.event_id().unwrap_or_default().to_string();
                if self.watermark.as_deref() == Some(id.as_str()) || self.seen.contains(&id) {
                    break 'pages;
                }
                self.seen.insert(id);
                fresh.push(event(e));
            }
            token = out.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        for e in fresh.into_iter().rev() {
            reporter.progress(&e.line());
            self.events.push(e);
        }
        Ok(())
    }

    /// The event that explains a failure of this operation.
    pub fn first_failure(&self) -> Option<&Event> {
        first_failure(&self.events)
    }
}

/// The stack's status and status reason, by id (works for deleted stacks too).
pub async fn stack_status(cfn: &Client, stack_id: &str) -> Result<(String, Option<String>)> {
    let out = cfn
        .describe_stacks()
        .stack_name(stack_id)
        .send()
        .await
        .map_err(|e| classify(&e, "reading the stack", stack_id))?;
    let stack = out
        .stacks()
        .first()
        .ok_or_else(|| Error::failure("DescribeStacks returned no stack").resource(stack_id))?;
    Ok((
        stack
            .stack_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        stack.stack_status_reason().map(str::to_string),
    ))
}

/// Wait until the stack is no longer `*_IN_PROGRESS`, streaming events; returns the final
/// status. `what` names the operation for messages ("creating the stack").
pub async fn wait_stack(
    cfn: &Client,
    stack_id: &str,
    log: &mut EventLog,
    cfg: WaitConfig,
    reporter: &dyn Progress,
    what: &str,
) -> Result<String> {
    let start = Instant::now();
    let mut delay = cfg.first_delay;
    loop {
        log.poll(cfn, reporter).await?;
        let (status, _) = stack_status(cfn, stack_id).await?;
        if !status.ends_with("_IN_PROGRESS") {
            // Events written just before the status changed.
            log.poll(cfn, reporter).await?;
            return Ok(status);
        }
        if start.elapsed() >= cfg.timeout {
            return Err(Error::failure(format!(
                "{what}: still {status} after {} minutes; CloudFormation carries on without us",
                cfg.timeout.as_secs() / 60
            ))
            .resource(stack_id)
            .hint("follow it with `bootstrap status --mode cloudformation` or in the CloudFormation console, then run the command again"));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(cfg.max_delay);
    }
}
