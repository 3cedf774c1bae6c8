//! A StackSet as it is: its permission model, template and instances; and the state and
//! per-account results of one of its operations. Reads only.

use aws_sdk_cloudformation::types::StackSetStatus;
use aws_sdk_cloudformation::Client;
use serde::Serialize;

use crate::aws::{classify, errors};
use crate::error::Result;

/// The StackSet as CloudFormation describes it.
#[derive(Debug, Clone)]
pub struct ObservedStackSet {
    /// `SELF_MANAGED` or `SERVICE_MANAGED`.
    pub permission_model: String,
    pub template_body: String,
    pub has_parameters: bool,
    /// The organizational units the StackSet targets (service-managed), as it records them:
    /// an OU with no accounts has no instance, but is targeted.
    pub org_units: Vec<String>,
    pub instances: Vec<Instance>,
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

/// Read the StackSet and its instances; `None` when there is no such StackSet (or it was
/// deleted).
pub async fn stackset(cfn: &Client, name: &str) -> Result<Option<ObservedStackSet>> {
    let set = match cfn.describe_stack_set().stack_set_name(name).send().await {
        Ok(out) => out
            .stack_set()
            .filter(|s| s.status().map(StackSetStatus::as_str) != Some("DELETED"))
            .cloned(),
        Err(e) if errors::is(&e, &["StackSetNotFoundException"]) => None,
        Err(e) => return Err(classify(&e, "reading the StackSet", name)),
    };
    let Some(set) = set else {
        return Ok(None);
    };
    Ok(Some(ObservedStackSet {
        permission_model: set
            .permission_model()
            .map_or("SELF_MANAGED", |m| m.as_str())
            .to_string(),
        template_body: set.template_body().unwrap_or_default().to_string(),
        has_parameters: !set.parameters().is_empty(),
        org_units: set.organizational_unit_ids().to_vec(),
        instances: instances(cfn, name).await?,
    }))
}

/// Every instance the StackSet has.
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

/// The status of StackSet operation `op` (QUEUED, RUNNING, SUCCEEDED, FAILED, STOPPED...).
pub async fn operation_status(cfn: &Client, name: &str, op: &str) -> Result<String> {
    let out = cfn
        .describe_stack_set_operation()
        .stack_set_name(name)
        .operation_id(op)
        .send()
        .await
        .map_err(|e| classify(&e, "reading the StackSet operation", name))?;
    Ok(out
        .stack_set_operation()
        .and_then(|o| o.status())
        .map_or("QUEUED", |s| s.as_str())
        .to_string())
}

/// The per-account results of StackSet operation `op`.
pub async fn operation_results(cfn: &Client, name: &str, op: &str) -> Result<Vec<AccountResult>> {
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
        results.extend(page.summaries().iter().map(|r| {
            AccountResult {
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
            }
        }));
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(results);
        }
    }
}
