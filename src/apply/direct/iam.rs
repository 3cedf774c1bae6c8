//! IAM writes: the OIDC provider (create, audiences, thumbprints, adoption tags) and the role
//! (create, trust, policies, limits, adoption tags), retried while IAM, eventually
//! consistent, does not know a fresh entity yet.

use std::collections::BTreeMap;

use aws_sdk_iam::types::Tag;
use futures::future::try_join_all;

use super::with_consistency_retry;
use crate::aws::errors::Known;
use crate::aws::retry::{self, Backoff};
use crate::aws::{classify, errors, Aws};
use crate::error::{Error, Result};
use crate::model::{DesiredProvider, DesiredRole};
use crate::plan::Op;
use crate::progress::Progress;

fn iam_tags(tags: &BTreeMap<String, String>) -> Result<Vec<Tag>> {
    tags.iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| Error::failure(format!("tag {k}: {e}")))
        })
        .collect()
}

/// Apply the provider's operations.
pub(super) async fn apply_provider(
    aws: &Aws,
    d: &DesiredProvider,
    ops: &[Op],
    reporter: &dyn Progress,
) -> Result<()> {
    for op in ops {
        match op {
            Op::CreateProvider => {
                let result = aws
                    .iam
                    .create_open_id_connect_provider()
                    .url(&d.url)
                    .set_client_id_list(Some(d.client_ids.clone()))
                    .set_thumbprint_list(Some(d.thumbprints.clone()))
                    .set_tags(Some(iam_tags(&d.tags)?))
                    .send()
                    .await;
                match result {
                    Ok(_) => {
                        reporter.progress(&format!("created oidc provider {}", d.arn));
                    }
                    Err(e) if errors::is(&e, &["EntityAlreadyExists"]) => {
                        // An earlier attempt whose answer was lost, or someone else's:
                        // bring its audiences and thumbprints to the desired state.
                        reporter
                            .progress(&format!("oidc provider {} already exists; adopted", d.arn));
                        // It exists: IAM's reads may not show it for a moment yet.
                        let observed =
                            retry::until(Backoff::BRIEF, || crate::observe::provider(aws, &d.arn))
                                .await?;
                        let more = crate::plan::iam::provider(d, observed.as_ref()).ops;
                        if !more.iter().any(|o| matches!(o, Op::CreateProvider)) {
                            Box::pin(apply_provider(aws, d, &more, reporter)).await?;
                        }
                    }
                    Err(e) => return Err(classify(&e, "creating the OIDC provider", &d.arn)),
                }
            }
            Op::AddClientId { client_id } => {
                aws.iam
                    .add_client_id_to_open_id_connect_provider()
                    .open_id_connect_provider_arn(&d.arn)
                    .client_id(client_id)
                    .send()
                    .await
                    .map_err(|e| classify(&e, &format!("adding audience {client_id}"), &d.arn))?;
                reporter.progress(&format!("added audience {client_id} to {}", d.arn));
            }
            Op::UpdateThumbprints { thumbprints } => {
                aws.iam
                    .update_open_id_connect_provider_thumbprint()
                    .open_id_connect_provider_arn(&d.arn)
                    .set_thumbprint_list(Some(thumbprints.clone()))
                    .send()
                    .await
                    .map_err(|e| classify(&e, "updating the thumbprints", &d.arn))?;
                reporter.progress(&format!(
                    "registered thumbprints {} on {}",
                    thumbprints.join(", "),
                    d.arn
                ));
            }
            Op::TagProvider { tags } => {
                aws.iam
                    .tag_open_id_connect_provider()
                    .open_id_connect_provider_arn(&d.arn)
                    .set_tags(Some(iam_tags(tags)?))
                    .send()
                    .await
                    .map_err(|e| classify(&e, "tagging the adopted OIDC provider", &d.arn))?;
                reporter.progress(&format!("adopted oidc provider {} (tagged)", d.arn));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Apply the role's operations: create it first when it is new, then every other operation
/// concurrently, each retried while IAM does not know the role (or the provider its trust
/// names) yet.
pub(super) async fn apply_role(
    aws: &Aws,
    d: &DesiredRole,
    ops: &[Op],
    provider_is_new: bool,
    writers: &tokio::sync::Semaphore,
    reporter: &dyn Progress,
) -> Result<()> {
    let trust = d.trust_policy.to_string();
    let (ops, role_is_new) = if ops.iter().any(|o| matches!(o, Op::CreateRole)) {
        // The role must exist before anything is attached to it. The permit is given back
        // between the two steps: the roles waiting for their first write (the semaphore is
        // fair) go before this role's second, so every role is created early and the last
        // writes of the run are to roles IAM already shows.
        let _permit = writers.acquire().await.ok();
        create_role(aws, d, ops, &trust, provider_is_new, reporter).await?
    } else {
        (ops.to_vec(), false)
    };
    // The semaphore is never closed.
    let _permit = writers.acquire().await.ok();
    let known = Known {
        fresh_entity: role_is_new.then_some("role"),
        fresh_principal: provider_is_new,
        ..Known::default()
    };
    let retryable = |e: &Error| errors::retryable(e, known);
    let calls = ops
        .iter()
        .filter(|o| !matches!(o, Op::CreateRole))
        .map(|op| {
            let trust = &trust;
            async move {
                with_consistency_retry(|| apply_role_op(aws, d, op, trust, reporter), retryable)
                    .await
            }
        });
    try_join_all(calls).await?;
    Ok(())
}

/// Create the role (retried while IAM does not know the new provider its trust names), and
/// return the operations left and whether the role is new. A role that exists already is
/// planned again from what is there.
async fn create_role(
    aws: &Aws,
    d: &DesiredRole,
    ops: &[Op],
    trust: &str,
    provider_is_new: bool,
    reporter: &dyn Progress,
) -> Result<(Vec<Op>, bool)> {
    let tags = iam_tags(&d.tags)?;
    let created = with_consistency_retry(
        || async {
            match aws
                .iam
                .create_role()
                .role_name(&d.name)
                .assume_role_policy_document(trust)
                .description(&d.description)
                .max_session_duration(d.max_session_duration)
                .set_permissions_boundary(d.permissions_boundary.clone())
                .set_tags(Some(tags.clone()))
                .send()
                .await
            {
                Ok(_) => Ok(true),
                Err(e) if errors::is(&e, &["EntityAlreadyExists"]) => Ok(false),
                Err(e) => Err(classify(&e, "creating the role", &d.name)),
            }
        },
        |e| {
            let known = Known {
                fresh_principal: provider_is_new,
                ..Known::default()
            };
            errors::retryable(e, known)
        },
    )
    .await?;
    if created {
        reporter.progress(&format!("created role {}", d.name));
        return Ok((ops.to_vec(), true));
    }
    // Our own earlier attempt whose answer was lost (the SDK retried it), or a role made by
    // someone else in between: either way, converge what is there.
    reporter.progress(&format!(
        "role {} already exists; bringing it to the desired state",
        d.name
    ));
    // It exists: IAM's reads may not show it for a moment yet.
    let observed = retry::until(Backoff::BRIEF, || {
        crate::observe::role(aws, &d.name, &d.inline_policy_name)
    })
    .await?;
    Ok(if let Some(o) = observed {
        (crate::plan::iam::role(d, Some(&o))?.ops, false)
    } else {
        // Still not visible (eventual consistency): write everything that matters.
        let mut all = vec![Op::UpdateTrustPolicy, Op::UpdateMaxSessionDuration];
        all.extend(ops.iter().filter(|o| !matches!(o, Op::CreateRole)).cloned());
        (all, true)
    })
}

/// One of the role's operations (the role exists), then its progress line.
async fn apply_role_op(
    aws: &Aws,
    d: &DesiredRole,
    op: &Op,
    trust: &str,
    reporter: &dyn Progress,
) -> Result<()> {
    let done = match op {
        Op::UpdateTrustPolicy | Op::PutInlinePolicy | Op::DeleteInlinePolicy { .. } => {
            write_document(aws, d, op, trust).await?
        }
        Op::AttachPolicy { .. } | Op::DetachPolicy { .. } => attachment(aws, d, op).await?,
        _ => role_setting(aws, d, op).await?,
    };
    if let Some(line) = done {
        reporter.progress(&line);
    }
    Ok(())
}

/// The trust policy, the tool's inline policy, or the deletion of another inline policy.
async fn write_document(
    aws: &Aws,
    d: &DesiredRole,
    op: &Op,
    trust: &str,
) -> Result<Option<String>> {
    let line = match op {
        Op::UpdateTrustPolicy => {
            aws.iam
                .update_assume_role_policy()
                .role_name(&d.name)
                .policy_document(trust)
                .send()
                .await
                .map_err(|e| classify(&e, "updating the trust policy", &d.name))?;
            format!("updated the trust policy of role {}", d.name)
        }
        Op::PutInlinePolicy => {
            aws.iam
                .put_role_policy()
                .role_name(&d.name)
                .policy_name(&d.inline_policy_name)
                .policy_document(d.inline_policy.to_string())
                .send()
                .await
                .map_err(|e| classify(&e, "writing the state-access policy", &d.name))?;
            format!(
                "wrote inline policy {} on role {}",
                d.inline_policy_name, d.name
            )
        }
        Op::DeleteInlinePolicy { name } => {
            let deleted = aws
                .iam
                .delete_role_policy()
                .role_name(&d.name)
                .policy_name(name)
                .send()
                .await;
            match deleted {
                Err(e) if !errors::is(&e, &["NoSuchEntity"]) => {
                    let action = format!("deleting the inline policy {name}");
                    return Err(classify(&e, &action, &d.name));
                }
                _ => format!(
                    "deleted inline policy {name} from role {} (not written by bootstrap)",
                    d.name
                ),
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(line))
}

/// Attach a `--policy-arn`, or detach a managed policy that is not one.
async fn attachment(aws: &Aws, d: &DesiredRole, op: &Op) -> Result<Option<String>> {
    let line = match op {
        Op::AttachPolicy { arn } => {
            aws.iam
                .attach_role_policy()
                .role_name(&d.name)
                .policy_arn(arn)
                .send()
                .await
                .map_err(|e| {
                    classify(&e, &format!("attaching {arn}"), &d.name).hint(
                        "check the --policy-arn value: the policy must exist in this account or be an AWS managed policy",
                    )
                })?;
            format!("attached {arn} to role {}", d.name)
        }
        Op::DetachPolicy { arn } => {
            aws.iam
                .detach_role_policy()
                .role_name(&d.name)
                .policy_arn(arn)
                .send()
                .await
                .map_err(|e| classify(&e, &format!("detaching {arn}"), &d.name))?;
            format!("detached {arn} from role {} (not in --policy-arn)", d.name)
        }
        _ => return Ok(None),
    };
    Ok(Some(line))
}

/// The role's tags (adoption), maximum session duration and permissions boundary.
async fn role_setting(aws: &Aws, d: &DesiredRole, op: &Op) -> Result<Option<String>> {
    let line = match op {
        Op::TagRole { tags } => {
            aws.iam
                .tag_role()
                .role_name(&d.name)
                .set_tags(Some(iam_tags(tags)?))
                .send()
                .await
                .map_err(|e| classify(&e, "tagging the role", &d.name))?;
            let keys: Vec<&str> = tags.keys().map(String::as_str).collect();
            format!("tagged role {} ({})", d.name, keys.join(", "))
        }
        Op::UntagRole { keys } => {
            aws.iam
                .untag_role()
                .role_name(&d.name)
                .set_tag_keys(Some(keys.clone()))
                .send()
                .await
                .map_err(|e| classify(&e, "untagging the role", &d.name))?;
            format!("untagged role {} ({})", d.name, keys.join(", "))
        }
        Op::UpdateMaxSessionDuration => {
            aws.iam
                .update_role()
                .role_name(&d.name)
                .max_session_duration(d.max_session_duration)
                .send()
                .await
                .map_err(|e| classify(&e, "updating the max session duration", &d.name))?;
            format!(
                "set max session duration of role {} to {}s",
                d.name, d.max_session_duration
            )
        }
        Op::PutPermissionsBoundary => {
            let boundary = d.permissions_boundary.clone().unwrap_or_default();
            aws.iam
                .put_role_permissions_boundary()
                .role_name(&d.name)
                .permissions_boundary(&boundary)
                .send()
                .await
                .map_err(|e| classify(&e, "setting the permissions boundary", &d.name))?;
            format!("set permissions boundary {boundary} on role {}", d.name)
        }
        Op::DeletePermissionsBoundary => {
            aws.iam
                .delete_role_permissions_boundary()
                .role_name(&d.name)
                .send()
                .await
                .map_err(|e| classify(&e, "removing the permissions boundary", &d.name))?;
            format!("removed the permissions boundary of role {}", d.name)
        }
        _ => return Ok(None),
    };
    Ok(Some(line))
}

#[cfg(test)]
#[path = "iam_tests.rs"]
mod tests;
