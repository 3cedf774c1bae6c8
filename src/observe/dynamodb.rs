//! DynamoDB reads: the lock table's key schema, billing, encryption, protection, backups and
//! tags.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{BillingMode, KeyType, PointInTimeRecoveryStatus, SseStatus};

use super::ObservedTable;
use crate::aws::{classify, errors, Aws};
use crate::error::Result;

const MISSING: &[&str] = &["ResourceNotFoundException", "TableNotFoundException"];

/// The lock table's settings, or None when it does not exist.
pub async fn table(aws: &Aws, name: &str) -> Result<Option<ObservedTable>> {
    let (describe, backups) = tokio::join!(
        aws.dynamodb.describe_table().table_name(name).send(),
        aws.dynamodb
            .describe_continuous_backups()
            .table_name(name)
            .send(),
    );
    let table = match describe {
        Ok(out) => out.table,
        Err(e) if errors::is(&e, MISSING) => return Ok(None),
        Err(e) => return Err(classify(&e, "reading the lock table", name)),
    };
    let Some(table) = table else { return Ok(None) };
    let pitr = match backups {
        Ok(out) => {
            out.continuous_backups_description()
                .and_then(|d| d.point_in_time_recovery_description())
                .and_then(|p| p.point_in_time_recovery_status())
                == Some(&PointInTimeRecoveryStatus::Enabled)
        }
        Err(e) if errors::is(&e, MISSING) => false,
        Err(e) => return Err(classify(&e, "reading the lock table's backups", name)),
    };
    let arn = table.table_arn().unwrap_or_default().to_string();
    let tags = table_tags(aws, name, &arn).await?;
    let keys = table.key_schema();
    let attr_type = |attr: &str| {
        table
            .attribute_definitions()
            .iter()
            .find(|a| a.attribute_name() == attr)
            .map(|a| a.attribute_type().as_str().to_string())
            .unwrap_or_default()
    };
    let key_schema = keys
        .iter()
        .map(|k| {
            format!(
                "{} ({}) {}",
                k.attribute_name(),
                attr_type(k.attribute_name()),
                k.key_type().as_str()
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let key_schema_ok = keys.len() == 1
        && keys[0].attribute_name() == "LockID"
        && keys[0].key_type() == &KeyType::Hash
        && attr_type("LockID") == "S";
    Ok(Some(ObservedTable {
        arn,
        tags,
        status: table
            .table_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        key_schema,
        key_schema_ok,
        on_demand: table.billing_mode_summary().and_then(|b| b.billing_mode())
            == Some(&BillingMode::PayPerRequest),
        sse: table
            .sse_description()
            .and_then(|s| s.status())
            .is_some_and(|s| matches!(s, SseStatus::Enabled | SseStatus::Enabling)),
        deletion_protection: table.deletion_protection_enabled().unwrap_or(false),
        point_in_time_recovery: pitr,
    }))
}

/// The table's tags (every page), to tell the tool's table from someone else's.
async fn table_tags(aws: &Aws, name: &str, arn: &str) -> Result<BTreeMap<String, String>> {
    let mut tags = BTreeMap::new();
    let mut next = None;
    loop {
        let out = match aws
            .dynamodb
            .list_tags_of_resource()
            .resource_arn(arn)
            .set_next_token(next)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if errors::is(&e, MISSING) => return Ok(tags),
            Err(e) => return Err(classify(&e, "reading the lock table's tags", name)),
        };
        tags.extend(
            out.tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string())),
        );
        next = out.next_token().map(str::to_string);
        if next.is_none() {
            return Ok(tags);
        }
    }
}
