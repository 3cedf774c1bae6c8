//! Creating or updating a StackSet and its instances, waiting for each operation.

use aws_sdk_cloudformation::types::{
    AutoDeployment, Capability, ConcurrencyMode, DeploymentTargets, PermissionModels,
    RegionConcurrencyType, StackSetOperationPreferences, StackSetOperationStatus,
};
use aws_sdk_cloudformation::Client;

use super::{instances, AccountResult, StackSetOutcome, StackSetPlan, StackSetSpec, Target};
use crate::apply::cloudformation::deploy::Prompt;
use crate::apply::cloudformation::events::WaitConfig;
use crate::aws::classify;
use crate::config::StackSetTargets;
use crate::error::{Error, Result};
use crate::report::Reporter;

fn preferences() -> StackSetOperationPreferences {
    // Many accounts at once, and a few failing accounts do not stop the others: each
    // account's result is reported.
    StackSetOperationPreferences::builder()
        .region_concurrency_type(RegionConcurrencyType::Parallel)
        .concurrency_mode(ConcurrencyMode::SoftFailureTolerance)
        .max_concurrent_percentage(25)
        .failure_tolerance_percentage(10)
        .build()
}

/// Wait for a StackSet operation and collect its per-account results.
async fn wait_operation(
    cfn: &Client,
    name: &str,
    op: &str,
    wait: WaitConfig,
    reporter: &Reporter,
) -> Result<(String, Vec<AccountResult>)> {
    let start = std::time::Instant::now();
    let mut delay = wait.first_delay;
    let mut last = String::new();
    let status = loop {
        let out = cfn
            .describe_stack_set_operation()
            .stack_set_name(name)
            .operation_id(op)
            .send()
            .await
            .map_err(|e| classify(&e, "reading the StackSet operation", name))?;
        let status = out
            .stack_set_operation()
            .and_then(|o| o.status())
            .cloned()
            .unwrap_or(StackSetOperationStatus::Queued);
        if status.as_str() != last {
            reporter.progress(format!("  StackSet operation {op}: {}", status.as_str()));
            last = status.as_str().to_string();
        }
        match status {
            StackSetOperationStatus::Succeeded
            | StackSetOperationStatus::Failed
            | StackSetOperationStatus::Stopped => break status,
            _ if start.elapsed() >= wait.timeout => {
                return Err(Error::failure(format!(
                    "StackSet operation {op} still {} after {} minutes; CloudFormation carries on",
                    status.as_str(),
                    wait.timeout.as_secs() / 60
                ))
                .resource(name.to_string())
                .hint("follow it with `bootstrap status --stackset NAME ...` or in the console"))
            }
            _ => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(wait.max_delay);
            }
        }
    };
    let mut results = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = cfn
            .list_stack_set_operation_results()
            .stack_set_name(name)
            .operation_id(op)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| classify(&e, "reading the StackSet operation results", name))?;
        for r in page.summaries() {
            let result = AccountResult {
                operation: op.to_string(),
                account: r.account().unwrap_or_default().to_string(),
                region: r.region().unwrap_or_default().to_string(),
                status: r
                    .status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                reason: r
                    .status_reason()
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            };
            reporter.progress(format!(
                "    {} {} {}{}",
                result.account,
                result.region,
                result.status,
                result
                    .reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            ));
            results.push(result);
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    Ok((status.as_str().to_string(), results))
}

fn operation_failed(name: &str, op: &str, status: &str, results: &[AccountResult]) -> Error {
    let failed: Vec<String> = results
        .iter()
        .filter(|r| r.status != "SUCCEEDED")
        .map(|r| {
            format!(
                "{} {}: {}",
                r.account,
                r.region,
                r.reason.as_deref().unwrap_or(&r.status)
            )
        })
        .collect();
    let shown: Vec<&String> = failed.iter().take(3).collect();
    Error::failure(format!(
        "StackSet operation {op} {status}: {} of {} accounts failed{}{}",
        failed.len(),
        results.len(),
        if shown.is_empty() { "" } else { "; " },
        shown.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("; ")
    ))
    .resource(name.to_string())
    .code(status.to_string())
    .hint("fix the failing accounts (self-managed StackSets need AWSCloudFormationStackSetExecutionRole in each target), then run init again: it deploys to them again")
}

