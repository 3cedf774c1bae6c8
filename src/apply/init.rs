//! `init`'s one apply, whatever the mode: it matches the plan's mode once and carries it out,
//! each write confirmed by the caller first ([`Confirm`]). Direct mode applies the diff and
//! reads the roles back, then deletes `--prune`'s stale roles and reads them back; a stack is
//! created or updated step by step ([`converge`]) and its roles read back; a StackSet's
//! template goes to every target. What was done comes back with the plan, as data.

use super::ask::{Ask, Confirm};
use super::cloudformation::converge::{converge, StackOutcome};
use super::cloudformation::events::WaitConfig;
use super::cloudformation::stackset::{self, StackSetOutcome};
use crate::aws::Aws;
use crate::error::Result;
use crate::model::DesiredState;
use crate::observe;
use crate::observe::destroy as observe_destroy;
use crate::plan;
use crate::plan::destroy::{self as destroy_plan, Plan as DeletionPlan};
use crate::plan::mode::{DirectPlanned, Planned, StackPlanned, StackSetPlanned};
use crate::progress::Progress;

/// The plan `init` carried out, in its mode, and what was done.
pub enum Applied<'a> {
    /// `applied`: whether anything was written (after a confirmation).
    Direct {
        planned: Box<DirectPlanned<'a>>,
        applied: bool,
    },
    /// `outcome`: what was done to the stack, when it had something to do.
    Stack {
        planned: Box<StackPlanned<'a>>,
        outcome: Option<StackOutcome>,
    },
    /// `outcome`: what was done to the StackSet, when it had something to do.
    StackSet {
        planned: Box<StackSetPlanned<'a>>,
        outcome: Option<StackSetOutcome>,
    },
}

/// Carry out `planned` in `desired`'s account, asking `confirm` before every write.
pub async fn apply<'a>(
    aws: &Aws,
    desired: &DesiredState,
    planned: Planned<'a>,
    confirm: &Confirm<'_>,
    progress: &dyn Progress,
) -> Result<Applied<'a>> {
    let run = Run {
        aws,
        desired,
        confirm,
        progress,
    };
    Ok(match planned {
        Planned::Direct(planned) => {
            let applied = run.direct(&planned).await?;
            Applied::Direct { planned, applied }
        }
        Planned::Stack(planned) => {
            let outcome = run.stack(&planned).await?;
            Applied::Stack { planned, outcome }
        }
        Planned::StackSet(planned) => {
            let outcome = run.stackset(&planned).await?;
            Applied::StackSet { planned, outcome }
        }
    })
}

/// Where and how the plan is carried out: the account's clients, its desired state, the
/// caller's confirmation and where progress goes.
struct Run<'a, 'c> {
    aws: &'a Aws,
    desired: &'a DesiredState,
    confirm: &'a Confirm<'c>,
    progress: &'a dyn Progress,
}

impl Run<'_, '_> {
    /// Direct mode: the changes (and `--prune`'s deletions) confirmed, applied and read
    /// back; whether anything was.
    async fn direct(&self, d: &DirectPlanned<'_>) -> Result<bool> {
        if !d.has_changes() {
            return Ok(false);
        }
        (self.confirm)(Ask::Direct {
            plan: d.diff,
            pruning: &d.pruning,
        })?;
        let (aws, desired) = (self.aws, self.desired);
        if d.diff.has_changes() {
            let after = super::direct::apply(aws, desired, d.diff, d.observed, self.progress);
            plan::checks::read_back_roles(desired, &after.await?.roles)?;
        }
        if d.pruning.has_deletions() {
            self.prune(&d.pruning).await?;
        }
        Ok(true)
    }

    /// Delete the stale roles as planned, then read them back: none may remain.
    async fn prune(&self, pruning: &DeletionPlan) -> Result<()> {
        let roles = pruning.role_ops();
        super::direct::destroy::delete_roles(&self.aws.iam, &roles, self.progress).await?;
        let names: Vec<String> = roles.iter().map(|(name, _)| (*name).to_string()).collect();
        let arn = &self.desired.provider.arn;
        let after = observe_destroy::roles(self.aws, &names, arn).await?;
        destroy_plan::check_pruned(pruning, &after)
    }

    /// One stack: converged when it has changes, then its roles read: each must exist (an
    /// ARN is handed on only for a role that does).
    async fn stack(&self, s: &StackPlanned<'_>) -> Result<Option<StackOutcome>> {
        let outcome = if s.plan.has_changes() {
            let (cfn, wait) = (&self.aws.cloudformation, WaitConfig::default());
            let converged = converge(
                cfn,
                s.spec,
                s.plan.clone(),
                self.confirm,
                self.progress,
                wait,
            );
            Some(converged.await?)
        } else {
            None
        };
        let live = observe::roles(self.aws, self.desired).await?;
        plan::stack::refuse_missing_roles(&s.spec.name, self.desired, &live)?;
        Ok(outcome)
    }

    /// A StackSet: its plan confirmed, then the template and the instances deployed, and
    /// the instances read afterwards.
    async fn stackset(&self, s: &StackSetPlanned<'_>) -> Result<Option<StackSetOutcome>> {
        if !s.plan.has_changes() {
            return Ok(None);
        }
        let (cfn, spec) = (&self.aws.cloudformation, s.spec);
        (self.confirm)(Ask::StackSet {
            plan: &s.plan,
            spec,
        })?;
        let wait = WaitConfig::default();
        let applied = stackset::apply(cfn, spec, &s.plan, self.progress, wait).await?;
        let instances = observe::stackset::instances(cfn, &spec.name).await?;
        Ok(Some(StackSetOutcome { applied, instances }))
    }
}
