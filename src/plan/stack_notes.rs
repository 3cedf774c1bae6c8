//! The notes of a stack's or StackSet's plan: why a stack state needs explaining, and what an
//! update or an instance needs. How each reads, in the text and as its string in the JSON, is
//! `report`'s (`report::stack_text`).

/// One note of a stack's or StackSet's plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StackNote {
    /// A busy or broken stack, shown by `status`: why nothing is done (the message of the
    /// error `init` returns for it).
    Unsettled(String),
    /// `ROLLBACK_COMPLETE`: the first create failed; `init` deletes the stack and creates it
    /// again.
    RolledBack,
    /// `REVIEW_IN_PROGRESS`: started by a change set that never ran; `init` deletes it and
    /// creates it.
    NeverRan,
    /// `UPDATE_ROLLBACK_FAILED`: `init` resumes the rollback, then updates.
    RollbackFailed,
    /// What an operation failed on, as CloudFormation's events say.
    FailedOn { what: Failed, reason: String },
    /// The update deletes these roles, which the settings no longer have (`--prune`).
    DropsRoles(Vec<String>),
    /// A StackSet instance outside the targets, left as it is.
    NotTargeted { account: String, region: String },
    /// A StackSet instance that is `INOPERABLE` (a delete failed there).
    Inoperable { account: String, region: String },
}

/// Which operation of a stack failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failed {
    /// The stack's first create.
    Create,
    Update,
    Rollback,
}

impl StackNote {
    /// What `what` failed on, when CloudFormation said.
    pub fn failed_on(what: Failed, reason: &Option<String>) -> Option<StackNote> {
        reason.as_ref().map(|r| StackNote::FailedOn {
            what,
            reason: r.clone(),
        })
    }
}
