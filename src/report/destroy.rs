//! What `destroy` shows: in direct mode the plan before asking (or before refusing), and the
//! result of either mode ([`DestroyReport`]), as text and as the `--output json` document.

use std::fmt::{self, Write};

use serde::{Serialize, Serializer};
use serde_json::Value;

use super::destroy_stack::StackDestroy;
use super::{Paint, Report, Reporter, DIM, RED, YELLOW};
use crate::model::Account;
use crate::observe::destroy::BucketContents;
use crate::plan::destroy::{Action, Item, Note, Plan, SharedUse};
use crate::plan::Kind;

/// The plan as text: one line per resource, then its notes.
pub fn plan_text(plan: &Plan, paint: Paint) -> String {
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
            paint.paint(color, sign),
            item.kind.label(),
            item.name,
            paint.paint(color, word)
        );
        for note in &item.notes {
            let _ = writeln!(text, "      {note}");
        }
    }
    text
}

/// What is shown before asking: the plan, then how many resources go.
pub fn confirmation_text(plan: &Plan, paint: Paint) -> String {
    format!("{}{}\n", plan_text(plan, paint), summary_line(&plan.items))
}

/// A plan with refusals, shown on stderr before the error in text mode (even with `-q`: it
/// says why nothing was done).
pub fn show_refused(reporter: &Reporter, plan: &Plan) {
    if reporter.is_text() {
        eprint!("{}", plan_text(plan, reporter.painter()));
    }
}

fn summary_line(items: &[Item]) -> String {
    let count = |a| items.iter().filter(|i| i.action == a).count();
    if count(Action::Delete) > 0 {
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

/// The result of `destroy`, in either mode: one JSON document each, as before.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum DestroyReport {
    /// What went, what stayed and why, resource by resource.
    Direct(DirectDestroy),
    /// The stack, what went with it and what its DeletionPolicy left in the account.
    Stack(StackDestroy),
}

impl Report for DestroyReport {
    fn text(&self, paint: Paint) -> String {
        match self {
            DestroyReport::Direct(d) => d.text(paint),
            DestroyReport::Stack(s) => s.text(paint),
        }
    }
}

/// The result of `destroy` in direct mode.
#[derive(Debug, Clone, Serialize)]
pub struct DirectDestroy {
    pub account: Account,
    /// Whether anything was deleted.
    pub deleted: bool,
    /// The plan that was carried out, one item per resource.
    pub resources: Vec<Item>,
    pub aws_calls: Value,
}

impl DirectDestroy {
    pub fn new(account: Account, plan: Plan, aws_calls: Value) -> DirectDestroy {
        DirectDestroy {
            account,
            deleted: plan.has_deletions(),
            resources: plan.items,
            aws_calls,
        }
    }
}

impl DirectDestroy {
    fn text(&self, _paint: Paint) -> String {
        let mut text = String::new();
        for item in &self.resources {
            let what = match item.action {
                Action::Delete => "deleted",
                Action::Keep => "kept",
                Action::Absent => "absent",
                Action::Refused => "refused",
            };
            let _ = writeln!(text, "{:<13} {:<8} {}", item.kind.label(), what, item.name);
            // Why a shared resource stays (other roles trust or use it) is worth saying.
            let outside = |n: &Note| matches!(n, Note::TrustedByOthers { .. });
            if item.action == Action::Keep && item.notes.iter().any(outside) {
                for note in &item.notes {
                    let _ = writeln!(text, "      {note}");
                }
            }
        }
        let summary = summary_line(&self.resources);
        if self.deleted {
            let _ = writeln!(text, "\ndone: {}", summary.replace("to delete", "deleted"));
        } else {
            let _ = writeln!(text, "\n{summary}");
        }
        if self.resources.iter().any(|i| {
            i.action == Action::Keep
                && i.kind == Kind::StateBucket
                && i.notes.iter().any(|n| matches!(n, Note::HoldsState))
        }) {
            let _ = writeln!(
                text,
                "The state bucket was kept with every object version in it; `--delete-state` deletes it once it is empty."
            );
        }
        text
    }
}

/// Why an existing resource without the tool's tag is not deleted without `--force`.
const NOT_OURS: &str =
    "it has no managed-by=bootstrap tag, so bootstrap did not create it (or adopt it)";
/// The note on such a resource deleted with `--force`.
const FORCED: &str =
    "not created by bootstrap (no managed-by=bootstrap tag); deleted anyway: --force";

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::NotFound => f.write_str("not found"),
            Note::Owned { owner, set } => f.write_str(&owner.describe(set)),
            Note::InInstanceProfiles(profiles) => write!(
                f,
                "it is in instance profile(s) {}, so EC2 instances may depend on it",
                profiles.join(", ")
            ),
            Note::NotOurs => f.write_str(NOT_OURS),
            Note::Forced => f.write_str(FORCED),
            Note::OtherIssuer { provider } => write!(
                f,
                "its trust policy does not name the provider {provider}, so it was not set up for this issuer"
            ),
            Note::OtherIssuerForced { provider } => write!(
                f,
                "its trust policy does not name {provider} (deleted anyway: --force)"
            ),
            Note::DeleteInlinePolicy(name) => write!(f, "delete inline policy {name}"),
            Note::Detach(arn) => write!(f, "detach {arn}"),
            Note::RolesRemain(roles) => write!(
                f,
                "kept: role(s) {} of these settings remain (destroy without --role removes every role first)",
                roles.join(", ")
            ),
            Note::TrustedByOthers { roles, uses } => trusted_text(f, roles, *uses),
            Note::HoldsState => f.write_str(
                "kept: it holds the Terraform state (--delete-state deletes it only when empty)",
            ),
            Note::Empty => f.write_str("empty: no object, no object version, no delete marker"),
            Note::Holds(c) => write!(f, "it holds {}", describe(c)),
            Note::ContentsUnread => f.write_str("its contents could not be read"),
            Note::LocksState => {
                f.write_str("kept: Terraform locks state with it (--delete-state deletes it)")
            }
            Note::LockHeld(locks) => write!(
                f,
                "a lock is held ({}): a Terraform run may be in progress",
                locks.join(", ")
            ),
            Note::DisableProtection => f.write_str("turn deletion protection off, then delete"),
        }
    }
}

