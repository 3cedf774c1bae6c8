//! A StackSet: the same template in many accounts. CloudFormation does the fan-out; the tool
//! creates or updates the StackSet, adds the instances that are missing, waits for each
//! operation and reports per account.

use aws_sdk_cloudformation::types::{
    AutoDeployment, Capability, ConcurrencyMode, DeploymentTargets, PermissionModels,
    RegionConcurrencyType, StackSetOperationPreferences, StackSetOperationStatus,
};
use aws_sdk_cloudformation::Client;
use serde::Serialize;
use serde_json::Value;

use super::compare::{self, ResourceDiff};
use super::deploy::Prompt;
use super::events::WaitConfig;
use crate::aws::{classify, errors};
use crate::config::StackSetTargets;
use crate::error::{Error, Result};
use crate::report::Reporter;

#[derive(Debug, Clone)]
pub struct StackSetSpec {
    pub name: String,
    pub body: String,
    pub template: Value,
    pub targets: StackSetTargets,
    pub regions: Vec<String>,
}

impl StackSetSpec {
    fn permission_model(&self) -> PermissionModels {
        match self.targets {
            StackSetTargets::Accounts(_) => PermissionModels::SelfManaged,
            StackSetTargets::OrgUnits(_) => PermissionModels::ServiceManaged,
        }
    }
}

/// One stack instance: an account (and its OU) in a region.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Instance {
    pub account: String,
    pub region: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_unit: Option<String>,
    /// CURRENT, OUTDATED or INOPERABLE.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detailed_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A target to add: an account, or an organizational unit, in a region.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Target {
    /// An account id or an OU id.
    pub target: String,
    pub region: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct StackSetPlan {
    pub name: String,
    pub exists: bool,
    /// The template differs from the StackSet's (or there is no StackSet).
    pub update_template: bool,
    pub template_changes: Vec<ResourceDiff>,
    /// Instances to add.
    pub add: Vec<Target>,
    /// Instances of the targets left OUTDATED by an earlier operation: deployed again.
    pub retry: Vec<Instance>,
    /// Every instance the StackSet has now.
    pub instances: Vec<Instance>,
    pub notes: Vec<String>,
}

impl StackSetPlan {
    pub fn has_changes(&self) -> bool {
        !self.exists || self.update_template || !self.add.is_empty() || !self.retry.is_empty()
    }
}

/// The result of one StackSet operation in one account and region.
#[derive(Debug, Clone, Serialize)]
pub struct AccountResult {
    pub operation: String,
    pub account: String,
    pub region: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StackSetOutcome {
    pub done: Vec<String>,
    pub results: Vec<AccountResult>,
    pub instances: Vec<Instance>,
}

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

pub async fn instances(cfn: &Client, name: &str) -> Result<Vec<Instance>> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = cfn
            .list_stack_instances()
            .stack_set_name(name)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| classify(&e, "listing the StackSet's instances", name))?;
        for s in page.summaries() {
            out.push(Instance {
                account: s.account().unwrap_or_default().to_string(),
                region: s.region().unwrap_or_default().to_string(),
                org_unit: s.organizational_unit_id().map(str::to_string),
                status: s
                    .status()
                    .map(|x| x.as_str().to_string())
                    .unwrap_or_default(),
                detailed_status: s
                    .stack_instance_status()
                    .and_then(|x| x.detailed_status())
                    .map(|x| x.as_str().to_string()),
                reason: s
                    .status_reason()
                    .filter(|r| !r.is_empty())
                    .map(str::to_string),
            });
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(out);
        }
    }
}

/// Compare the StackSet with `spec`. Makes no change.
pub async fn plan(cfn: &Client, spec: &StackSetSpec) -> Result<StackSetPlan> {
    let mut plan = StackSetPlan {
        name: spec.name.clone(),
        exists: false,
        update_template: true,
        template_changes: compare::diff(None, &spec.template),
        add: Vec::new(),
        retry: Vec::new(),
        instances: Vec::new(),
        notes: Vec::new(),
    };
    let existing = match cfn
        .describe_stack_set()
        .stack_set_name(&spec.name)
        .send()
        .await
    {
        Ok(out) => out
            .stack_set()
            .filter(|s| s.status().map(|x| x.as_str()) != Some("DELETED"))
            .cloned(),
        Err(e) if errors::is(&e, &["StackSetNotFoundException"]) => None,
        Err(e) => return Err(classify(&e, "reading the StackSet", &spec.name)),
    };
    if let Some(set) = existing {
        plan.exists = true;
        let have = set
            .permission_model()
            .cloned()
            .unwrap_or(PermissionModels::SelfManaged);
        if have != spec.permission_model() {
            return Err(Error::usage(format!(
                "StackSet {} has {} permissions; {} needs {}",
                spec.name,
                have.as_str(),
                match spec.targets {
                    StackSetTargets::Accounts(_) => "--accounts",
                    StackSetTargets::OrgUnits(_) => "--org-units",
                },
                spec.permission_model().as_str()
            ))
            .hint("target it the way it was created (--accounts for SELF_MANAGED, --org-units for SERVICE_MANAGED), or choose another --stackset name"));
        }
        let body = set.template_body().unwrap_or_default();
        plan.update_template =
            !(compare::same(body, &spec.body, &spec.template) && set.parameters().is_empty());
        plan.template_changes = if plan.update_template {
            compare::diff(compare::parse(body).as_ref(), &spec.template)
        } else {
            Vec::new()
        };
        plan.instances = instances(cfn, &spec.name).await?;
    }
    let have = |pred: &dyn Fn(&Instance) -> bool| plan.instances.iter().any(pred);
    let mut add = Vec::new();
    let mut retry = Vec::new();
    let listed = |i: &Instance| match &spec.targets {
        StackSetTargets::Accounts(a) => a.contains(&i.account),
        StackSetTargets::OrgUnits(o) => i.org_unit.as_ref().is_some_and(|u| o.contains(u)),
    };
    for region in &spec.regions {
        let targets = match &spec.targets {
            StackSetTargets::Accounts(a) | StackSetTargets::OrgUnits(a) => a,
        };
        for t in targets {
            let present = have(&|i: &Instance| {
                i.region == *region
                    && (i.account == *t || i.org_unit.as_deref() == Some(t.as_str()))
            });
            if !present {
                add.push(Target {
                    target: t.clone(),
                    region: region.clone(),
                });
            }
        }
    }
    for i in &plan.instances {
        if !listed(i) {
            plan.notes.push(format!(
                "{} in {} is not among the targets: left as it is (remove it with aws cloudformation delete-stack-instances)",
                i.account, i.region
            ));
        } else if i.status == "OUTDATED" && !plan.update_template {
            retry.push(i.clone());
        } else if i.status == "INOPERABLE" {
            plan.notes.push(format!(
                "{} in {} is INOPERABLE (a delete failed there): see the StackSet in the console",
                i.account, i.region
            ));
        }
    }
    plan.add = add;
    plan.retry = retry;
    Ok(plan)
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
