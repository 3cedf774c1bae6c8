//! What `destroy --mode cloudformation` shows: the stack and its resources before asking,
//! and the result (what went with the stack, what its DeletionPolicy left in the account),
//! as text and as the `--output json` document.

use std::fmt::Write;

use serde::Serialize;
use serde_json::Value;

use super::{Paint, DIM, RED};
use crate::apply::cloudformation::destroy::DeleteOutcome;
use crate::plan::destroy_stack::{DeletePlan, StackResource};

fn row(text: &mut String, sign: &str, r: &StackResource, word: &str) {
    let _ = writeln!(
        text,
        "{sign} {:<26} {:<16} {}  {word}",
        r.resource_type, r.logical_id, r.physical_id
    );
}

/// What will happen, shown before asking.
pub fn plan_text(plan: &DeletePlan, paint: Paint) -> String {
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
            &paint.paint(RED, "-"),
            r,
            &paint.paint(RED, "deleted with the stack"),
        );
    }
    for r in plan.retained() {
        let word = format!(
            "retained (DeletionPolicy: {}), stays in the account",
            r.deletion_policy.as_deref().unwrap_or("Retain")
        );
        row(
            &mut text,
            &paint.paint(DIM, "="),
            r,
            &paint.paint(DIM, &word),
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

const BY_HAND: &str = "To delete them by hand one day (bootstrap never does): empty the bucket of every object version and delete marker, then `aws s3api delete-bucket --bucket NAME`; turn off the table's deletion protection with `aws dynamodb update-table --table-name NAME --no-deletion-protection-enabled`, then `aws dynamodb delete-table --table-name NAME`. Or let `bootstrap destroy --delete-state` (direct mode, same settings) do it with its checks: only an empty bucket, only an idle table.";

/// A resource the stack's DeletionPolicy left in the account, and whether it is still there
/// (`None`: not a kind that can be read).
#[derive(Debug, Clone, Serialize)]
pub struct Retained {
    pub logical_id: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub physical_id: String,
    pub deletion_policy: Option<String>,
    pub exists: Option<bool>,
}

impl Retained {
    pub fn new(r: &StackResource, exists: Option<bool>) -> Retained {
        Retained {
            logical_id: r.logical_id.clone(),
            resource_type: r.resource_type.clone(),
            physical_id: r.physical_id.clone(),
            deletion_policy: r.deletion_policy.clone(),
            exists,
        }
    }
}

/// The deletion of a stack that existed.
#[derive(Debug, Clone, Serialize)]
pub struct Deletion {
    pub plan: DeletePlan,
    pub result: DeleteOutcome,
    pub retained: Vec<Retained>,
}

/// The result of `destroy --mode cloudformation` (the body of a `DestroyReport`).
#[derive(Debug, Clone, Serialize)]
pub struct StackDestroy {
    pub mode: &'static str,
    pub stack: String,
    pub region: String,
    pub exists: bool,
    pub deleted: bool,
    /// None when there was no stack.
    #[serde(flatten)]
    pub deletion: Option<Deletion>,
    pub aws_calls: Value,
}

impl StackDestroy {
    /// There was no stack of that name: nothing was deleted.
    pub fn absent(stack: &str, region: &str, aws_calls: Value) -> StackDestroy {
        StackDestroy {
            mode: "cloudformation",
            stack: stack.to_string(),
            region: region.to_string(),
            exists: false,
            deleted: false,
            deletion: None,
            aws_calls,
        }
    }

    /// The stack was deleted.
    pub fn deleted(region: &str, deletion: Deletion, aws_calls: Value) -> StackDestroy {
        StackDestroy {
            mode: "cloudformation",
            stack: deletion.plan.stack.clone(),
            region: region.to_string(),
            exists: true,
            deleted: true,
            deletion: Some(deletion),
            aws_calls,
        }
    }
}

impl StackDestroy {
    pub(super) fn text(&self, _paint: Paint) -> String {
        let Some(d) = &self.deletion else {
            return format!(
                "stack {} does not exist in {}: nothing to delete\n",
                self.stack, self.region
            );
        };
        let mut text = format!("stack {}: deleted ({})\n", self.stack, d.result.status);
        let deleted: Vec<&StackResource> = d.plan.deleted().collect();
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
        if !d.retained.is_empty() {
            let _ = writeln!(
                text,
                "retained by their DeletionPolicy, now outside any stack:"
            );
        }
        for r in &d.retained {
            let _ = writeln!(
                text,
                "  {:<26} {:<16} {}{}",
                r.resource_type,
                r.logical_id,
                r.physical_id,
                match r.exists {
                    Some(true) => "  (still in the account)",
                    Some(false) => "  (not found)",
                    None => "",
                }
            );
        }
        if !d.retained.is_empty() {
            let _ = writeln!(text, "{BY_HAND}");
        }
        text
    }
}
