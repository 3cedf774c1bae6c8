//! `plan`: what `init` would change ([`PlanReport`], whose body is the mode's); in direct mode
//! resource by resource, and that text is also what `init` shows before it asks.

use std::fmt::Write;

use serde::Serialize;
use serde_json::Value;

use super::stack::StackPlanBody;
use super::stackset::StackSetPlanBody;
use super::verdicts::verdict_text;
use super::{Paint, Report, DIM, GREEN, RED, YELLOW};
use crate::config::ResolvedName;
use crate::model::{Account, DesiredState};
use crate::observe::stale::StaleRole;
use crate::plan::verdicts::TrustVerdict;
use crate::plan::{Action, Plan, ResourcePlan};

/// The plan's part of the `plan` and `init` documents.
#[derive(Debug, Serialize)]
pub struct PlanSummary<'a> {
    pub account: &'a Account,
    pub issuer: &'a str,
    /// The thumbprints the issuer's hosts serve now.
    pub thumbprints: &'a [String],
    pub changes: bool,
    /// Changes, stale roles or trust verdicts: what `--detailed-exitcode` exits 2 for.
    pub needs_attention: bool,
    pub resources: &'a [ResourcePlan],
    /// Trust policies, live or planned, that let in more than the settings name.
    pub trust_verdicts: &'a [TrustVerdict],
    /// Roles of this set no longer in the settings (none looked for with `--role`).
    pub stale_roles: &'a [StaleRole],
    /// Where each role's Terraform state lives (with more than one role).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub state_keys: Vec<super::state_keys::StateKeys>,
    #[serde(skip)]
    pub bucket: &'a str,
}

impl<'a> PlanSummary<'a> {
    pub fn new(
        desired: &'a DesiredState,
        thumbprints: &'a [String],
        plan: &'a Plan,
        stale_roles: &'a [StaleRole],
    ) -> Self {
        PlanSummary {
            account: &desired.account,
            issuer: &desired.issuer_url,
            thumbprints,
            changes: plan.has_changes(),
            needs_attention: plan.needs_attention() || !stale_roles.is_empty(),
            resources: &plan.resources,
            trust_verdicts: &plan.verdicts,
            stale_roles,
            state_keys: super::state_keys::of(desired),
            bucket: &desired.bucket.name,
        }
    }
}

/// `bootstrap plan`, in any mode: what `init` would do, as one JSON document per mode
/// (unchanged by the mode being a variant here).
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum PlanReport<'a> {
    Direct(Box<DirectPlanBody<'a>>),
    Stack(Box<StackPlanBody>),
    StackSet(Box<StackSetPlanBody>),
}

impl Report for PlanReport<'_> {
    fn text(&self, paint: Paint) -> String {
        match self {
            PlanReport::Direct(b) => b.text(paint),
            PlanReport::Stack(b) => b.text(paint),
            PlanReport::StackSet(b) => b.text(paint),
        }
    }

    /// `--detailed-exitcode`: 2 when `init` would change something or something needs
    /// attention.
    fn exit_code(&self) -> i32 {
        match self {
            PlanReport::Direct(b) => b.exit_code(),
            PlanReport::Stack(b) => b.exit_code(),
            PlanReport::StackSet(b) => b.exit_code(),
        }
    }
}

/// `bootstrap plan` (direct mode).
#[derive(Debug, Serialize)]
pub struct DirectPlanBody<'a> {
    #[serde(flatten)]
    pub plan: PlanSummary<'a>,
    /// Bitbucket names and the UUIDs they resolved to (the trust policies hold the UUIDs).
    #[serde(rename = "bitbucket_names", skip_serializing_if = "<[_]>::is_empty")]
    pub names: &'a [ResolvedName],
    pub aws_calls: Value,
    /// `--detailed-exitcode`: exit 2 when there are changes.
    #[serde(skip)]
    pub detailed_exitcode: bool,
}

