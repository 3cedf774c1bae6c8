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
use crate::model::owner::{foreign_owner, Owner};
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
    pub notes: Vec<Note>,
    /// For a refusal: what would make it possible.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    pub ops: Vec<Op>,
}

/// One line about an item: why it is absent, kept or refused, or what goes with its
/// deletion. How it reads, in the text and as its string in the JSON, is `report`'s
/// (`report::destroy`).
#[derive(Debug, Clone)]
pub enum Note {
    NotFound,
    /// A role of another set or of a stack (`set`: these settings' set).
    Owned {
        owner: Owner,
        set: String,
    },
    /// A role in these instance profiles, which EC2 instances may depend on.
    InInstanceProfiles(Vec<String>),
    /// No managed-by tag: the tool neither created nor adopted it (refused).
    NotOurs,
    /// No managed-by tag, deleted anyway with `--force`.
    Forced,
    /// A role whose trust policy does not name this provider (refused).
    OtherIssuer {
        provider: String,
    },
    /// A role whose trust policy does not name this provider, deleted anyway with `--force`.
    OtherIssuerForced {
        provider: String,
    },
    DeleteInlinePolicy(String),
    Detach(String),
    /// Kept: these roles of the settings remain (`--role` left them out).
    RolesRemain(Vec<String>),
    /// Kept: roles outside these settings still trust the provider (and use the state).
    TrustedByOthers {
        roles: Vec<String>,
        uses: SharedUse,
    },
    /// The state bucket kept without `--delete-state`.
    HoldsState,
    /// The state bucket is empty (so it may go).
    Empty,
    /// The state bucket holds these (refused).
    Holds(BucketContents),
    /// The state bucket's contents could not be read (refused).
    ContentsUnread,
    /// The lock table kept without `--delete-state`.
    LocksState,
    /// The lock table holds these locks (refused).
    LockHeld(Vec<String>),
    /// The lock table's deletion protection is turned off first.
    DisableProtection,
}