/// A note is its line of text in the JSON document too.
impl Serialize for Note {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Which roles outside these settings still trust the provider, and what else they may use.
fn trusted_text(f: &mut fmt::Formatter<'_>, roles: &[String], uses: SharedUse) -> fmt::Result {
    let what = match uses {
        SharedUse::Provider => "",
        SharedUse::State => " and may keep their state in it",
        SharedUse::Lock => " and may lock their state with it",
    };
    write!(
        f,
        "kept: role(s) {} outside these settings (another set's, a stack's, a stale one of this set's, or made by hand) still trust the provider{what}; it goes with the last of them (destroy those roles first)",
        roles.join(", ")
    )
}

/// "3 object versions (1 current) of 1 key, 1 delete marker: env/prod.tfstate (4)".
fn describe(c: &BucketContents) -> String {
    let plural = |n: usize, one: &str, many: &str| {
        if n == 1 {
            format!("{n} {one}")
        } else {
            format!("{n} {many}")
        }
    };
    let mut s = format!(
        "{} ({} current) of {}, {}",
        plural(c.versions, "object version", "object versions"),
        c.current,
        plural(c.keys, "key", "keys"),
        plural(c.delete_markers, "delete marker", "delete markers"),
    );
    if !c.sample.is_empty() {
        let names: Vec<String> = c.sample.iter().map(|(k, n)| format!("{k} ({n})")).collect();
        s.push_str(": ");
        s.push_str(&names.join(", "));
        if c.keys > c.sample.len() {
            s.push_str(", ...");
        }
    }
    s
}
