//! DynamoDB writes for the lock table: create it, turn on each setting an existing one lacks
//! (one UpdateTable at a time, on an ACTIVE table), point-in-time recovery, tags.

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
use crate::progress::{Progress, Waiting};

fn built<T, E: std::fmt::Display>(r: std::result::Result<T, E>) -> Result<T> {
    r.map_err(|e| Error::failure(format!("building a DynamoDB request: {e}")))
}

/// Poll until the table is ACTIVE (a new table is CREATING for seconds, an updated one
/// UPDATING), with the one backoff.
pub(crate) async fn wait_active(aws: &Aws, name: &str, reporter: &dyn Progress) -> Result<()> {
    let waiting = Waiting::new(reporter, format!("lock table {name} to become ACTIVE"));
    let active = retry::until(Backoff::TABLE, || async {
        let out = aws
            .dynamodb
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(|e| classify(&e, "waiting for the table", name))?;
        let status = out.table().and_then(|t| t.table_status());
        if status == Some(&TableStatus::Active) {
            return Ok(Some(()));
        }
        waiting.still(status.map_or("no status yet", TableStatus::as_str));
        Ok(None)
    })
    .await?;
    active.ok_or_else(|| {
        Error::failure("the table did not become ACTIVE within 5 minutes")
            .resource(name.to_string())
            .hint("run `bootstrap init` again later; it continues from here")
    })
}

/// Apply the table's operations in order. An existing table found where one was to be
/// created is planned again from what is there.
pub(super) async fn apply_table(
    aws: &Aws,
    d: &DesiredTable,
    ops: &[Op],
    reporter: &dyn Progress,
) -> Result<()> {
    let mut table = Table {
        aws,
        d,
        reporter,
        known_active: false,
    };
    let mut ops: Vec<Op> = ops.to_vec();
    let mut i = 0;
    while i < ops.len() {
        let op = ops[i].clone();
        i += 1;
        match &op {
            Op::CreateTable => {
                if let Some(rest) = table.create().await? {
                    ops.truncate(i);
                    ops.extend(rest);
                }
            }
            Op::EnableTableSettings {
                on_demand,
                sse,
                deletion_protection,
            } => {
                table
                    .enable_settings([*on_demand, *sse, *deletion_protection])
                    .await?;
            }
            Op::EnablePointInTimeRecovery => table.enable_point_in_time_recovery().await?,
            Op::TagTable { tags } => table.tag(tags).await?,
            _ => {}
        }
    }
    Ok(())
}

fn tags(tags: &std::collections::BTreeMap<String, String>) -> Result<Vec<Tag>> {
    tags.iter()
        .map(|(k, v)| built(Tag::builder().key(k).value(v).build()))
        .collect()
}

fn is_active(status: Option<&TableStatus>) -> bool {
    status == Some(&TableStatus::Active)
}

/// The table being converged, and whether it is known to be ACTIVE (updates and backups
/// need that); unknown for a table this run did not create, so the first update waits (one
/// DescribeTable).
struct Table<'a> {
    aws: &'a Aws,
    d: &'a DesiredTable,
    reporter: &'a dyn Progress,
    known_active: bool,
}

