//! `destroy` in direct mode: read what exists, plan every deletion (or refusal) before the
//! first write, then delete the role (its inline policies and attachments first), the
//! provider and, only with `--delete-state`, an empty state bucket and an idle lock table.
//!
//! Nothing here deletes an object or an object version: there is no code path that calls
//! DeleteObject(s). An empty bucket is the only bucket ever deleted, and S3 itself refuses
//! DeleteBucket on a bucket that gained an object after the check (`BucketNotEmpty`).

use serde::Serialize;

pub use super::destroy_delete::Op;
use super::destroy_delete::{delete_bucket, delete_provider, delete_role, delete_table};
use super::destroy_observe::{self as found, BucketContents, FoundRole, FoundTable};
use crate::aws::Aws;
use crate::error::{Error, Result};
use crate::model::Account;
use crate::plan::Kind;
use crate::report::Reporter;

/// What `destroy` is asked to remove.
#[derive(Debug, Clone, Serialize)]
pub struct Targets {
    pub account: Account,
    pub provider_arn: String,
    pub role_name: String,
    pub bucket: String,
    /// None with `--no-lock-table`: the table is not touched.
    pub table: Option<String>,
    pub delete_state: bool,
    pub force: bool,
}

/// Everything read before planning.
#[derive(Debug, Clone, Serialize)]
pub struct Found {
    pub provider: bool,
    /// Whether the provider carries `managed-by=bootstrap`.
    pub provider_managed: bool,
    pub role: Option<FoundRole>,
    /// Other roles whose trust policy names the provider.
    pub trusting_roles: Vec<String>,
    pub bucket: bool,
    /// Only read with `--delete-state`.
    pub bucket_contents: Option<BucketContents>,
    /// Whether the bucket carries `managed-by=bootstrap`; only read with `--delete-state`.
    pub bucket_managed: bool,
    pub table: Option<FoundTable>,
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

/// Read everything the plan needs, concurrently.
pub async fn observe(aws: &Aws, t: &Targets) -> Result<Found> {
    let table_name = t.table.clone();
    let (provider, role, trusting_roles, bucket, table) = tokio::try_join!(
        found::provider(aws, &t.provider_arn),
        found::role(aws, &t.role_name, &t.provider_arn),
        found::roles_trusting(aws, &t.provider_arn, &t.role_name),
        found::bucket_exists(aws, &t.bucket),
        async {
            match &table_name {
                Some(name) => found::table(aws, name, t.delete_state).await,
                None => Ok(None),
            }
        },
    )?;
    let (bucket_contents, bucket_managed) = if bucket && t.delete_state {
        let (contents, managed) = tokio::try_join!(
            found::bucket_contents(aws, &t.bucket),
            found::bucket_managed(aws, &t.bucket)
        )?;
        (Some(contents), managed)
    } else {
        (None, true)
    };
    Ok(Found {
        provider: provider.is_some(),
        provider_managed: provider.unwrap_or(true),
        bucket_managed,
        role,
        trusting_roles,
        bucket,
        bucket_contents,
        table,
    })
}

/// Why an existing resource without the tool's tag is not deleted without `--force`.
const NOT_OURS: &str =
    "it has no managed-by=bootstrap tag, so bootstrap did not create it (or adopt it)";
/// The note on such a resource deleted with `--force`.
const FORCED: &str =
    "not created by bootstrap (no managed-by=bootstrap tag); deleted anyway: --force";

/// The destroy plan: pure, from what was read.
pub fn plan(t: &Targets, f: &Found) -> Plan {
    let mut items = Vec::new();

    let role = match &f.role {
        None => Item::new(Kind::Role, &t.role_name, Action::Absent).note("not found"),
        Some(r) if !r.instance_profiles.is_empty() => {
            Item::new(Kind::Role, &t.role_name, Action::Delete).refuse(
                format!(
                    "it is in instance profile(s) {}, so EC2 instances may depend on it",
                    r.instance_profiles.join(", ")
                ),
                "bootstrap never creates instance profiles; remove the role from them yourself if it really is unused",
            )
        }
        Some(r) if !r.managed && !t.force => {
            Item::new(Kind::Role, &t.role_name, Action::Delete).refuse(
                NOT_OURS,
                "check --role-name, or pass --force to delete it anyway",
            )
        }
        Some(_) if f.role.as_ref().is_some_and(|r| !r.trusts_provider) && !t.force => {
            Item::new(Kind::Role, &t.role_name, Action::Delete).refuse(
                format!(
                    "its trust policy does not name the provider {}, so it was not set up for this issuer",
                    t.provider_arn
                ),
                "check --workspace / --issuer-url and --role-name, or pass --force to delete the role anyway",
            )
        }
        Some(r) => {
            let mut item = Item::new(Kind::Role, &t.role_name, Action::Delete);
            for name in &r.inline_policies {
                item = item.note(format!("delete inline policy {name}"));
                item.ops.push(Op::DeleteInlinePolicy { name: name.clone() });
            }
            for arn in &r.managed_policies {
                item = item.note(format!("detach {arn}"));
                item.ops.push(Op::DetachPolicy { arn: arn.clone() });
            }
            if !r.managed {
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
    };
    items.push(role);

    let provider = if !f.provider {
        Item::new(Kind::OidcProvider, &t.provider_arn, Action::Absent).note("not found")
    } else if !f.provider_managed && !t.force {
        Item::new(Kind::OidcProvider, &t.provider_arn, Action::Delete).refuse(
            NOT_OURS,
            "pass --force to delete it anyway (roles that trust it stop working)",
        )
    } else if !f.trusting_roles.is_empty() && !t.force {
        Item::new(Kind::OidcProvider, &t.provider_arn, Action::Delete).refuse(
            format!(
                "still trusted by other roles: {} (they would stop working)",
                f.trusting_roles.join(", ")
            ),
            "delete or re-point those roles first, or pass --force to delete the provider anyway",
        )
    } else {
        let mut item = Item::new(Kind::OidcProvider, &t.provider_arn, Action::Delete);
        if !f.provider_managed {
            item = item.note(FORCED);
        }
        if !f.trusting_roles.is_empty() {
            item = item.note(format!(
                "still trusted by {}: they stop working (--force)",
                f.trusting_roles.join(", ")
            ));
        }
        item.ops.push(Op::DeleteProvider);
        item
    };
    items.push(provider);

    let bucket = if !f.bucket {
        Item::new(Kind::StateBucket, &t.bucket, Action::Absent).note("not found")
    } else if !t.delete_state {
        Item::new(Kind::StateBucket, &t.bucket, Action::Keep)
            .note("kept: it holds the Terraform state (--delete-state deletes it only when empty)")
    } else {
        match &f.bucket_contents {
            Some(c) if c.is_empty() && !f.bucket_managed && !t.force => {
                Item::new(Kind::StateBucket, &t.bucket, Action::Delete).refuse(
                    NOT_OURS,
                    "check --state-bucket, or pass --force to delete it anyway (only ever when empty)",
                )
            }
            Some(c) if c.is_empty() => {
                let mut item = Item::new(Kind::StateBucket, &t.bucket, Action::Delete)
                    .note("empty: no object, no object version, no delete marker");
                if !f.bucket_managed {
                    item = item.note(FORCED);
                }
                item.ops.push(Op::DeleteBucket);
                item
            }
            Some(c) => Item::new(Kind::StateBucket, &t.bucket, Action::Delete).refuse(
                format!("it holds {}", c.describe()),
                "bootstrap never deletes Terraform state: keep the bucket (run destroy without --delete-state), or move the state elsewhere and empty the bucket yourself",
            ),
            None => Item::new(Kind::StateBucket, &t.bucket, Action::Delete).refuse(
                "its contents could not be read",
                "run again",
            ),
        }
    };
    items.push(bucket);

    if let Some(name) = &t.table {
        let table = match &f.table {
            None => Item::new(Kind::LockTable, name, Action::Absent).note("not found"),
            Some(_) if !t.delete_state => Item::new(Kind::LockTable, name, Action::Keep)
                .note("kept: Terraform locks state with it (--delete-state deletes it)"),
            Some(tb) if !tb.held_locks.is_empty() => {
                Item::new(Kind::LockTable, name, Action::Delete).refuse(
                    format!(
                        "a lock is held ({}): a Terraform run may be in progress",
                        tb.held_locks.join(", ")
                    ),
                    "wait for the run to finish (or `terraform force-unlock` a stale lock), then run destroy again",
                )
            }
            Some(tb) if !tb.managed && !t.force => Item::new(Kind::LockTable, name, Action::Delete)
                .refuse(
                    NOT_OURS,
                    "check --lock-table, or pass --force to delete it anyway",
                ),
            Some(tb) => {
                let mut item = Item::new(Kind::LockTable, name, Action::Delete);
                if !tb.managed {
                    item = item.note(FORCED);
                }
                if tb.deletion_protection {
                    item = item.note("turn deletion protection off, then delete");
                    item.ops.push(Op::DisableDeletionProtection);
                }
                item.ops.push(Op::DeleteTable);
                item
            }
        };
        items.push(table);
    }
    Plan { items }
}

fn ops_of(plan: &Plan, kind: Kind) -> Vec<Op> {
    plan.get(kind)
        .filter(|i| i.action == Action::Delete)
        .map(|i| i.ops.clone())
        .unwrap_or_default()
}

/// Carry out the plan. The role goes before the provider it trusts; the bucket and the table
/// are independent of both.
pub async fn apply(aws: &Aws, t: &Targets, plan: &Plan, reporter: &Reporter) -> Result<()> {
    if let Some(err) = plan.refusal_error() {
        return Err(err);
    }
    let identity = async {
        delete_role(&aws.iam, &t.role_name, &ops_of(plan, Kind::Role), reporter).await?;
        delete_provider(
            aws,
            &t.provider_arn,
            &ops_of(plan, Kind::OidcProvider),
            reporter,
        )
        .await
    };
    let bucket_ops = ops_of(plan, Kind::StateBucket);
    let bucket = delete_bucket(aws, &t.bucket, &bucket_ops, reporter);
    let table = async {
        match &t.table {
            Some(name) => delete_table(aws, name, &ops_of(plan, Kind::LockTable), reporter).await,
            None => Ok(()),
        }
    };
    tokio::try_join!(identity, bucket, table)?;
    Ok(())
}

/// Read back: every deleted resource is gone (a table may still be DELETING) and every kept
/// one is still there. Returns what is not as planned.
pub async fn verify(aws: &Aws, t: &Targets, plan: &Plan) -> Result<Vec<String>> {
    let after = observe(
        aws,
        &Targets {
            delete_state: false,
            ..t.clone()
        },
    )
    .await?;
    let mut wrong = Vec::new();
    for item in &plan.items {
        let exists = match item.kind {
            Kind::Role => after.role.is_some(),
            Kind::OidcProvider => after.provider,
            Kind::StateBucket => after.bucket,
            Kind::LockTable => after.table.as_ref().is_some_and(|t| t.status != "DELETING"),
        };
        match item.action {
            Action::Delete if exists => {
                wrong.push(format!("{} {} still exists", item.kind.label(), item.name))
            }
            Action::Keep if !exists => {
                wrong.push(format!("{} {} is gone", item.kind.label(), item.name))
            }
            _ => {}
        }
    }
    Ok(wrong)
}

#[cfg(test)]
#[path = "destroy_tests.rs"]
mod tests;