/// Converge the StackSet as `plan` says, after confirmation.
pub async fn apply(
    cfn: &Client,
    spec: &StackSetSpec,
    plan: &StackSetPlan,
    prompt: &Prompt<'_>,
    reporter: &Reporter,
    wait: WaitConfig,
) -> Result<StackSetOutcome> {
    (prompt.confirm)(&format!("Apply these changes to StackSet {}?", spec.name))?;
    let mut done = Vec::new();
    let mut results = Vec::new();
    let name = spec.name.as_str();
    let model = spec.permission_model();
    let mut check = |op: String, (status, r): (String, Vec<AccountResult>)| {
        let failed = status != "SUCCEEDED";
        let err = failed.then(|| operation_failed(name, &op, &status, &r));
        results.extend(r);
        match err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    };

    if !plan.exists {
        let mut req = cfn
            .create_stack_set()
            .stack_set_name(name)
            .description("Bitbucket Pipelines OpenID Connect (bootstrap)")
            .template_body(&spec.body)
            .capabilities(Capability::CapabilityNamedIam)
            .permission_model(model.clone());
        if model == PermissionModels::ServiceManaged {
            req = req.auto_deployment(
                AutoDeployment::builder()
                    .enabled(true)
                    .retain_stacks_on_account_removal(true)
                    .build(),
            );
        }
        req.send()
            .await
            .map_err(|e| classify(&e, "creating the StackSet", name))?;
        reporter.progress(format!("created StackSet {name}"));
        done.push(format!("created StackSet {name}"));
    } else if plan.update_template {
        let out = cfn
            .update_stack_set()
            .stack_set_name(name)
            .template_body(&spec.body)
            .capabilities(Capability::CapabilityNamedIam)
            .operation_preferences(preferences())
            .send()
            .await
            .map_err(|e| classify(&e, "updating the StackSet", name))?;
        let op = out.operation_id().unwrap_or_default().to_string();
        reporter.progress(format!("updating every instance of StackSet {name}"));
        check(
            op.clone(),
            wait_operation(cfn, name, &op, wait, reporter).await?,
        )?;
        done.push("updated the template of every instance".to_string());
    }

    let by_region = |targets: &[Target]| {
        let mut regions: Vec<String> = targets.iter().map(|t| t.region.clone()).collect();
        regions.sort();
        regions.dedup();
        let mut ids: Vec<String> = targets.iter().map(|t| t.target.clone()).collect();
        ids.sort();
        ids.dedup();
        (ids, regions)
    };
    if !plan.add.is_empty() {
        let (ids, regions) = by_region(&plan.add);
        let mut req = cfn
            .create_stack_instances()
            .stack_set_name(name)
            .set_regions(Some(regions))
            .operation_preferences(preferences());
        req = match spec.targets {
            StackSetTargets::Accounts(_) => req.set_accounts(Some(ids.clone())),
            StackSetTargets::OrgUnits(_) => req.deployment_targets(
                DeploymentTargets::builder()
                    .set_organizational_unit_ids(Some(ids.clone()))
                    .build(),
            ),
        };
        let out = req
            .send()
            .await
            .map_err(|e| classify(&e, "adding the StackSet's instances", name))?;
        let op = out.operation_id().unwrap_or_default().to_string();
        reporter.progress(format!("deploying StackSet {name} to {}", ids.join(", ")));
        check(
            op.clone(),
            wait_operation(cfn, name, &op, wait, reporter).await?,
        )?;
        done.push(format!("deployed to {}", ids.join(", ")));
    }
    if !plan.retry.is_empty() {
        let targets: Vec<Target> = plan
            .retry
            .iter()
            .map(|i| Target {
                target: match spec.targets {
                    StackSetTargets::Accounts(_) => i.account.clone(),
                    StackSetTargets::OrgUnits(_) => i.org_unit.clone().unwrap_or_default(),
                },
                region: i.region.clone(),
            })
            .collect();
        let (ids, regions) = by_region(&targets);
        let mut req = cfn
            .update_stack_instances()
            .stack_set_name(name)
            .set_regions(Some(regions))
            .operation_preferences(preferences());
        req = match spec.targets {
            StackSetTargets::Accounts(_) => req.set_accounts(Some(ids.clone())),
            StackSetTargets::OrgUnits(_) => req.deployment_targets(
                DeploymentTargets::builder()
                    .set_organizational_unit_ids(Some(ids.clone()))
                    .build(),
            ),
        };
        let out = req
            .send()
            .await
            .map_err(|e| classify(&e, "deploying the outdated instances again", name))?;
        let op = out.operation_id().unwrap_or_default().to_string();
        check(
            op.clone(),
            wait_operation(cfn, name, &op, wait, reporter).await?,
        )?;
        done.push(format!("deployed again to {}", ids.join(", ")));
    }
    Ok(StackSetOutcome {
        done,
        results,
        instances: instances(cfn, name).await?,
    })
}
