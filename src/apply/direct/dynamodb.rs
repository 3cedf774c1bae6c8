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
                        let observed = crate::observe::table(aws, name).await?;
                        let rest = crate::plan::table_plan(d, observed.as_ref())?.ops;
                        ops.truncate(i);
                        ops.extend(rest.into_iter().filter(|o| !matches!(o, Op::CreateTable)));
                        continue;
                    }
                    Err(e) => return Err(classify(&e, "creating the lock table", name)),
                };
                // Point-in-time recovery can only be enabled on an ACTIVE table.
                if !active {
                    wait_active(aws, name).await?;
                }
            }
            Op::EnableTableSettings {
                on_demand,
                sse,
                deletion_protection,
            } => {
                // A table left CREATING by an interrupted run takes no update yet.
                wait_active(aws, name).await?;
                let mut req = db.update_table().table_name(name);
                if *on_demand {
                    req = req.billing_mode(BillingMode::PayPerRequest);
                }
                if *sse {
                    req = req.sse_specification(SseSpecification::builder().enabled(true).build());
                }
                if *deletion_protection {
                    req = req.deletion_protection_enabled(true);
                }
                req.send()
                    .await
                    .map_err(|e| classify(&e, "updating the lock table", name))?;
                reporter.progress(format!("updated lock table {name}"));
                wait_active(aws, name).await?;
            }
            Op::EnablePointInTimeRecovery => {
                wait_active(aws, name).await?;
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
            _ => {}
        }
    }
    Ok(())
}
