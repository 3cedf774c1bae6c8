//! What `destroy` shows: in direct mode the plan before asking (or before refusing), and the
//! result of either mode ([`DestroyReport`]), as text and as the `--output json` document.

use std::fmt::Write;

use serde::Serialize;
use serde_json::Value;

use super::destroy_stack::StackDestroy;
use super::{Paint, Report, Reporter, DIM, RED, YELLOW};
use crate::model::Account;
use crate::plan::destroy::{Action, Item, Plan, OUTSIDE};
use crate::plan::Kind;

/// The plan as text: one line per resource, then its notes.
pub fn plan_text(plan: &Plan, paint: Paint) -> String {
    let mut text = String::new();
    for item in &plan.items {
        let (sign, word, color) = match item.action {
            Action::Delete => ("-", "delete", RED),
            Action::Keep => ("=", "keep", DIM),
            Action::Absent => (" ", "absent", DIM),
            Action::Refused => ("!", "refused", YELLOW),
        };
        let _ = writeln!(
            text,
            "{} {:<13} {}  {}",
            paint.paint(color, sign),
            item.kind.label(),
            item.name,
            paint.paint(color, word)
        );
        for note in &item.notes {
            let _ = writeln!(text, "      {note}");
        }
    }
    text
}

/// What is shown before asking: the plan, then how many resources go.
pub fn confirmation_text(plan: &Plan, paint: Paint) -> String {
    format!("{}{}\n", plan_text(plan, paint), summary_line(&plan.items))
}

/// A plan with refusals, shown on stderr before the error in text mode (even with `-q`: it
/// says why nothing was done).
pub fn show_refused(reporter: &Reporter, plan: &Plan) {
    if reporter.is_text() {
        eprint!("{}", plan_text(plan, reporter.painter()));
    }
}

fn summary_line(items: &[Item]) -> String {
    let count = |a| items.iter().filter(|i| i.action == a).count();
    if count(Action::Delete) > 0 {
        format!(
            "{} to delete, {} kept, {} already absent",
            count(Action::Delete),
            count(Action::Keep),
            count(Action::Absent)
        )
    } else {
        format!(
            "nothing to delete: {} kept, {} already absent",
            count(Action::Keep),
            count(Action::Absent)
        )
    }
}

/// The result of `destroy`, in either mode: one JSON document each, as before.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum DestroyReport {
    /// What went, what stayed and why, resource by resource.
    Direct(DirectDestroy),
    /// The stack, what went with it and what its DeletionPolicy left in the account.
    Stack(StackDestroy),
}

impl Report for DestroyReport {
    fn text(&self, paint: Paint) -> String {
        match self {
            DestroyReport::Direct(d) => d.text(paint),
            DestroyReport::Stack(s) => s.text(paint),
        }
    }
}

/// The result of `destroy` in direct mode.
#[derive(Debug, Clone, Serialize)]
pub struct DirectDestroy {
    pub account: Account,
    /// Whether anything was deleted.
    pub deleted: bool,
    /// The plan that was carried out, one item per resource.
    pub resources: Vec<Item>,
    pub aws_calls: Value,
}

impl DirectDestroy {
    pub fn new(account: Account, plan: Plan, aws_calls: Value) -> DirectDestroy {
        DirectDestroy {
            account,
            deleted: plan.has_deletions(),
            resources: plan.items,
            aws_calls,
        }
    }
}

impl DirectDestroy {
    fn text(&self, _paint: Paint) -> String {
        let mut text = String::new();
        for item in &self.resources {
            let what = match item.action {
                Action::Delete => "deleted",
                Action::Keep => "kept",
                Action::Absent => "absent",
                Action::Refused => "refused",
            };
            let _ = writeln!(text, "{:<13} {:<8} {}", item.kind.label(), what, item.name);
            // Why a shared resource stays (other roles trust or use it) is worth saying.
            if item.action == Action::Keep && item.notes.iter().any(|n| n.contains(OUTSIDE)) {
                for note in &item.notes {
                    let _ = writeln!(text, "      {note}");
                }
            }
        }
        let summary = summary_line(&self.resources);
        if self.deleted {
            let _ = writeln!(text, "\ndone: {}", summary.replace("to delete", "deleted"));
        } else {
            let _ = writeln!(text, "\n{summary}");
        }
        if self.resources.iter().any(|i| {
            i.action == Action::Keep
                && i.kind == Kind::StateBucket
                && i.notes.iter().any(|n| n.contains("--delete-state"))
        }) {
            let _ = writeln!(
                text,
                "The state bucket was kept with every object version in it; `--delete-state` deletes it once it is empty."
            );
        }
        text
    }
}
