//! The destroy plan in direct mode: from what was read ([`crate::observe::destroy`]), every
//! deletion, keep and refusal, each deletion with the calls it takes, before the first
//! write. Also the comparison after the deletions: what was read back against the plan.
//! No AWS calls.
//!
//! No plan ever deletes an object or an object version: there is no such operation. An
//! empty bucket is the only bucket ever deleted.

use std::collections::BTreeMap;

use serde::Serialize;

use super::ownership::is_managed;
use super::Kind;
use crate::error::{Error, Result};
use crate::model::owner::foreign_owner;
use crate::observe::destroy::{BucketContents, Found, FoundRole, Tags, Targets};

/// A mutating call `destroy` makes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    DeleteInlinePolicy { name: String },
    DetachPolicy { arn: String },
    DeleteRole,
    DeleteProvider,
    DeleteBucket,
    DisableDeletionProtection,
    DeleteTable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Delete,
    Keep,
    Absent,
    Refused,
}

#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub kind: Kind,
    pub name: String,
    pub action: Action,
    /// Why (for keep/refuse) or what goes with it (for delete), one line each.
    pub notes: Vec<String>,
    /// For a refusal: what would make it possible.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    pub ops: Vec<Op>,
}

impl Item {
    fn new(kind: Kind, name: &str, action: Action) -> Item {
        Item {
            kind,
            name: name.to_string(),
            action,
            notes: Vec::new(),
            hint: None,
            ops: Vec::new(),
        }
    }

    fn note(mut self, note: impl Into<String>) -> Item {
        self.notes.push(note.into());
        self
    }

    fn refuse(mut self, why: impl Into<String>, hint: impl Into<String>) -> Item {
        self.action = Action::Refused;
        self.notes.push(why.into());
        self.hint = Some(hint.into());
        self.ops.clear();
        self
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub items: Vec<Item>,
}

impl Plan {
    pub fn get(&self, kind: Kind) -> Option<&Item> {
        self.items.iter().find(|i| i.kind == kind)
    }

    pub fn has_deletions(&self) -> bool {
        self.items.iter().any(|i| i.action == Action::Delete)
    }

    /// Each role to delete with the operations its deletion takes, in the plan's order.
    pub fn role_ops(&self) -> Vec<(&str, &[Op])> {
        self.items
            .iter()
            .filter(|i| i.kind == Kind::Role && i.action == Action::Delete)
            .map(|i| (i.name.as_str(), i.ops.as_slice()))
            .collect()
    }

    /// The operations of `kind`'s deletion (none when it is not deleted).
    pub fn ops_of(&self, kind: Kind) -> Vec<Op> {
        self.get(kind)
            .filter(|i| i.action == Action::Delete)
            .map(|i| i.ops.clone())
            .unwrap_or_default()
    }

    pub fn refusals(&self) -> Vec<&Item> {
        self.items
            .iter()
            .filter(|i| i.action == Action::Refused)
            .collect()
    }

    /// One error for every refusal: usage (exit 64), since nothing was touched and the
    /// command as given cannot be carried out.
    pub fn refusal_error(&self) -> Option<Error> {
        let refused = self.refusals();
        if refused.is_empty() {
            return None;
        }
        let message = refused
            .iter()
            .map(|i| format!("{} {}: {}", i.kind.label(), i.name, i.notes.join("; ")))
            .collect::<Vec<_>>()
            .join(" | ");
        let hints: Vec<&str> = refused.iter().filter_map(|i| i.hint.as_deref()).collect();
        let mut err = Error::usage(format!(
            "refusing to destroy; nothing was changed: {message}"
        ));
        if !hints.is_empty() {
            err = err.hint(hints.join("; "));
        }
        Some(err)
    }
}

/// Why an existing resource without the tool's tag is not deleted without `--force`.
const NOT_OURS: &str =
    "it has no managed-by=bootstrap tag, so bootstrap did not create it (or adopt it)";
/// The note on such a resource deleted with `--force`.
const FORCED: &str =
    "not created by bootstrap (no managed-by=bootstrap tag); deleted anyway: --force";

/// Whether tags that were read mark the resource as the tool's (tags not read: the resource
/// is kept anyway, so it counts as the tool's).
fn managed(tags: Option<&Tags>) -> bool {
    tags.is_none_or(is_managed)
}

/// The destroy plan: pure, from what was read.
pub fn plan(t: &Targets, f: &Found) -> Plan {
    let mut items: Vec<Item> = t
        .role_names
        .iter()
        .map(|name| role(t, name, f.roles.get(name)))
        .collect();
    items.extend([provider(t, f), bucket(t, f)]);
    if let Some(name) = &t.table {
        items.push(table(t, f, name));
    }
    Plan { items }
}

/// `init --prune`: each stale role deleted as `destroy` deletes a role (refusals included),
/// and nothing else.
pub fn prune(t: &Targets, found: &BTreeMap<String, FoundRole>) -> Plan {
    Plan {
        items: t
            .role_names
            .iter()
            .map(|name| role(t, name, found.get(name)))
            .collect(),
    }
}

/// After `init --prune`: every role the plan deletes is gone.
pub fn check_pruned(plan: &Plan, after: &BTreeMap<String, FoundRole>) -> Result<()> {
    let left: Vec<&str> = plan
        .role_ops()
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| after.contains_key(*name))
        .collect();
    if left.is_empty() {
        return Ok(());
    }
    Err(Error::failure(format!(
        "pruned, but reading back shows role(s) {} still there",
        left.join(", ")
    ))
    .hint("run `bootstrap init --prune` again; it continues where this run stopped"))
}

