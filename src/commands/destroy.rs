//! `destroy`: remove the role and the provider; keep the Terraform state unless asked, and
//! even then never delete a bucket that holds anything. Plans everything (refusals
//! included) before the first write, shows the plan and asks like `init`. With
//! `--mode cloudformation` the stack is deleted instead ([`super::destroy_stack`]).

use std::fmt::Write;

use serde_json::json;

use super::setup::account;
use crate::apply::direct::destroy::{self, Action, Plan, Targets};
use crate::aws::Aws;
use crate::config::{Mode, OutputFormat, Settings};
use crate::error::{Error, Result};
use crate::model;
use crate::report::{Output, Reporter, DIM, RED, YELLOW};

pub struct Options {
    pub yes: bool,
    pub force: bool,
    pub delete_state: bool,
}

/// The plan as text: one line per resource, then its notes.
pub fn render(plan: &Plan, reporter: &Reporter) -> String {
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
            reporter.paint(color, sign),
            item.kind.label(),
            item.name,
            reporter.paint(color, word)
        );
        for note in &item.notes {
            let _ = writeln!(text, "      {note}");
        }
    }
    text
}

fn summary_line(plan: &Plan) -> String {
    let count = |a| plan.items.iter().filter(|i| i.action == a).count();
    if plan.has_deletions() {
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

pub async fn run(settings: &Settings, reporter: &Reporter, o: Options) -> Result<Output> {
    if settings.mode == Mode::Cloudformation {
        return super::destroy_stack::run(settings, reporter, o).await;
    }
    // Input first: nothing is read from AWS before this is settled.
    let issuer = settings.require_issuer()?;

    reporter.progress("reading the AWS account");
    let aws = Aws::connect(&settings.aws, reporter.verbose()).await?;
    let account = account(&aws).await?;
    let targets = Targets {
        provider_arn: crate::model::arn::provider(
            &account.partition,
            &account.id,
            &issuer.host_path,
        ),
        role_name: settings.role_name.clone(),
        bucket: settings
            .state_bucket
            .clone()
            .unwrap_or_else(|| model::default_bucket_name(&account)),
        table: settings.lock_table.clone(),
        delete_state: o.delete_state,
        force: o.force,
        account,
    };
    reporter.progress(format!(
        "reading what exists in account {} ({})",
        targets.account.id, targets.account.region
    ));
    let found = destroy::observe(&aws, &targets).await?;
    let plan = destroy::plan(&targets, &found);
    let shown = render(&plan, reporter);
    let text_mode = settings.output == OutputFormat::Text;

    if let Some(err) = plan.refusal_error() {
        if text_mode {
            eprint!("{shown}");
        }
        return Err(err);
    }
    if plan.has_deletions() {
        reporter.confirm(
            o.yes,
            &format!("{shown}{}\n", summary_line(&plan)),
            "Delete these resources?",
            "review the plan above, then run `bootstrap destroy --yes`",
        )?;
        destroy::apply(&aws, &targets, &plan, reporter).await?;
        let wrong = destroy::verify(&aws, &targets, &plan).await?;
        if !wrong.is_empty() {
            return Err(Error::failure(format!(
                "destroyed, but reading back shows: {}",
                wrong.join(", ")
            ))
            .hint("run `bootstrap destroy` again; it continues where this run stopped"));
        }
    }

    let mut text = String::new();
    for item in &plan.items {
        let what = match item.action {
            Action::Delete => "deleted",
            Action::Keep => "kept",
            Action::Absent => "absent",
            Action::Refused => "refused",
        };
        let _ = writeln!(text, "{:<13} {:<8} {}", item.kind.label(), what, item.name);
    }
    let summary = summary_line(&plan);
    if plan.has_deletions() {
        let _ = writeln!(text, "\ndone: {}", summary.replace("to delete", "deleted"));
    } else {
        let _ = writeln!(text, "\n{summary}");
    }
    if plan
        .items
        .iter()
        .any(|i| i.action == Action::Keep && i.kind == crate::plan::Kind::StateBucket)
    {
        let _ = writeln!(
            text,
            "The state bucket was kept with every object version in it; `--delete-state` deletes it once it is empty."
        );
    }
    let doc = json!({
        "account": targets.account,
        "deleted": plan.has_deletions(),
        "resources": plan.items,
        "aws_calls": aws.calls.summary(),
    });
    Ok(Output::new(doc, text))
}