/// What the roles that trust the provider may also do with a shared resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SharedUse {
    /// The provider itself: they trust it.
    Provider,
    /// The state bucket: they may keep their state in it.
    State,
    /// The lock table: they may lock their state with it.
    Lock,
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

    fn note(mut self, note: Note) -> Item {
        self.notes.push(note);
        self
    }

    fn refuse(mut self, why: Note, hint: impl Into<String>) -> Item {
        self.action = Action::Refused;
        self.notes.push(why);
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
            .map(|i| {
                let notes: Vec<String> = i.notes.iter().map(Note::to_string).collect();
                format!("{} {}: {}", i.kind.label(), i.name, notes.join("; "))
            })
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
fn remaining(t: &Targets) -> Option<Note> {
    (!t.remaining_roles.is_empty()).then(|| Note::RolesRemain(t.remaining_roles.clone()))
}

/// Why the shared resources stay when roles outside these settings (another set's, a
/// stack's, hand-made ones) still trust the provider: a set removes all of its own roles
/// without `--force`, and the others keep working (None without others). `--force` does
/// not change this: it only lets destroy delete what the tool did not create.
fn trusted_by_others(f: &Found, uses: SharedUse) -> Option<Note> {
    (!f.trusting_roles.is_empty()).then(|| Note::TrustedByOthers {
        roles: f.trusting_roles.clone(),
        uses,
    })
}

fn role(t: &Targets, name: &str, found: Option<&FoundRole>) -> Item {
    let Some(r) = found else {
        return Item::new(Kind::Role, name, Action::Absent).note(Note::NotFound);
    };
    let ours = is_managed(&r.tags);
    let delete = Item::new(Kind::Role, name, Action::Delete);
    // Never with --force: another set's role, or a stack's, is not these settings' to delete.
    if let Some(owner) = foreign_owner(&r.tags, &t.set) {
        let hint = owner.hint();
        let set = t.set.clone();
        return delete.refuse(Note::Owned { owner, set }, hint);
    }
    if !r.instance_profiles.is_empty() {
        return delete.refuse(
            Note::InInstanceProfiles(r.instance_profiles.clone()),
            "bootstrap never creates instance profiles; remove the role from them yourself if it really is unused",
        );
    }
    if !ours && !t.force {
        return delete.refuse(
            Note::NotOurs,
            "check --role-name, or pass --force to delete it anyway",
        );
    }
    if !r.trusts_provider && !t.force {
        return delete.refuse(
            Note::OtherIssuer {
                provider: t.provider_arn.clone(),
            },
            "check --workspace / --issuer-url and --role-name, or pass --force to delete the role anyway",
        );
    }
    let mut item = delete;
    for name in &r.inline_policies {
        item = item.note(Note::DeleteInlinePolicy(name.clone()));
        item.ops.push(Op::DeleteInlinePolicy { name: name.clone() });
    }
    for arn in &r.managed_policies {
        item = item.note(Note::Detach(arn.clone()));
        item.ops.push(Op::DetachPolicy { arn: arn.clone() });
    }
    if !ours {
        item = item.note(Note::Forced);
    }
    if !r.trusts_provider {
        item = item.note(Note::OtherIssuerForced {
            provider: t.provider_arn.clone(),
        });
    }
    item.ops.push(Op::DeleteRole);
    item
}

fn provider(t: &Targets, f: &Found) -> Item {
    let arn = &t.provider_arn;
    let Some(tags) = &f.provider else {
        return Item::new(Kind::OidcProvider, arn, Action::Absent).note(Note::NotFound);
    };
    if let Some(why) = remaining(t).or_else(|| trusted_by_others(f, SharedUse::Provider)) {
        return Item::new(Kind::OidcProvider, arn, Action::Keep).note(why);
    }
    let ours = is_managed(tags);
    let delete = Item::new(Kind::OidcProvider, arn, Action::Delete);
    if !ours && !t.force {
        return delete.refuse(
            Note::NotOurs,
            "pass --force to delete it anyway (roles that trust it stop working)",
        );
    }
    let mut item = delete;
    if !ours {
        item = item.note(Note::Forced);
    }
    item.ops.push(Op::DeleteProvider);
    item
}

fn bucket(t: &Targets, f: &Found) -> Item {
    let name = &t.bucket;
    if !f.bucket {
        return Item::new(Kind::StateBucket, name, Action::Absent).note(Note::NotFound);
    }
    // While other roles remain they use the state: that, not --delete-state, is why it stays.
    if let Some(why) = remaining(t).or_else(|| {
        t.delete_state
            .then(|| trusted_by_others(f, SharedUse::State))
            .flatten()
    }) {
        return Item::new(Kind::StateBucket, name, Action::Keep).note(why);
    }
    if !t.delete_state {
        return Item::new(Kind::StateBucket, name, Action::Keep).note(Note::HoldsState);
    }
    let ours = managed(f.bucket_tags.as_ref());
    let delete = Item::new(Kind::StateBucket, name, Action::Delete);
    match &f.bucket_contents {
        Some(c) if c.is_empty() && !ours && !t.force => delete.refuse(
            Note::NotOurs,
            "check --state-bucket, or pass --force to delete it anyway (only ever when empty)",
        ),
        Some(c) if c.is_empty() => {
            let mut item = delete.note(Note::Empty);
            if !ours {
                item = item.note(Note::Forced);
            }
            item.ops.push(Op::DeleteBucket);
            item
        }
        Some(c) => delete.refuse(
            Note::Holds(c.clone()),
            "bootstrap never deletes Terraform state: keep the bucket (run destroy without --delete-state), or move the state elsewhere and empty the bucket yourself",
        ),
        None => delete.refuse(Note::ContentsUnread, "run again"),
    }
}

fn table(t: &Targets, f: &Found, name: &str) -> Item {
    let Some(tb) = f.table.as_ref() else {
        return Item::new(Kind::LockTable, name, Action::Absent).note(Note::NotFound);
    };
    if let Some(why) = remaining(t).or_else(|| {
        t.delete_state
            .then(|| trusted_by_others(f, SharedUse::Lock))
            .flatten()
    }) {
        return Item::new(Kind::LockTable, name, Action::Keep).note(why);
    }
    if !t.delete_state {
        return Item::new(Kind::LockTable, name, Action::Keep).note(Note::LocksState);
    }
    let ours = managed(tb.tags.as_ref());
    let delete = Item::new(Kind::LockTable, name, Action::Delete);
    if !tb.held_locks.is_empty() {
        return delete.refuse(
            Note::LockHeld(tb.held_locks.clone()),
            "wait for the run to finish (or `terraform force-unlock` a stale lock), then run destroy again",
        );
    }
    if !ours && !t.force {
        return delete.refuse(
            Note::NotOurs,
            "check --lock-table, or pass --force to delete it anyway",
        );
    }
    let mut item = delete;
    if !ours {
        item = item.note(Note::Forced);
    }
    if tb.deletion_protection {
        item = item.note(Note::DisableProtection);
        item.ops.push(Op::DisableDeletionProtection);
    }
    item.ops.push(Op::DeleteTable);
    item
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
