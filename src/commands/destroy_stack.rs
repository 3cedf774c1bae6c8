//! `destroy --mode cloudformation`: delete the stack. The role and the provider go with it;
//! the state bucket and the lock table stay in the account, retained by their
//! DeletionPolicy, and are reported (never deleted) afterwards. Shows what will happen and
//! asks like `init`.

use std::fmt::Write;

use serde_json::json;

use super::destroy::Options;
use crate::apply::cloudformation::destroy::{self, DeletePlan, StackResource};
use crate::apply::cloudformation::events::WaitConfig;
use crate::aws::Aws;
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::report::{Output, Reporter, DIM, RED};

/// The flags that only mean something in direct mode, refused before any AWS call.
fn check_options(settings: &Settings, o: &Options) -> Result<()> {
    if let Some(ss) = &settings.stackset {
        return Err(crate::cli::stackset_destroy_refused(&ss.name));
    }
    if o.delete_state {
        return Err(Error::usage(
            "--delete-state is refused with --mode cloudformation: the stack's DeletionPolicy retains the bucket and the table, so they are outside the stack once it is deleted",
        )
        .hint("run `bootstrap destroy --mode cloudformation` first, then `bootstrap destroy --delete-state` (direct mode), which deletes them only when the bucket is empty and no lock is held"));
    }
    if o.force {
        return Err(Error::usage(
            "--force is a direct-mode flag; with --mode cloudformation the stack decides what is deleted",
        )
        .hint("drop --force"));
    }
    Ok(())
}

fn row(text: &mut String, sign: &str, r: &StackResource, word: &str) {
    let _ = writeln!(
        text,
        "{sign} {:<26} {:<16} {}  {word}",
        r.resource_type, r.logical_id, r.physical_id
    );
}

/// What will happen, shown before asking.
fn render(plan: &DeletePlan, reporter: &Reporter) -> String {
    let mut text = format!(
        "stack {} ({}, termination protection {})\n",
        plan.stack,
        plan.status,
        if plan.termination_protection {
            "on"
        } else {
            "off"
        }
    );
    for r in plan.deleted() {
        row(
            &mut text,
            &reporter.paint(RED, "-"),
            r,
            &reporter.paint(RED, "deleted with the stack"),
        );
    }
    for r in plan.retained() {
        let word = format!(
            "retained (DeletionPolicy: {}), stays in the account",
            r.deletion_policy.as_deref().unwrap_or("Retain")
        );
        row(
            &mut text,
            &reporter.paint(DIM, "="),
            r,
            &reporter.paint(DIM, &word),
        );
    }
    let _ = writeln!(
        text,
        "{}the stack is deleted; its retained resources are then outside any stack and bootstrap never deletes them",
        if plan.termination_protection {
            "termination protection is turned off, then "
        } else {
            ""
        }
    );
    text
}

/// Whether a retained resource is still there (`None`: not a kind we can read).
async fn still_there(aws: &Aws, r: &StackResource) -> Option<bool> {
    match r.resource_type.as_str() {
        "AWS::S3::Bucket" => Some(
            aws.s3
                .head_bucket()
                .bucket(&r.physical_id)
                .send()
                .await
                .is_ok(),
        ),
        "AWS::DynamoDB::Table" => Some(
            aws.dynamodb
                .describe_table()
                .table_name(&r.physical_id)
                .send()
                .await
                .is_ok(),
        ),
        _ => None,
    }
}

const BY_HAND: &str = "To delete them by hand one day (bootstrap never does): empty the bucket of every object version and delete marker, then `aws s3api delete-bucket --bucket NAME`; turn off the table's deletion protection with `aws dynamodb update-table --table-name NAME --no-deletion-protection-enabled`, then `aws dynamodb delete-table --table-name NAME`. Or let `bootstrap destroy --delete-state` (direct mode, same settings) do it with its checks: only an empty bucket, only an idle table.";

pub async fn run(settings: &Settings, reporter: &Reporter, o: Options) -> Result<Output> {
    check_options(settings, &o)?;
    let name = settings.stack_name.clone();
    let aws = Aws::connect(&settings.aws, reporter.verbose()).await?;
    let cfn = &aws.cloudformation;
    reporter.progress(format!("reading stack {name} in {}", aws.region));
    let Some(plan) = destroy::plan(cfn, &name).await? else {
        let text = format!(
            "stack {name} does not exist in {}: nothing to delete\n",
            aws.region
        );
        let doc = json!({
            "mode": "cloudformation",
            "stack": name,
            "region": aws.region,
            "exists": false,
            "deleted": false,
            "aws_calls": aws.calls.summary(),
        });
        return Ok(Output::new(doc, text));
    };

    reporter.confirm(
        o.yes,
        &render(&plan, reporter),
        &format!("Delete stack {name}?"),
        "review what is shown above, then run `bootstrap destroy --mode cloudformation --yes`",
    )?;
    let outcome = destroy::apply(cfn, &plan, reporter, WaitConfig::default()).await?;
    if crate::apply::cloudformation::stack::describe(cfn, &name)
        .await?
        .is_some()
    {
        return Err(Error::failure(format!(
            "stack {name} was deleted, but a stack of that name is still there"
        ))
        .resource(name.clone())
        .hint(
            "another process may have created it again; see bootstrap status --mode cloudformation",
        ));
    }

    let mut text = format!("stack {name}: deleted ({})\n", outcome.status);
    let deleted: Vec<&StackResource> = plan.deleted().collect();
    if !deleted.is_empty() {
        let _ = writeln!(text, "deleted with it:");
        for r in &deleted {
            let _ = writeln!(
                text,
                "  {:<26} {:<16} {}",
                r.resource_type, r.logical_id, r.physical_id
            );
        }
    }
    let mut retained = Vec::new();
    for r in plan.retained() {
        let there = still_there(&aws, r).await;
        retained.push(json!({
            "logical_id": r.logical_id,
            "type": r.resource_type,
            "physical_id": r.physical_id,
            "deletion_policy": r.deletion_policy,
            "exists": there,
        }));
        if retained.len() == 1 {
            let _ = writeln!(
                text,
                "retained by their DeletionPolicy, now outside any stack:"
            );
        }
        let _ = writeln!(
            text,
            "  {:<26} {:<16} {}{}",
            r.resource_type,
            r.logical_id,
            r.physical_id,
            match there {
                Some(true) => "  (still in the account)",
                Some(false) => "  (not found)",
                None => "",
            }
        );
    }
    if !retained.is_empty() {
        let _ = writeln!(text, "{BY_HAND}");
    }
    let doc = json!({
        "mode": "cloudformation",
        "stack": name,
        "region": aws.region,
        "exists": true,
        "deleted": true,
        "plan": plan,
        "result": outcome,
        "retained": retained,
        "aws_calls": aws.calls.summary(),
    });
    Ok(Output::new(doc, text))
}
