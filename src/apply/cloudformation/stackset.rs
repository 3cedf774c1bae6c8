//! A StackSet: the same template in many accounts. CloudFormation does the fan-out; this
//! creates or updates the StackSet, adds the instances that are missing, waits for each
//! operation and collects the result in each account.

use aws_sdk_cloudformation::types::{
    AutoDeployment, Capability, ConcurrencyMode, DeploymentTargets, PermissionModels,
    RegionConcurrencyType, StackSetOperationPreferences,
};
use aws_sdk_cloudformation::Client;
use serde::Serialize;

use super::events::WaitConfig;
use crate::aws::classify;
use crate::config::StackSetTargets;
use crate::error::{Error, Result};
use crate::observe::{self, stackset::AccountResult};
use crate::plan::stackset::{StackSetPlan, StackSetSpec, Target};
use crate::progress::Progress;

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
    reporter: &dyn Progress,
) -> Result<(String, Vec<AccountResult>)> {
    let start = std::time::Instant::now();
    let mut delay = wait.first_delay;
    let mut last = String::new();
    let status = loop {
        let status = observe::stackset::operation_status(cfn, name, op).await?;
        if status != last {
            reporter.progress(&format!("  StackSet operation {op}: {status}"));
            last = status.clone();
        }
        match status.as_str() {
            "SUCCEEDED" | "FAILED" | "STOPPED" => break status,
            _ if start.elapsed() >= wait.timeout => {
                return Err(Error::failure(format!(
                    "StackSet operation {op} still {status} after {} minutes; CloudFormation carries on",
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
    let results = observe::stackset::operation_results(cfn, name, op).await?;
    for r in &results {
        reporter.progress(&format!(
            "    {} {} {}{}",
            r.account,
            r.region,
            r.status,
            r.reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ));
    }
    Ok((status, results))
}

/// Operation `op` ended `status`, with `results` per account: an error naming every account
/// where it did not succeed, even when the operation as a whole SUCCEEDED within the failure
/// tolerance.
fn operation_failed(name: &str, op: &str, status: &str, results: &[AccountResult]) -> Error {
    let failed: Vec<&AccountResult> = results.iter().filter(|r| r.status != "SUCCEEDED").collect();
    let mut accounts: Vec<&str> = failed.iter().map(|r| r.account.as_str()).collect();
    accounts.dedup();
    let reasons: Vec<String> = failed
        .iter()
        .take(3)
        .map(|r| {
            format!(
                "{} {}: {}",
                r.account,
                r.region,
                r.reason.as_deref().unwrap_or(&r.status)
            )
        })
        .collect();
    let within = if status == "SUCCEEDED" {
        " (within the failure tolerance)"
    } else {
        ""
    };
    Error::failure(format!(
        "StackSet operation {op} {status}{within}, but {} of {} accounts failed: {}{}{}",
        failed.len(),
        results.len(),
        accounts.join(", "),
        if reasons.is_empty() { "" } else { "; " },
        reasons.join("; ")
    ))
    .resource(name.to_string())
    .code(if status == "SUCCEEDED" { "FAILED" } else { status }.to_string())
    .hint("fix the failing accounts (self-managed StackSets need AWSCloudFormationStackSetExecutionRole in each target), then run init again: it deploys to them again")
}

/// What `init` did to the StackSet, and its instances afterwards.
#[derive(Debug, Clone, Serialize)]
pub struct StackSetOutcome {
    #[serde(flatten)]
    pub applied: Applied,
    pub instances: Vec<observe::stackset::Instance>,
}

/// What `apply` did, in order, and each operation's per-account results.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Applied {
    pub done: Vec<String>,
    pub results: Vec<AccountResult>,
}

impl Applied {
    /// Wait for operation `op`, keep its results; an error unless it succeeded.
    async fn finish(
        &mut self,
        cfn: &Client,
        name: &str,
        op: &str,
        wait: WaitConfig,
        reporter: &dyn Progress,
    ) -> Result<()> {
        let (status, results) = wait_operation(cfn, name, op, wait, reporter).await?;
        let failed = status != "SUCCEEDED" || results.iter().any(|r| r.status != "SUCCEEDED");
        let err = failed.then(|| operation_failed(name, op, &status, &results));
        self.results.extend(results);
        err.map_or(Ok(()), Err)
    }
}

async fn create_stack_set(cfn: &Client, spec: &StackSetSpec) -> Result<()> {
    let model = spec.permission_model();
    let mut req = cfn
        .create_stack_set()
        .stack_set_name(&spec.name)
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
        .map_err(|e| classify(&e, "creating the StackSet", &spec.name))?;
    Ok(())
}

/// Start updating the template of every instance; the operation id.
async fn update_template(cfn: &Client, spec: &StackSetSpec) -> Result<String> {
    let out = cfn
        .update_stack_set()
        .stack_set_name(&spec.name)
        .template_body(&spec.body)
        .capabilities(Capability::CapabilityNamedIam)
        .operation_preferences(preferences())
        .send()
        .await
        .map_err(|e| classify(&e, "updating the StackSet", &spec.name))?;
    Ok(out.operation_id().unwrap_or_default().to_string())
}

/// The target ids and the regions of `targets`, each sorted once.
fn by_region(targets: &[Target]) -> (Vec<String>, Vec<String>) {
    let mut regions: Vec<String> = targets.iter().map(|t| t.region.clone()).collect();
    regions.sort();
    regions.dedup();
    let mut ids: Vec<String> = targets.iter().map(|t| t.target.clone()).collect();
    ids.sort();
    ids.dedup();
    (ids, regions)
}

/// The accounts, or the organizational units, an instances operation names.
fn targets(
    spec: &StackSetSpec,
    ids: &[String],
) -> (Option<Vec<String>>, Option<DeploymentTargets>) {
    match spec.targets {
        StackSetTargets::Accounts(_) => (Some(ids.to_vec()), None),
        StackSetTargets::OrgUnits(_) => {
            let ous = DeploymentTargets::builder().set_organizational_unit_ids(Some(ids.to_vec()));
            (None, Some(ous.build()))
        }
    }
}

/// Send `request` (CreateStackInstances or UpdateStackInstances, whose builders share no
/// trait) for `ids` in `regions`; its operation id. `what` names it in errors.
macro_rules! instances_operation {
    ($request:expr, $spec:expr, $ids:expr, $regions:expr, $what:expr) => {{
        let (accounts, ous) = targets($spec, $ids);
        $request
            .stack_set_name(&$spec.name)
            .set_regions(Some($regions))
            .operation_preferences(preferences())
            .set_accounts(accounts)
            .set_deployment_targets(ous)
            .send()
            .await
            .map_err(|e| classify(&e, $what, &$spec.name))
            .map(|out| out.operation_id().unwrap_or_default().to_string())
    }};
}

/// Converge the StackSet as `plan` says: create it or update its template, add the missing
/// instances, deploy the outdated ones again; each operation waited for.
pub async fn apply(
    cfn: &Client,
    spec: &StackSetSpec,
    plan: &StackSetPlan,
    reporter: &dyn Progress,
    wait: WaitConfig,
) -> Result<Applied> {
    let name = spec.name.as_str();
    let mut a = Applied::default();
    if !plan.exists {
        create_stack_set(cfn, spec).await?;
        reporter.progress(&format!("created StackSet {name}"));
        a.done.push(format!("created StackSet {name}"));
    } else if plan.update_template {
        let op = update_template(cfn, spec).await?;
        reporter.progress(&format!("updating every instance of StackSet {name}"));
        a.finish(cfn, name, &op, wait, reporter).await?;
        a.done
            .push("updated the template of every instance".to_string());
    }
    if !plan.add.is_empty() {
        let (ids, regions) = by_region(&plan.add);
        let request = cfn.create_stack_instances();
        let what = "adding the StackSet's instances";
        let op = instances_operation!(request, spec, &ids, regions, what)?;
        reporter.progress(&format!("deploying StackSet {name} to {}", ids.join(", ")));
        a.finish(cfn, name, &op, wait, reporter).await?;
        a.done.push(format!("deployed to {}", ids.join(", ")));
    }
    if !plan.retry.is_empty() {
        let targets: Vec<Target> = plan.retry.iter().map(|i| spec.target_of(i)).collect();
        let (ids, regions) = by_region(&targets);
        let request = cfn.update_stack_instances();
        let what = "deploying the outdated instances again";
        let op = instances_operation!(request, spec, &ids, regions, what)?;
        a.finish(cfn, name, &op, wait, reporter).await?;
        a.done.push(format!("deployed again to {}", ids.join(", ")));
    }
    Ok(a)
}
