use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, PointInTimeRecoverySpecification,
    ScalarAttributeType, SseSpecification, TableStatus, Tag,
};

use crate::aws::errors::Known;
use crate::aws::retry::{self, Backoff};
use crate::aws::{classify, errors, Aws};
use crate::error::{Error, Result};
use crate::model::DesiredTable;
use crate::plan::Op;
use crate::report::Reporter;

fn built<T, E: std::fmt::Display>(r: std::result::Result<T, E>) -> Result<T> {
    r.map_err(|e| Error::failure(format!("building a DynamoDB request: {e}")))
}

/// Poll until the table is ACTIVE (a new table is CREATING for seconds, an updated one
/// UPDATING), with the one backoff.
pub(crate) async fn wait_active(aws: &Aws, name: &str) -> Result<()> {
    let active = retry::until(Backoff::TABLE, || async {
        let out = aws
            .dynamodb
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(|e| classify(&e, "waiting for the table", name))?;
        Ok(
            (out.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active))
                .then_some(()),
        )
    })
    .await?;
    active.ok_or_else(|| {
        Error::failure("the table did not become ACTIVE within 5 minutes")
            .resource(name.to_string())
            .hint("run `bootstrap init` again later; it continues from here")
    })
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
                    let update = || {
                        let req = db.update_table().table_name(name);
                        let req = match index {
                            0 => req.billing_mode(BillingMode::PayPerRequest),
                            1 => req.sse_specification(
                                SseSpecification::builder().enabled(true).build(),
                            ),
                            _ => req.deletion_protection_enabled(true),
                        };
                        async move {
                            req.send()
                                .await
                                .map_err(|e| classify(&e, &format!("turning on {what}"), name))
                        }
                    };
                    // Still CREATING or UPDATING for DynamoDB although just seen ACTIVE (or
                    // changed by someone else meanwhile): ResourceInUseException, retried.
                    let in_transition = Known {
                        table_in_transition: true,
                        ..Known::default()
                    };
                    let out = retry::with_backoff(Backoff::TABLE, update, |e| {
                        errors::retryable(e, in_transition)
                    })
                    .await?;
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
                // A new table answers ContinuousBackupsUnavailableException ("Backups are
                // being enabled") for a while after it turns ACTIVE: retried.
                let pitr = built(
                    PointInTimeRecoverySpecification::builder()
                        .point_in_time_recovery_enabled(true)
                        .build(),
                )?;
                retry::with_backoff(
                    Backoff::TABLE,
                    || async {
                        db.update_continuous_backups()
                            .table_name(name)
                            .point_in_time_recovery_specification(pitr.clone())
                            .send()
                            .await
                            .map_err(|e| classify(&e, "enabling point-in-time recovery", name))
                    },
                    |e| errors::retryable(e, Known::default()),
                )
                .await?;
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