impl DirectPlanBody<'_> {
    pub(super) fn text(&self, paint: Paint) -> String {
        let mut text = format!(
            "plan for account {} in {}\n",
            self.plan.account.id, self.plan.account.region
        );
        text.push_str(&names_text(self.names));
        text.push_str(&stale_text(self.plan.stale_roles, paint));
        text.push_str(&verdict_text(self.plan.trust_verdicts, paint));
        text.push_str(&plan_text(self.plan.resources, paint));
        text.push_str(&super::state_keys::text(
            &self.plan.state_keys,
            self.plan.bucket,
            paint,
        ));
        let _ = writeln!(
            text,
            "\n{}",
            plan_summary_line(self.plan.resources, self.plan.stale_roles)
        );
        text
    }

    /// `--detailed-exitcode`: 2 when `init` would change something, or when stale roles
    /// await `init --prune` (as `status` judges them).
    pub(super) fn exit_code(&self) -> i32 {
        if self.detailed_exitcode && self.plan.needs_attention {
            2
        } else {
            0
        }
    }
}

/// One line per Bitbucket name with the UUID it resolved to.
pub(crate) fn names_text(names: &[ResolvedName]) -> String {
    let mut text = String::new();
    for n in names {
        let of = n
            .repository
            .as_ref()
            .map_or_else(String::new, |r| format!(" of {r}"));
        let _ = writeln!(text, "bitbucket {} {}{of} = {}", n.kind, n.name, n.uuid);
    }
    text
}

/// One line per stale role, shown before the plan: only `init --prune` deletes them.
pub(crate) fn stale_text(stale: &[StaleRole], paint: Paint) -> String {
    let mut text = String::new();
    for r in stale {
        let _ = writeln!(
            text,
            "{} role {}, deleted by `init --prune`",
            paint.paint(YELLOW, "stale:"),
            r.name
        );
    }
    text
}

/// One line per resource (`+` create, `~` update or adopt, `=` in sync), then each field
/// that changes.
pub fn plan_text(resources: &[ResourcePlan], paint: Paint) -> String {
    let mut text = String::new();
    for r in resources {
        let (sign, word, color) = match r.action {
            Action::Create => ("+", "create", GREEN),
            Action::Update if r.adopt => ("~", "adopt (not created by bootstrap)", YELLOW),
            Action::Update => ("~", "update", YELLOW),
            Action::Unchanged => ("=", "in sync", DIM),
        };
        let _ = writeln!(
            text,
            "{} {:<13} {}  {}",
            paint.paint(color, sign),
            r.kind.label(),
            r.name,
            paint.paint(color, word)
        );
        for c in &r.changes {
            if let Some(d) = &c.document {
                let _ = writeln!(text, "      {}:", c.field);
                text.push_str(&diff_lines(&d.diff, paint));
            } else if c.from.is_unset() {
                let _ = writeln!(text, "      {}: {}", c.field, c.to);
            } else {
                let _ = writeln!(text, "      {}: {} -> {}", c.field, c.from, c.to);
            }
        }
    }
    text
}

/// [`summary_line`], with the stale roles: never "nothing to change" while some await
/// `init --prune`.
fn plan_summary_line(resources: &[ResourcePlan], stale: &[StaleRole]) -> String {
    if stale.is_empty() {
        return summary_line(resources);
    }
    let stale = format!(
        "{} stale role(s) to delete with `init --prune`",
        stale.len()
    );
    if resources.iter().any(|r| r.action != Action::Unchanged) {
        format!("{}; {stale}", summary_line(resources))
    } else {
        format!("every configured resource is in sync; {stale}")
    }
}

/// A document's diff lines, indented under their field: `+` green, `-` red.
pub(crate) fn diff_lines(lines: &[String], paint: Paint) -> String {
    let mut text = String::new();
    for line in lines {
        let color = match line.chars().next() {
            Some('+') => Some(GREEN),
            Some('-') => Some(RED),
            _ => None,
        };
        let shown = match color {
            Some(c) => paint.paint(c, line),
            None => line.clone(),
        };
        let _ = writeln!(text, "        {shown}");
    }
    text
}

/// `N to create, N to update, N in sync`, or that nothing changes.
pub fn summary_line(resources: &[ResourcePlan]) -> String {
    let count = |a| resources.iter().filter(|r| r.action == a).count();
    if resources.iter().any(|r| r.action != Action::Unchanged) {
        format!(
            "{} to create, {} to update, {} in sync",
            count(Action::Create),
            count(Action::Update),
            count(Action::Unchanged)
        )
    } else {
        "nothing to change: every resource is in sync".to_string()
    }
}