/// Why the shared resources stay when `--role` leaves some configured roles out (None when
/// every role goes).
fn remaining(t: &Targets) -> Option<String> {
    (!t.remaining_roles.is_empty()).then(|| {
        format!(
            "kept: role(s) {} of these settings remain (destroy without --role removes every role first)",
            t.remaining_roles.join(", ")
        )
    })
}

/// What the note of a resource kept for roles outside these settings says of them.
pub const OUTSIDE: &str = "outside these settings";

/// Why the shared resources stay when roles outside these settings (another set's, a
/// stack's, hand-made ones) still trust the provider: a set removes all of its own roles
/// without `--force`, and the others keep working (None without others). `--force` does
/// not change this: it only lets destroy delete what the tool did not create.
fn trusted_by_others(f: &Found, what: &str) -> Option<String> {
    (!f.trusting_roles.is_empty()).then(|| {
        format!(
            "kept: role(s) {} {OUTSIDE} (another set's, a stack's, a stale one of this set's, or made by hand) still trust the provider{what}; it goes with the last of them (destroy those roles first)",
            f.trusting_roles.join(", ")
        )
    })
}

fn role(t: &Targets, name: &str, found: Option<&FoundRole>) -> Item {
    let Some(r) = found else {
        return Item::new(Kind::Role, name, Action::Absent).note("not found");
    };
    let ours = is_managed(&r.tags);
    let delete = Item::new(Kind::Role, name, Action::Delete);
    // Never with --force: another set's role, or a stack's, is not these settings' to delete.
    if let Some(owner) = foreign_owner(&r.tags, &t.set) {
        return delete.refuse(owner.describe(&t.set), owner.hint());
    }
    if !r.instance_profiles.is_empty() {
        return delete.refuse(
            format!(
                "it is in instance profile(s) {}, so EC2 instances may depend on it",
                r.instance_profiles.join(", ")
            ),
            "bootstrap never creates instance profiles; remove the role from them yourself if it really is unused",
        );
    }
    if !ours && !t.force {
        return delete.refuse(
            NOT_OURS,
            "check --role-name, or pass --force to delete it anyway",
        );
    }
    if !r.trusts_provider && !t.force {
        return delete.refuse(
            format!(
                "its trust policy does not name the provider {}, so it was not set up for this issuer",
                t.provider_arn
            ),
            "check --workspace / --issuer-url and --role-name, or pass --force to delete the role anyway",
        );
    }
    let mut item = delete;
    for name in &r.inline_policies {
        item = item.note(format!("delete inline policy {name}"));
        item.ops.push(Op::DeleteInlinePolicy { name: name.clone() });
    }
    for arn in &r.managed_policies {
        item = item.note(format!("detach {arn}"));
        item.ops.push(Op::DetachPolicy { arn: arn.clone() });
    }
    if !ours {
        item = item.note(FORCED);
    }
    if !r.trusts_provider {
        item = item.note(format!(
            "its trust policy does not name {} (deleted anyway: --force)",
            t.provider_arn
        ));
    }
    item.ops.push(Op::DeleteRole);
    item
}

fn provider(t: &Targets, f: &Found) -> Item {
    let arn = &t.provider_arn;
    let Some(tags) = &f.provider else {
        return Item::new(Kind::OidcProvider, arn, Action::Absent).note("not found");
    };
    if let Some(why) = remaining(t).or_else(|| trusted_by_others(f, "")) {
        return Item::new(Kind::OidcProvider, arn, Action::Keep).note(why);
    }
    let ours = is_managed(tags);
    let delete = Item::new(Kind::OidcProvider, arn, Action::Delete);
    if !ours && !t.force {
        return delete.refuse(
            NOT_OURS,
            "pass --force to delete it anyway (roles that trust it stop working)",
        );
    }
    let mut item = delete;
    if !ours {
        item = item.note(FORCED);
    }
    item.ops.push(Op::DeleteProvider);
    item
}