impl Table<'_> {
    /// Create the table. `Some(ops)`: it exists already (an earlier attempt whose answer was
    /// lost, or someone else's), and these are what is left to do on it.
    async fn create(&mut self) -> Result<Option<Vec<Op>>> {
        let name = self.d.name.as_str();
        let result = self
            .aws
            .dynamodb
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
            .set_tags(Some(tags(&self.d.tags)?))
            .send()
            .await;
        match result {
            Ok(out) => {
                self.reporter
                    .progress(&format!("created lock table {name}"));
                self.known_active =
                    is_active(out.table_description().and_then(|t| t.table_status()));
                Ok(None)
            }
            Err(e) if errors::is(&e, &["ResourceInUseException"]) => {
                self.reporter
                    .progress(&format!("lock table {name} already exists; adopted"));
                wait_active(self.aws, name, self.reporter).await?;
                self.known_active = true;
                let observed = crate::observe::table(self.aws, name).await?;
                let rest = crate::plan::table_plan(self.d, observed.as_ref())?.ops;
                Ok(Some(
                    rest.into_iter()
                        .filter(|o| !matches!(o, Op::CreateTable))
                        .collect(),
                ))
            }
            Err(e) => Err(classify(&e, "creating the lock table", name)),
        }
    }

    /// On-demand billing, SSE and deletion protection, where `wanted`: one setting per
    /// UpdateTable call, each on an ACTIVE table (DynamoDB takes a billing-mode or encryption
    /// change only while no other update runs).
    async fn enable_settings(&mut self, wanted: [bool; 3]) -> Result<()> {
        let name = self.d.name.as_str();
        let what = ["on-demand billing", "KMS encryption", "deletion protection"];
        for (index, what) in what.into_iter().enumerate() {
            if !wanted[index] {
                continue;
            }
            if !self.known_active {
                // A table left CREATING or UPDATING takes no update yet.
                wait_active(self.aws, name, self.reporter).await?;
            }
            let update = || {
                let req = self.aws.dynamodb.update_table().table_name(name);
                let req = match index {
                    0 => req.billing_mode(BillingMode::PayPerRequest),
                    1 => req.sse_specification(SseSpecification::builder().enabled(true).build()),
                    _ => req.deletion_protection_enabled(true),
                };
                async move {
                    req.send()
                        .await
                        .map_err(|e| classify(&e, &format!("turning on {what}"), name))
                }
            };
            // Still CREATING or UPDATING for DynamoDB although just seen ACTIVE (or changed
            // by someone else meanwhile): ResourceInUseException, retried.
            let in_transition = Known {
                table_in_transition: true,
                ..Known::default()
            };
            let out = retry::with_backoff(Backoff::TABLE, update, |e| {
                errors::retryable(e, in_transition)
            })
            .await?;
            self.known_active = is_active(out.table_description().and_then(|t| t.table_status()));
            self.reporter
                .progress(&format!("turned on {what} for lock table {name}"));
        }
        Ok(())
    }

    async fn enable_point_in_time_recovery(&mut self) -> Result<()> {
        let name = self.d.name.as_str();
        // Point-in-time recovery can only be enabled on an ACTIVE table.
        if !self.known_active {
            wait_active(self.aws, name, self.reporter).await?;
            self.known_active = true;
        }
        // A new table answers ContinuousBackupsUnavailableException ("Backups are being
        // enabled") for a while after it turns ACTIVE: retried.
        let pitr = built(
            PointInTimeRecoverySpecification::builder()
                .point_in_time_recovery_enabled(true)
                .build(),
        )?;
        let waiting = Waiting::new(
            self.reporter,
            format!("point-in-time recovery to become available on {name}"),
        );
        retry::with_backoff(
            Backoff::TABLE,
            || async {
                self.aws
                    .dynamodb
                    .update_continuous_backups()
                    .table_name(name)
                    .point_in_time_recovery_specification(pitr.clone())
                    .send()
                    .await
                    .map_err(|e| classify(&e, "enabling point-in-time recovery", name))
            },
            |e| {
                let again = errors::retryable(e, Known::default());
                if again {
                    waiting.still(e.code.as_deref().unwrap_or("not yet"));
                }
                again
            },
        )
        .await?;
        self.reporter
            .progress(&format!("enabled point-in-time recovery on {name}"));
        Ok(())
    }

    /// Adopting a table the tool did not create: add its tags.
    async fn tag(&self, add: &std::collections::BTreeMap<String, String>) -> Result<()> {
        let name = self.d.name.as_str();
        self.aws
            .dynamodb
            .tag_resource()
            .resource_arn(&self.d.arn)
            .set_tags(Some(tags(add)?))
            .send()
            .await
            .map_err(|e| classify(&e, "tagging the adopted lock table", name))?;
        self.reporter
            .progress(&format!("adopted lock table {name} (tagged)"));
        Ok(())
    }
}
