//! The lock table's plan: create it (`LockID`, on demand, SSE, point-in-time recovery,
//! deletion protection), or turn on what an existing one lacks; a wrong key schema is refused.

use super::ownership::{is_managed, tags_to_add};
use super::{FieldChange, Kind, Op, ResourcePlan};
use crate::error::{Error, Result};
use crate::model::DesiredTable;
use crate::observe::ObservedTable;

fn on_off(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

pub fn table(d: &DesiredTable, o: Option<&ObservedTable>) -> Result<ResourcePlan> {
    let Some(o) = o else {
        let changes = vec![
            FieldChange::new("key", "", "LockID (S) HASH"),
            FieldChange::new("billing", "", "on-demand"),
            FieldChange::new("encryption", "", "on"),
            FieldChange::new("deletion protection", "", "on"),
            FieldChange::new("point-in-time recovery", "", "on"),
        ];
        let ops = vec![Op::CreateTable, Op::EnablePointInTimeRecovery];
        return Ok(ResourcePlan::new(
            Kind::LockTable,
            &d.name,
            false,
            changes,
            ops,
        ));
    };
    if !o.key_schema_ok {
        return Err(Error::failure(format!(
            "the table exists with key schema {} but Terraform's lock table needs LockID (S) as its only (hash) key",
            if o.key_schema.is_empty() { "(none)" } else { &o.key_schema }
        ))
        .resource(d.name.clone())
        .hint("choose another --lock-table name, or --no-lock-table to use S3-native locking"));
    }
    let mut changes = Vec::new();
    if !o.on_demand {
        changes.push(FieldChange::new("billing", "provisioned", "on-demand"));
    }
    if !o.sse {
        changes.push(FieldChange::new("encryption (KMS)", "off", "on"));
    }
    if !o.deletion_protection {
        changes.push(FieldChange::new("deletion protection", "off", "on"));
    }
    let mut ops = Vec::new();
    if !changes.is_empty() {
        ops.push(Op::EnableTableSettings {
            on_demand: !o.on_demand,
            sse: !o.sse,
            deletion_protection: !o.deletion_protection,
        });
    }
    if !o.point_in_time_recovery {
        changes.push(FieldChange::new(
            "point-in-time recovery",
            on_off(o.point_in_time_recovery),
            "on",
        ));
        ops.push(Op::EnablePointInTimeRecovery);
    }
    let plan = ResourcePlan::new(Kind::LockTable, &d.name, true, changes, ops);
    if is_managed(&o.tags) {
        return Ok(plan);
    }
    let tags = tags_to_add(&d.tags, &o.tags);
    Ok(plan.adopting(tags.clone(), Op::TagTable { tags }))
}