fn bucket(t: &Targets, f: &Found) -> Item {
    let name = &t.bucket;
    if !f.bucket {
        return Item::new(Kind::StateBucket, name, Action::Absent).note("not found");
    }
    // While other roles remain they use the state: that, not --delete-state, is why it stays.
    if let Some(why) = remaining(t).or_else(|| {
        t.delete_state
            .then(|| trusted_by_others(f, " and may keep their state in it"))
            .flatten()
    }) {
        return Item::new(Kind::StateBucket, name, Action::Keep).note(why);
    }
    if !t.delete_state {
        return Item::new(Kind::StateBucket, name, Action::Keep).note(
            "kept: it holds the Terraform state (--delete-state deletes it only when empty)",
        );
    }
    let ours = managed(f.bucket_tags.as_ref());
    let delete = Item::new(Kind::StateBucket, name, Action::Delete);
    match &f.bucket_contents {
        Some(c) if c.is_empty() && !ours && !t.force => delete.refuse(
            NOT_OURS,
            "check --state-bucket, or pass --force to delete it anyway (only ever when empty)",
        ),
        Some(c) if c.is_empty() => {
            let mut item = delete.note("empty: no object, no object version, no delete marker");
            if !ours {
                item = item.note(FORCED);
            }
            item.ops.push(Op::DeleteBucket);
            item
        }
        Some(c) => delete.refuse(
            format!("it holds {}", describe(c)),
            "bootstrap never deletes Terraform state: keep the bucket (run destroy without --delete-state), or move the state elsewhere and empty the bucket yourself",
        ),
        None => delete.refuse("its contents could not be read", "run again"),
    }
}

fn table(t: &Targets, f: &Found, name: &str) -> Item {
    let Some(tb) = f.table.as_ref() else {
        return Item::new(Kind::LockTable, name, Action::Absent).note("not found");
    };
    if let Some(why) = remaining(t).or_else(|| {
        t.delete_state
            .then(|| trusted_by_others(f, " and may lock their state with it"))
            .flatten()
    }) {
        return Item::new(Kind::LockTable, name, Action::Keep).note(why);
    }
    if !t.delete_state {
        return Item::new(Kind::LockTable, name, Action::Keep)
            .note("kept: Terraform locks state with it (--delete-state deletes it)");
    }
    let ours = managed(tb.tags.as_ref());
    let delete = Item::new(Kind::LockTable, name, Action::Delete);
    if !tb.held_locks.is_empty() {
        return delete.refuse(
            format!(
                "a lock is held ({}): a Terraform run may be in progress",
                tb.held_locks.join(", ")
            ),
            "wait for the run to finish (or `terraform force-unlock` a stale lock), then run destroy again",
        );
    }
    if !ours && !t.force {
        return delete.refuse(
            NOT_OURS,
            "check --lock-table, or pass --force to delete it anyway",
        );
    }
    let mut item = delete;
    if !ours {
        item = item.note(FORCED);
    }
    if tb.deletion_protection {
        item = item.note("turn deletion protection off, then delete");
        item.ops.push(Op::DisableDeletionProtection);
    }
    item.ops.push(Op::DeleteTable);
    item
}

/// "3 object versions (1 current) of 1 key, 1 delete marker: env/prod.tfstate (4)".
pub fn describe(c: &BucketContents) -> String {
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

/// Compare what was read back after the deletions with the plan: every deleted resource is
/// gone (a table may still be DELETING) and every kept one is still there. An error names
/// what is not as planned.
pub fn check_read_back(plan: &Plan, after: &Found) -> Result<()> {
    let mut wrong = Vec::new();
    for item in &plan.items {
        let exists = match item.kind {
            Kind::Role => after.roles.contains_key(&item.name),
            Kind::OidcProvider => after.provider.is_some(),
            Kind::StateBucket => after.bucket,
            Kind::LockTable => after.table.as_ref().is_some_and(|t| t.status != "DELETING"),
        };
        match item.action {
            Action::Delete if exists => {
                wrong.push(format!("{} {} still exists", item.kind.label(), item.name));
            }
            Action::Keep if !exists => {
                wrong.push(format!("{} {} is gone", item.kind.label(), item.name));
            }
            _ => {}
        }
    }
    if wrong.is_empty() {
        return Ok(());
    }
    Err(Error::failure(format!(
        "destroyed, but reading back shows: {}",
        wrong.join(", ")
    ))
    .hint("run `bootstrap destroy` again; it continues where this run stopped"))
}

#[cfg(test)]
#[path = "destroy_tests.rs"]
mod tests;
