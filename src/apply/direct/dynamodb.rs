use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, PointInTimeRecoverySpecification,
    ScalarAttributeType, SseSpecification, TableStatus, Tag,
};

use crate::aws::{classify, errors, Aws};
use crate::error::{Error, Result};
use crate::model::DesiredTable;
use crate::plan::Op;
use crate::report::Reporter;

fn built<T, E: std::fmt::Display>(r: std::result::Result<T, E>) -> Result<T> {
    r.map_err(|e| Error::failure(format!("building a DynamoDB request: {e}")))
}

/// Poll until the table is ACTIVE: exponential backoff from 100 ms, capped at 5 s per wait
/// and 5 minutes in all.
pub(crate) async fn wait_active(aws: &Aws, name: &str) -> Result<()> {
    let mut delay = Duration::from_millis(100);
    let mut waited = Duration::ZERO;
    loop {
        let out = aws
            .dynamodb
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(|e| classify(&e, "waiting for the table", name))?;
        if out.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            return Ok(());
        }
        if waited > Duration::from_secs(300) {
            return Err(
                Error::failure("the table did not become ACTIVE within 5 minutes")
                    .resource(name.to_string())
                    .hint("run `bootstrap init` again later; it continues from here"),
            );
        }
        tokio::time::sleep(delay).await;
        waited += delay;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

pub async fn apply_table(
    aws: &Aws,
    d: &DesiredTable,
    ops: &[Op],
    reporter: &Reporter,
) -> Result<()> {
    let db = &aws.dynamodb;
    let name = d.name.as_str();
    let mut ops: Vec<Op> = ops.to_vec();
    // Whether the table is known to be ACTIVE (updates and backups need that); unknown for a
    // table this run did not create, so the first update waits (one DescribeTable).
    let mut known_active = false;
    let mut i = 0;
    while i < ops.len() {
        let op = ops[i].clone();
        i += 1;
        match &op {
            Op::CreateTable => {
                let tags = d
                    .tags
                    .iter()
                    .map(|(k, v)| built(Tag::builder().key(k).value(v).build()))
                    .collect::<Result<Vec<_>>>()?;
                let result = db
                    .create_table()
                    .table_name(name)
                    .attribute_definitions(built(
                        AttributeDefinition::builder()
                            .attribute_name("LockID")
                            .attribute_type(ScalarAttributeType::S)
                            .build(),
                    )?)
                    .key_schema(built(
                        KeySchemaElement::builder()
                            .attribute_name("LockID")
                            .key_type(KeyType::Hash)
                            .build(),
                    )?)
                    .billing_mode(BillingMode::PayPerRequest)
                    .sse_specification(SseSpecification::builder().enabled(true).build())
                    .deletion_protection_enabled(true)
                    .set_tags(Some(tags))
                    .send()
                    .await;
                let active = match result {
                    Ok(out) => {
                        reporter.progress(format!("created lock table {name}"));
                        out.table_description().and_then(|t| t.table_status())
                            == Some(&TableStatus::Active)
                    }
                    Err(e) if errors::is(&e, &["ResourceInUseException"]) => {
                        // An earlier attempt whose answer was lost, or someone else's: plan
                        // the rest from what is there.
                        reporter.progress(format!("lock table {name} already exists; adopted"));
                        wait_active(aws, name).await?;
                        known_active = true;
                        let observed = crate::observe::table(aws, name).await?;
                        let rest = crate::plan::table_plan(d, observed.as_ref())?.ops;
                        ops.truncate(i);
                        ops.extend(rest.into_iter().filter(|o| !matches!(o, Op::CreateTable)));
                        continue;
                    }
                    Err(e) => return Err(classify(&e, "creating the lock table", name)),
                };
                known_active = active;
            }
            Op::EnableTableSettings {
                on_demand,
                sse,
                deletion_protection,
            } => {
                // One setting per UpdateTable call, each on an ACTIVE table: DynamoDB takes
                // a billing-mode or encryption change only while no other update runs.
                let changes: [(bool, &str); 3] = [
                    (*on_demand, "on-demand billing"),
                    (*sse, "KMS encryption"),
                    (*deletion_protection, "deletion protection"),
                ];
                for (index, (wanted, what)) in changes.into_iter().enumerate() {
                    if !wanted {
                        continue;
                    }
                    if !known_active {
                        // A table left CREATING or UPDATING takes no update yet.
                        wait_active(aws, name).await?;
                    }
                    let mut req = db.update_table().table_name(name);
                    req = match index {
                        0 => req.billing_mode(BillingMode::PayPerRequest),
                        1 => {
                            req.sse_specification(SseSpecification::builder().enabled(true).build())
                        }
                        _ => req.deletion_protection_enabled(true),
                    };
                    let out = req
                        .send()
                        .await
                        .map_err(|e| classify(&e, &format!("turning on {what}"), name))?;
                    known_active = out.table_description().and_then(|t| t.table_status())
                        == Some(&TableStatus::Active);
                    reporter.progress(format!("turned on {what} for lock table {name}"));
                }
            }
            Op::EnablePointInTimeRecovery => {
                // Point-in-time recovery can only be enabled on an ACTIVE table.
                if !known_active {
                    wait_active(aws, name).await?;
                    known_active = true;
                }
                db.update_continuous_backups()
                    .table_name(name)
                    .point_in_time_recovery_specification(built(
                        PointInTimeRecoverySpecification::builder()
                            .point_in_time_recovery_enabled(true)
                            .build(),
                    )?)
                    .send()
                    .await
                    .map_err(|e| classify(&e, "enabling point-in-time recovery", name))?;
                reporter.progress(format!("enabled point-in-time recovery on {name}"));
            }
            Op::TagTable { tags } => {
                let tags = tags
                    .iter()
                    .map(|(k, v)| built(Tag::builder().key(k).value(v).build()))
                    .collect::<Result<Vec<_>>>()?;
                db.tag_resource()
                    .resource_arn(&d.arn)
                    .set_tags(Some(tags))
                    .send()
                    .await
                    .map_err(|e| classify(&e, "tagging the adopted lock table", name))?;
                reporter.progress(format!("adopted lock table {name} (tagged)"));
            }
            _ => {}
        }
    }
    Ok(())
}
