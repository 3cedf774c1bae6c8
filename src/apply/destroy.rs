//! `destroy`'s one apply, whatever the mode: it matches what was planned once, asks the
//! caller ([`ConfirmDeletion`]), deletes, and reads back. Direct mode deletes the roles, the
//! provider and (when asked) the state, then reads them back against the plan; a stack is
//! deleted and read back gone, and the resources it retains are looked for.

use super::ask::{AskDeletion, ConfirmDeletion};
use super::cloudformation::destroy::{self as stack_apply, DeleteOutcome};
use super::cloudformation::events::WaitConfig;
use crate::aws::Aws;
use crate::error::Result;
use crate::observe::destroy::{self as observe_destroy, Targets};
use crate::observe::destroy_stack as stack_observe;
use crate::plan::destroy::{self as destroy_plan, Plan as DeletionPlan};
use crate::plan::destroy_stack::{self as stack_plan, DeletePlan};
use crate::plan::mode::Destroying;
use crate::progress::Progress;

/// What `destroy` planned, in its mode, and what was done.
pub enum Destroyed {
    /// Direct mode: the plan was carried out (when it deletes anything) and read back.
    Direct {
        targets: Box<Targets>,
        plan: DeletionPlan,
    },
    /// The stack was deleted; for each resource it retains, in the plan's order, whether it
    /// is still there (`None`: not looked for).
    Stack {
        plan: Box<DeletePlan>,
        outcome: DeleteOutcome,
        still_there: Vec<Option<bool>>,
    },
    /// There was no stack.
    NoStack { name: String },
}

/// Carry out `planned`, asking `confirm` before the first deletion.
pub async fn apply(
    aws: &Aws,
    planned: Destroying,
    confirm: &ConfirmDeletion<'_>,
    progress: &dyn Progress,
) -> Result<Destroyed> {
    Ok(match planned {
        Destroying::Direct { targets, plan } => {
            if plan.has_deletions() {
                confirm(AskDeletion::Direct(&plan))?;
                super::direct::destroy::apply(aws, &targets, &plan, progress).await?;
                let after = observe_destroy::found(aws, &targets.for_read_back()).await?;
                destroy_plan::check_read_back(&plan, &after)?;
            }
            Destroyed::Direct { targets, plan }
        }
        Destroying::Stack(plan) => {
            confirm(AskDeletion::Stack(&plan))?;
            let cfn = &aws.cloudformation;
            let outcome = stack_apply::apply(cfn, &plan, progress, WaitConfig::default()).await?;
            let after = stack_observe::stack(cfn, &plan.stack).await?;
            stack_plan::check_gone(&plan, after.as_ref())?;
            let mut still_there = Vec::new();
            for r in plan.retained() {
                let exists = stack_observe::still_there(aws, &r.resource_type, &r.physical_id);
                still_there.push(exists.await);
            }
            Destroyed::Stack {
                plan,
                outcome,
                still_there,
            }
        }
        Destroying::NoStack { name } => Destroyed::NoStack { name },
    })
}
