use std::collections::BTreeMap;

use aws_sdk_iam::types::Tag;
use futures::future::try_join_all;

use super::with_consistency_retry;
use crate::aws::{classify, errors, Aws};
use crate::error::{Error, Result};
use crate::model::{DesiredProvider, DesiredRole};
use crate::plan::Op;
use crate::report::Reporter;

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

/// Apply the provider's operations; returns whether it was created now.
pub async fn apply_provider(
    aws: &Aws,
    d: &DesiredProvider,
    ops: &[Op],
    reporter: &Reporter,
) -> Result<bool> {
    let mut created = false;
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
                        created = true;
                        reporter.progress(format!("created oidc provider {}", d.arn));
                    }
                    Err(e) if errors::is(&e, &["EntityAlreadyExists"]) => {
                        // An earlier attempt whose answer was lost, or someone else's:
                        // bring its audiences and thumbprints to the desired state.
                        reporter
                            .progress(format!("oidc provider {} already exists; adopted", d.arn));
                        // It may be moments old: the role's trust may not see it yet.
                        created = true;
                        let observed = crate::observe::provider(aws, &d.arn).await?;
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
                reporter.progress(format!("added audience {client_id} to {}", d.arn));
            }
            Op::UpdateThumbprints { thumbprints } => {
                aws.iam
                    .update_open_id_connect_provider_thumbprint()
                    .open_id_connect_provider_arn(&d.arn)
                    .set_thumbprint_list(Some(thumbprints.clone()))
                    .send()
                    .await
                    .map_err(|e| classify(&e, "updating the thumbprints", &d.arn))?;
                reporter.progress(format!(
                    "registered thumbprints {} on {}",
                    thumbprints.join(", "),
                    d.arn
                ));
            }
            _ => {}
        }
    }
    Ok(created)
}

/// IAM may not yet know a provider created a moment ago; such a trust policy is refused as
/// malformed for a few seconds.
fn is_fresh_principal_error(e: &Error) -> bool {
    e.code.as_deref() == Some("MalformedPolicyDocument")
        && e.message.to_ascii_lowercase().contains("principal")
}

/// A role created a moment ago may be unknown to IAM's other endpoints for a few seconds.
fn is_fresh_role_error(e: &Error) -> bool {
    e.code.as_deref() == Some("NoSuchEntity") && e.message.to_ascii_lowercase().contains("role")
}

pub async fn apply_role(
    aws: &Aws,
    d: &DesiredRole,
    ops: &[Op],
    provider_is_new: bool,
    reporter: &Reporter,
) -> Result<()> {
    let trust = d.trust_policy.to_string();
    let mut ops: Vec<Op> = ops.to_vec();
    let mut role_is_new = false;
    // The role must exist before anything is attached to it.
    if ops.iter().any(|o| matches!(o, Op::CreateRole)) {
        let tags = iam_tags(&d.tags)?;
        let created = with_consistency_retry(
            || async {
                match aws
                    .iam
                    .create_role()
                    .role_name(&d.name)
                    .assume_role_policy_document(&trust)
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
            |e| provider_is_new && is_fresh_principal_error(e),
        )
        .await?;
        if created {
            role_is_new = true;
            reporter.progress(format!("created role {}", d.name));
        } else {
            // Our own earlier attempt whose answer was lost (the SDK retried it), or a
            // role made by someone else in between: either way, converge what is there.
            reporter.progress(format!(
                "role {} already exists; bringing it to the desired state",
                d.name
            ));
            let observed = crate::observe::role(aws, &d.name, &d.inline_policy_name).await?;
            ops = match observed {
                Some(o) => crate::plan::iam::role(d, Some(&o)).ops,
                // Not visible yet (eventual consistency): write everything that matters.
                None => {
                    role_is_new = true;
                    let mut all = vec![Op::UpdateTrustPolicy, Op::UpdateMaxSessionDuration];
                    all.extend(ops.iter().filter(|o| !matches!(o, Op::CreateRole)).cloned());
                    all
                }
            };
        }
    }
    let retryable = |e: &Error| {
        (provider_is_new && is_fresh_principal_error(e)) || (role_is_new && is_fresh_role_error(e))
    };
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

async fn apply_role_op(
    aws: &Aws,
    d: &DesiredRole,
    op: &Op,
    trust: &str,
    reporter: &Reporter,
) -> Result<()> {
    match op {
        Op::UpdateTrustPolicy => {
            aws.iam
                .update_assume_role_policy()
                .role_name(&d.name)
                .policy_document(trust)
                .send()
                .await
                .map_err(|e| classify(&e, "updating the trust policy", &d.name))?;
            reporter.progress(format!("updated the trust policy of role {}", d.name));
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
            reporter.progress(format!(
                "wrote inline policy {} on role {}",
                d.inline_policy_name, d.name
            ));
        }
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
            reporter.progress(format!("attached {arn} to role {}", d.name));
        }
        Op::DetachPolicy { arn } => {
            aws.iam
                .detach_role_policy()
                .role_name(&d.name)
                .policy_arn(arn)
                .send()
                .await
                .map_err(|e| classify(&e, &format!("detaching {arn}"), &d.name))?;
            reporter.progress(format!(
                "detached {arn} from role {} (not in --policy-arn)",
                d.name
            ));
        }
        Op::UpdateMaxSessionDuration => {
            aws.iam
                .update_role()
                .role_name(&d.name)
                .max_session_duration(d.max_session_duration)
                .send()
                .await
                .map_err(|e| classify(&e, "updating the max session duration", &d.name))?;
            reporter.progress(format!(
                "set max session duration of role {} to {}s",
                d.name, d.max_session_duration
            ));
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
            reporter.progress(format!(
                "set permissions boundary {boundary} on role {}",
                d.name
            ));
        }
        Op::DeletePermissionsBoundary => {
            aws.iam
                .delete_role_permissions_boundary()
                .role_name(&d.name)
                .send()
                .await
                .map_err(|e| classify(&e, "removing the permissions boundary", &d.name))?;
            reporter.progress(format!(
                "removed the permissions boundary of role {}",
                d.name
            ));
        }
        _ => {}
    }
    Ok(())
}
