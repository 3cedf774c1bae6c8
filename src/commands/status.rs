use std::fmt::Write;

use serde_json::json;

use super::setup::prepare;
use crate::config::Settings;
use crate::error::Result;
use crate::plan::Action;
use crate::report::{Output, Reporter, GREEN, RED, YELLOW};

pub async fn run(settings: &Settings, reporter: &Reporter) -> Result<Output> {
    let p = prepare(settings, reporter).await?;
    let mut text = String::new();
    let mut resources = Vec::new();
    for r in &p.plan.resources {
        let (state, color) = match r.action {
            Action::Create => ("missing", RED),
            Action::Update => ("drifted", YELLOW),
            Action::Unchanged => ("in sync", GREEN),
        };
        let _ = writeln!(
            text,
            "{:<13} {:<9} {}",
            r.kind.label(),
            reporter.paint(color, state),
            r.name
        );
        if r.action == Action::Update {
            for c in &r.changes {
                let _ = writeln!(text, "      {}: is {}, should be {}", c.field, c.from, c.to);
            }
        }
        resources.push(json!({
            "kind": r.kind,
            "name": r.name,
            "status": state.replace(' ', "_"),
            "drift": if r.action == Action::Update { json!(r.changes) } else { json!([]) },
        }));
    }
    let in_sync = !p.plan.has_changes();
    let _ = writeln!(
        text,
        "\n{}",
        if in_sync {
            "everything is in sync".to_string()
        } else {
            "run `bootstrap init` to create what is missing and repair what drifted".to_string()
        }
    );
    let doc = json!({
        "account": p.desired.account,
        "in_sync": in_sync,
        "resources": resources,
        "observed": p.observed,
        "aws_calls": p.aws.calls.summary(),
    });
    Ok(Output::new(doc, text))
}
