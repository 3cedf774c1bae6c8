//! `init`'s plan, in the mode [`prepare`](super::prepare) staged, for `init` to carry out or
//! `plan` to show: the reads the plan needs beyond what was prepared (the stale roles
//! `--prune` deletes; the resources a new stack would take over; for `plan`, a stack's roles
//! as they are), then the plan itself ([`Planned`]).

use super::{Prepared, StackSetStaged, StackStaged, Staged};
use crate::config::Settings;
use crate::error::Result;
use crate::observe;
use crate::observe::destroy::{self as observe_destroy, Targets};
use crate::observe::stale::StaleRole;
use crate::plan;
use crate::plan::destroy::{self as destroy_plan, Plan as DeletionPlan};
use crate::plan::mode::{DirectPlanned, Planned, RolesReview, StackPlanned, StackSetPlanned};
use crate::plan::stack::StackPlan;
use crate::report::destroy as destroy_report;
use crate::report::Reporter;

/// What `init` would do with `p`; `prune` allows deleting roles the settings no longer have.
/// A refused deletion is shown and stops the run here, before any question.
pub(in crate::commands) async fn for_init<'p>(
    p: &'p Prepared,
    settings: &Settings,
    reporter: &Reporter,
    prune: bool,
) -> Result<Planned<'p>> {
    Ok(match &p.staged {
        Staged::Direct(d) => {
            let pruning = prune_plan(settings, p, &d.stale, prune).await?;
            if let Some(err) = pruning.refusal_error() {
                destroy_report::show_refused(reporter, &pruning);
                return Err(err);
            }
            Planned::Direct(Box::new(DirectPlanned {
                diff: &d.plan,
                observed: &d.observed,
                stale: &d.stale,
                pruning,
            }))
        }
        Staged::Stack(s) => Planned::Stack(Box::new(StackPlanned {
            spec: &s.spec,
            plan: stack_plan(p, s, reporter, prune).await?,
            roles: None,
        })),
        Staged::StackSet(s) => stackset(s, reporter, prune)?,
    })
}

/// What `plan` shows: `init`'s plan as it would be with `--prune` (the roles an update
/// deletes are shown; `init` asks for `--prune` to do it), without `--prune`'s reads, and for
/// a stack its roles as they are.
pub(in crate::commands) async fn for_plan<'p>(
    p: &'p Prepared,
    reporter: &Reporter,
) -> Result<Planned<'p>> {
    Ok(match &p.staged {
        Staged::Direct(d) => Planned::Direct(Box::new(DirectPlanned {
            diff: &d.plan,
            observed: &d.observed,
            stale: &d.stale,
            pruning: DeletionPlan { items: Vec::new() },
        })),
        Staged::Stack(s) => {
            let sp = stack_plan(p, s, reporter, true).await?;
            let live = if sp.creates() {
                Vec::new()
            } else {
                observe::roles(&p.aws, &p.desired).await?
            };
            Planned::Stack(Box::new(StackPlanned {
                spec: &s.spec,
                plan: sp,
                roles: Some(RolesReview::of(&p.desired, &live)),
            }))
        }
        Staged::StackSet(s) => stackset(s, reporter, true)?,
    })
}

/// The stack's plan (`prune`: an update may delete roles), checked: a new stack cannot take
/// over resources that exist outside it (refused before anything), and a role whose state
/// moves is warned about.
async fn stack_plan(
    p: &Prepared,
    s: &StackStaged,
    reporter: &Reporter,
    prune: bool,
) -> Result<StackPlan> {
    reporter.progress(format!("reading stack {}", s.spec.name));
    let sp = plan::stack_roles::checked_stack_plan(&s.spec, s.deployed.clone(), prune)?;
    if sp.creates() {
        let o = observe::all(&p.aws, &p.desired).await?;
        plan::stack::refuse_existing(&p.desired, &o, &s.spec.name)?;
    }
    for w in plan::state_moves::in_stack(&p.desired, sp.deployed.as_ref()) {
        reporter.warn(w);
    }
    Ok(sp)
}

/// The StackSet as it is and what `init` would do to it; `prune` allows deleting roles.
fn stackset<'p>(s: &'p StackSetStaged, reporter: &Reporter, prune: bool) -> Result<Planned<'p>> {
    reporter.progress(format!("reading StackSet {}", s.spec.name));
    let plan = plan::stackset::checked_plan(&s.spec, s.deployed.clone(), prune)?;
    Ok(Planned::StackSet(Box::new(StackSetPlanned {
        spec: &s.spec,
        plan,
        symbolic: &s.template.desired,
    })))
}

/// `--prune`: the deletion of the stale roles, planned as `destroy` plans a role's (empty
/// without `--prune` or without stale roles).
async fn prune_plan(
    settings: &Settings,
    p: &Prepared,
    stale: &[StaleRole],
    prune: bool,
) -> Result<DeletionPlan> {
    let names: Vec<String> = stale.iter().map(|r| r.name.clone()).collect();
    if !prune || names.is_empty() {
        return Ok(DeletionPlan { items: Vec::new() });
    }
    let configured = settings.roles.iter().map(|r| r.name.clone()).collect();
    let t = Targets::prune(
        p.desired.account.clone(),
        p.desired.provider.arn.clone(),
        names,
        configured,
        p.desired.set.clone(),
    );
    let found = observe_destroy::roles(&p.aws, &t.role_names, &t.provider_arn).await?;
    Ok(destroy_plan::prune(&t, &found))
}
