//! What `apply` asks before a change, as data: the caller shows it and confirms (or refuses)
//! it, so apply itself never prompts and never renders.

use crate::apply::cloudformation::changeset::ChangeSetSummary;
use crate::error::Result;
use crate::plan::destroy::Plan as DeletionPlan;
use crate::plan::destroy_stack::DeletePlan;
use crate::plan::stack::StackPlan;
use crate::plan::stackset::{StackSetPlan, StackSetSpec};
use crate::plan::Plan;

/// One question (or one thing to show) before `apply` writes.
pub enum Ask<'a> {
    /// Direct mode: the changes, and `--prune`'s deletions of stale roles.
    Direct {
        plan: &'a Plan,
        pruning: &'a DeletionPlan,
    },
    /// The stack's plan, shown (not asked) before its first step, and again when a resumed
    /// rollback leaves more to do.
    StackPlan(&'a StackPlan),
    /// One step on the stack (create, re-create, resume a rollback, protect), as a question.
    StackStep(String),
    /// A computed change set, before it is executed (a refusal deletes it).
    ChangeSet {
        change_set: &'a ChangeSetSummary,
        question: String,
    },
    /// A StackSet's plan, before anything is written to it.
    StackSet {
        plan: &'a StackSetPlan,
        spec: &'a StackSetSpec,
    },
}

/// The caller's answer to an [`Ask`]: `Ok` to go on, the error to stop with otherwise.
pub type Confirm<'c> = dyn Fn(Ask<'_>) -> Result<()> + Sync + 'c;

/// What `destroy` asks before its first deletion.
pub enum AskDeletion<'a> {
    /// Direct mode: each resource's deletion (or why it stays).
    Direct(&'a DeletionPlan),
    /// A stack: what deleting it deletes and retains.
    Stack(&'a DeletePlan),
}

/// The caller's answer to an [`AskDeletion`], as [`Confirm`]'s to an [`Ask`].
pub type ConfirmDeletion<'c> = dyn Fn(AskDeletion<'_>) -> Result<()> + Sync + 'c;
