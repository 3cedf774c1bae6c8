//! What `init` would do, in the mode the settings pick: one plan whose body is the mode's
//! (direct mode's diff and `--prune`'s deletions, a stack plan, or a StackSet plan). `plan`
//! shows it, `apply` matches it once, and `report` renders what was done from it. So with
//! what `status` shows ([`Status`]) and what `destroy` would delete ([`Destroying`]).

use crate::bitbucket::variables::VariableState;
use crate::error::Error;
use crate::model::DesiredState;
use crate::observe::destroy::Targets;
use crate::observe::stale::StaleRole;
use crate::observe::{Observed, ObservedRole};
use crate::plan::destroy::Plan as DeletionPlan;
use crate::plan::destroy_stack::DeletePlan;
use crate::plan::stack::{ResourceState, StackPlan, StackSpec};
use crate::plan::stack_foreign::{on_roles, ForeignPolicy};
use crate::plan::stackset::{StackSetPlan, StackSetSpec};
use crate::plan::verdicts::{role_verdicts, TrustVerdict};
use crate::plan::Plan;

/// `init`'s plan (and what `plan` shows), in its mode.
pub enum Planned<'a> {
    Direct(Box<DirectPlanned<'a>>),
    Stack(Box<StackPlanned<'a>>),
    StackSet(Box<StackSetPlanned<'a>>),
}

/// Direct mode: the diff with the live resources, and the stale roles `--prune` deletes.
pub struct DirectPlanned<'a> {
    pub diff: &'a Plan,
    /// The live resources the diff was made from.
    pub observed: &'a Observed,
    /// Roles of this set the settings no longer name.
    pub stale: &'a [StaleRole],
    /// `--prune`: the deletion of the stale roles, planned as `destroy` plans a role's (empty
    /// without `--prune` or without stale roles).
    pub pruning: DeletionPlan,
}

impl DirectPlanned<'_> {
    /// Whether anything is written: a change, or a stale role to delete.
    pub fn has_changes(&self) -> bool {
        self.diff.has_changes() || self.pruning.has_deletions()
    }

    /// The stale roles the plan deletes.
    pub fn pruned(&self) -> Vec<String> {
        let roles = self.pruning.role_ops();
        roles.iter().map(|(name, _)| (*name).to_string()).collect()
    }
}

/// One stack: the stack it is deployed as, and what `init` would do to it.
pub struct StackPlanned<'a> {
    pub spec: &'a StackSpec,
    pub plan: StackPlan,
    /// What `plan` shows of the stack's roles as they are (not read for `init`).
    pub roles: Option<RolesReview>,
}

/// A stack's roles as they are, beside the template: the policies on them the template does
/// not define, and the verdicts on their trust policies.
#[derive(Default)]
pub struct RolesReview {
    pub foreign: Vec<ForeignPolicy>,
    pub verdicts: Vec<TrustVerdict>,
}

impl RolesReview {
    /// The configured roles of `desired` as read (`live`, in the same order; empty before the
    /// stack exists).
    pub fn of(desired: &DesiredState, live: &[Option<ObservedRole>]) -> RolesReview {
        RolesReview {
            foreign: on_roles(desired, live),
            verdicts: role_verdicts(desired, live),
        }
    }
}

/// A StackSet: the StackSet it is deployed as, and what `init` would do to it.
pub struct StackSetPlanned<'a> {
    pub spec: &'a StackSetSpec,
    pub plan: StackSetPlan,
    /// The template's desired state, with the names each target account gives.
    pub symbolic: &'a DesiredState,
}

/// What `destroy` would delete, in its mode.
pub enum Destroying {
    /// Direct mode: what was looked for, and each resource's deletion (or why it stays).
    Direct {
        targets: Box<Targets>,
        plan: DeletionPlan,
    },
    /// The stack, and what deleting it deletes and retains.
    Stack(Box<DeletePlan>),
    /// No stack of this name: nothing to delete.
    NoStack { name: String },
}

/// What `status` shows, in its mode: each resource as it stands.
pub enum Status<'a> {
    Direct(Box<DirectStatus<'a>>),
    Stack(Box<StackStatus>),
    StackSet(Box<StackSetPlanned<'a>>),
}

/// Direct mode: the diff as each resource's status, the stale roles, and (with Bitbucket
/// credentials) the pipeline's variables.
pub struct DirectStatus<'a> {
    pub diff: &'a Plan,
    pub observed: &'a Observed,
    pub stale: &'a [StaleRole],
    pub variables: Option<Vec<VariableState>>,
}

/// One stack: missing, or as it stands.
pub enum StackStatus {
    /// No stack of this name; `blocked`: why `init` could not create it.
    Missing {
        name: String,
        blocked: Option<Error>,
    },
    /// The stack as it stands: its plan, each resource as read from its own service, and its
    /// roles as they are.
    Present {
        plan: Box<StackPlan>,
        resources: Vec<ResourceState>,
        roles: RolesReview,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::destroy::{Action, Item};
    use crate::plan::Kind;

    fn role(name: &str, action: Action) -> Item {
        Item {
            kind: Kind::Role,
            name: name.to_string(),
            action,
            notes: Vec::new(),
            hint: None,
            ops: Vec::new(),
        }
    }

    #[test]
    fn direct_mode_changes_when_a_stale_role_is_deleted_and_names_only_those() {
        let diff = Plan {
            resources: Vec::new(),
            warnings: Vec::new(),
            verdicts: Vec::new(),
        };
        let observed = Observed {
            provider: None,
            roles: Vec::new(),
            bucket: None,
            table: None,
        };
        let absent = DirectPlanned {
            diff: &diff,
            observed: &observed,
            stale: &[],
            pruning: DeletionPlan {
                items: vec![role("gone", Action::Absent)],
            },
        };
        assert!(!absent.has_changes());
        assert!(absent.pruned().is_empty());
        let pruning = DeletionPlan {
            items: vec![role("old", Action::Delete), role("gone", Action::Absent)],
        };
        let deleting = DirectPlanned { pruning, ..absent };
        assert!(deleting.has_changes());
        assert_eq!(deleting.pruned(), ["old"]);
    }
}
