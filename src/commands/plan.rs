use std::fmt::Write;

use serde_json::json;

use super::setup::{prepare, Prepared};
use crate::config::Settings;
use crate::error::Result;
use crate::plan::{Action, Plan};
use crate::report::{Output, Reporter, DIM, GREEN, YELLOW};

/// Text rendering of a plan, shared by `plan` and `init`.
pub fn render(plan: &Plan, reporter: &Reporter) -> String {
    let mut text = String::new();
    for r in &plan.resources {
        let (sign, word, color) = match r.action {
            Action::Create => ("+", "create", GREEN),
            Action::Update if r.adopt => ("~", "adopt (not created by bootstrap)", YELLOW),
            Action::Update => ("~", "update", YELLOW),
            Action::Unchanged => ("=", "in sync", DIM),
        };
        let _ = writeln!(
            text,
            "{} {:<13} {}  {}",
            reporter.paint(color, sign),
            r.kind.label(),
            r.name,
            reporter.paint(color, word)
        );
        for c in &r.changes {
            if c.from.is_empty() {
                let _ = writeln!(text, "      {}: {}", c.field, c.to);
            } else {
                let _ = writeln!(text, "      {}: {} -> {}", c.field, c.from, c.to);
            }
        }
    }
    text
}

pub fn summary_line(plan: &Plan) -> String {
    let count = |a| plan.resources.iter().filter(|r| r.action == a).count();
    if plan.has_changes() {
        format!(
            "{} to create, {} to update, {} in sync",
            count(Action::Create),
            count(Action::Update),
            count(Action::Unchanged)
        )
    } else {
        "nothing to change: every resource is in sync".to_string()
    }
}

pub fn plan_json(p: &Prepared) -> serde_json::Value {
    json!({
        "account": p.desired.account,
        "issuer": p.desired.issuer_url,
        "thumbprints": p.facts.thumbprints,
        "changes": p.plan.has_changes(),
        "resources": p.plan.resources,
    })
}

pub async fn run(
    settings: &Settings,
    reporter: &Reporter,
    detailed_exitcode: bool,
) -> Result<Output> {
    let p = prepare(settings, reporter).await?;
    let mut text = format!(
        "plan for account {} in {}\n",
        p.desired.account.id, p.desired.account.region
    );
    text.push_str(&render(&p.plan, reporter));
    let _ = writeln!(text, "\n{}", summary_line(&p.plan));
    let mut doc = plan_json(&p);
    doc["aws_calls"] = p.aws.calls.summary();
    let code = if detailed_exitcode && p.plan.has_changes() {
        2
    } else {
        0
    };
    Ok(Output::new(doc, text).with_exit_code(code))
}
